#!/usr/bin/env bash
# Issue 13's peer comparison: the same distillation run by kdq and by its exported PyTorch recipe
# (transformers + accelerate, on this machine's CPU), same teacher, student, clips, labels,
# objective, schedule and clip order; then both students on the dev set in one `kdq eval`
# (one decoder for both). Prints each side's training seconds and dev WER/CER.
# Usage: scripts/recipe-peer.sh [CLIPS] [EPOCHS] [BLOCKS]   (defaults: 600 3 0,5)
# Resumable: every finished stage is kept under out/peer/ (rerun the same command).
# Needs models/base, torch, transformers, accelerate and soundfile (installed when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
clips="${1:-600}"; epochs="${2:-3}"; blocks="${3:-0,5}"
depth=$(awk -F, '{print NF}' <<< "$blocks")
kdq="${KDQ:-.build/release/kdq}"
[ -x "$kdq" ] || swift build -c release --product kdq >/dev/null
python3 -c "import torch, transformers, accelerate, soundfile" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check torch transformers accelerate soundfile
out="out/peer/base-s${blocks//,/-}-c$clips-e$epochs"
mkdir -p "$out"
data=../shared/audio/distill/manifest.jsonl
common=(--data "$data" --limit "$clips" --validation 40 --epochs "$epochs" --batch 16 --lr 3e-4 --warmup 20
        --patience "$epochs" --language en --work-dir "$out/work" --clip-cache "${CLIP_CACHE:-out/base-work/clips}")
[ -f "$out/student.kdq" ] || "$kdq" student models/base -o "$out/student.kdq" --decoder-layers "$depth" --select "$blocks" >/dev/null
# Labels and encoder outputs are cached first, so neither side's training time includes them.
[ -f "$out/recipe/recipe.json" ] || "$kdq" distill models/base "$out/student.kdq" "${common[@]}" --export-recipe "$out/recipe" >/dev/null
if [ ! -f "$out/kdq-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/kdq-seconds" "$kdq" distill models/base "$out/student.kdq" "${common[@]}" -o "$out/kdq-student.kdq" \
    --checkpoint-every 10 --json > "$out/kdq-distill.json"
fi
if [ ! -f "$out/recipe-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/recipe-seconds" python3 "$out/recipe/train_student.py" --threads 2 > "$out/recipe-train.log"
  "$kdq" import "$out/recipe/trained" -o "$out/recipe-student.kdq" >/dev/null
fi
[ -f "$out/eval.json" ] || "$kdq" eval --manifest ../shared/audio/dev/manifest.jsonl --model "$out/kdq-student.kdq" \
  --model "$out/recipe-student.kdq" --json > "$out/eval.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
models = json.load(open(f"{out}/eval.json"))["models"]
seconds = {"kdq": open(f"{out}/kdq-seconds").read().split()[-1], "recipe": open(f"{out}/recipe-seconds").read().split()[-1]}
for side, m in zip(("kdq", "recipe"), models):
    print(f"{side:7s} training {float(seconds[side]):7.0f} s   dev WER {m['wer']:6.2f}%  CER {m['cer']:6.2f}%  "
          f"(S {m['substitutions']}, D {m['deletions']}, I {m['insertions']})")
PY
