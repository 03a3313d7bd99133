#!/usr/bin/env bash
# Guided against uniform quantization at equal size, on a manifest (default: the dev set):
# for each model, guided plans at the sizes of whisper.cpp's uniform q4_0 and q5_0 (calibrated
# on 32 utterances of the manifest), uniform q8_0/q5_0/q4_0 as whisper.cpp quantizes, then
# `kdq eval --kl` (WER, and mean next-token KL from the unquantized model) of every archive not
# yet evaluated, and the table of docs/quantization.md. Archives already in out/quantization are
# kept (delete one to rebuild it). About 30 minutes for tiny.en, 75 for base, on 2 cores.
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
  # Every candidate of every tensor is run through the model once, at the q4_0 size; the
  # q5_0 plan reuses that profile.
  reuse=()
  for t in q4_0 q5_0; do
    [ -f "$out/$m-guided-$t.kdq" ] || "$kdq" quantize "models/$m" -o "$out/$m-guided-$t.kdq" --match-uniform "$t" \
      --calibration "$manifest" "${reuse[@]}" --json > "$out/$m-guided-$t.json"
    reuse=(--profile-from "$out/$m-guided-$t.kdq")
  done
  for t in q8_0 q5_0 q4_0; do
    [ -f "$out/$m-uniform-$t.kdq" ] || "$kdq" quantize "models/$m" -o "$out/$m-uniform-$t.kdq" --uniform "$t" --json > "$out/$m-uniform-$t.json"
  done
  # One `kdq eval --kl` of the f16 model and every archive not yet evaluated (or rebuilt since),
  # merged into $m-eval.json in the table's order.
  order=(uniform-q8_0 uniform-q5_0 guided-q5_0 uniform-q4_0 guided-q4_0)
  eval="$out/$m-eval.json"
  pending=()
  for k in "${order[@]}"; do
    if [ ! -f "$eval" ] || [ "$out/$m-$k.kdq" -nt "$eval" ] || ! grep -q "\"$out/$m-$k.kdq\"" "$eval"; then
      pending+=(--model "$out/$m-$k.kdq")
    fi
  done
  if [ ${#pending[@]} -gt 0 ]; then
    "$kdq" eval --manifest "$manifest" --model "models/$m" "${pending[@]}" --kl --json > "$out/$m-eval-new.json"
    python3 - "$eval" "$out/$m-eval-new.json" "$out" "$m" "${order[@]}" <<'PY'
import json, os, sys
path, new, out, m, order = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
rows = {r["model"]: r for r in (json.load(open(path))["models"] if os.path.exists(path) else [])}
rows.update({r["model"]: r for r in json.load(open(new))["models"]})
names = [f"models/{m}"] + [f"{out}/{m}-{k}.kdq" for k in order]
json.dump({"models": [rows[n] for n in names if n in rows]}, open(path, "w"), indent=1)
os.remove(new)
PY
  fi
done
python3 scripts/quantization-table.py "$out" "${models[@]}"
