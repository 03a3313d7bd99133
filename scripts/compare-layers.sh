#!/usr/bin/env bash
# `kdq compare` of each model's f16 against its uniform q4_0 and its guided plan at the same file
# size, on dev clips (docs/compare.md): per-block hidden-state errors, cross-attention
# divergence, KL (equal to `kdq eval --kl`'s) and WER/CER. The guided plan reuses the profile of
# scripts/equal-size.sh (out/equal-size/MODEL-guided-29.9.kdq, 32 dev utterances) when present.
# KDQ=path picks the kdq binary. Usage: scripts/compare-layers.sh [CLIPS] [MODEL...]  (16 tiny.en base)
set -euo pipefail
cd "$(dirname "$0")/.."
clips="${1:-16}"; shift || true
[ $# -gt 0 ] && models=("$@") || models=(tiny.en base)
dev=../shared/audio/dev/manifest.jsonl
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
out=out/compare
mkdir -p "$out"
for m in "${models[@]}"; do
  [ -f "$out/$m-q4_0.kdq" ] || "$KDQ" quantize "models/$m" -o "$out/$m-q4_0.kdq" --uniform q4_0 >/dev/null
  reuse=()
  [ -f "out/equal-size/$m-guided-29.9.kdq" ] && reuse=(--profile-from "out/equal-size/$m-guided-29.9.kdq")
  [ -f "$out/$m-guided-q4_0.kdq" ] || "$KDQ" quantize "models/$m" -o "$out/$m-guided-q4_0.kdq" --match-uniform q4_0 \
    --calibration "$dev" --calibration-count 32 --language en "${reuse[@]}" --json > "$out/$m-guided-q4_0.json"
  for q in q4_0 guided-q4_0; do
    [ -f "$out/$m-vs-$q.json" ] || "$KDQ" compare "models/$m" "$out/$m-$q.kdq" --audio "$dev" --limit "$clips" --language en --json > "$out/$m-vs-$q.json"
  done
  ls -l "$out/$m-q4_0.kdq" "$out/$m-guided-q4_0.kdq"
done
