#!/usr/bin/env bash
# Guided against uniform quantization at equal size, on a manifest (default: the dev set):
# for each model, guided plans at the sizes of whisper.cpp's uniform q4_0 and q5_0 (calibrated
# on 32 utterances of the manifest), uniform q8_0/q5_0/q4_0 as whisper.cpp quantizes, then one
# `kdq eval --kl` of all of them (WER, and mean next-token KL from the unquantized model) and
# the table of docs/quantization.md. About 30 minutes for tiny.en, 80 for base, on 2 cores.
# Usage: scripts/compare-quantization.sh [MANIFEST] [MODEL...]   (models under models/)
set -euo pipefail
cd "$(dirname "$0")/.."
manifest="${1:-../shared/audio/dev/manifest.jsonl}"
shift || true
[ $# -gt 0 ] && models=("$@") || models=(tiny.en base)
swift build -c release --product kdq >/dev/null
kdq=.build/release/kdq
out=out/quantization
mkdir -p "$out"
for m in "${models[@]}"; do
  for t in q4_0 q5_0; do
    [ -f "$out/$m-guided-$t.kdq" ] || "$kdq" quantize "models/$m" -o "$out/$m-guided-$t.kdq" --match-uniform "$t" \
      --calibration "$manifest" --json > "$out/$m-guided-$t.json"
  done
  for t in q8_0 q5_0 q4_0; do
    [ -f "$out/$m-uniform-$t.kdq" ] || "$kdq" quantize "models/$m" -o "$out/$m-uniform-$t.kdq" --uniform "$t" --json > "$out/$m-uniform-$t.json"
  done
  "$kdq" eval --manifest "$manifest" --model "models/$m" --model "$out/$m-uniform-q8_0.kdq" --model "$out/$m-uniform-q5_0.kdq" \
    --model "$out/$m-guided-q5_0.kdq" --model "$out/$m-uniform-q4_0.kdq" --model "$out/$m-guided-q4_0.kdq" --kl --json > "$out/$m-eval.json"
done
python3 scripts/quantization-table.py "$out" "${models[@]}"
