#!/usr/bin/env bash
# Issue 13's peer comparison: the same distillation run by kdq and by its exported PyTorch recipe
# (transformers + accelerate, on this machine's CPU), same teacher, student, clips, labels,
# objective, schedule and clip order; then both students on the dev set in one `kdq eval`
# (one decoder for both). Then kdq once more on the same clips with the recipe's training time
# as its budget: as many epochs as kdq's own time per epoch fits into it (the clip order and
# early stopping as before, the best validation weights kept). And kdq with the hidden-state
# term (β = 1, normalized, each block matched to the teacher block it was copied from) for the
# same epochs: the recipe's spare time spent on the paper's extra loss instead of more passes.
# Prints each run's training seconds and dev WER/CER.
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
common=(--data "$data" --limit "$clips" --validation 40 --batch 16 --lr 3e-4 --warmup 20
        --patience "$epochs" --language en --clip-cache "${CLIP_CACHE:-out/base-work/clips}")
[ -f "$out/student.kdq" ] || "$kdq" student models/base -o "$out/student.kdq" --decoder-layers "$depth" --select "$blocks" >/dev/null
# Labels and encoder outputs are cached first, so neither side's training time includes them.
[ -f "$out/recipe/recipe.json" ] || "$kdq" distill models/base "$out/student.kdq" "${common[@]}" --epochs "$epochs" --work-dir "$out/work" --export-recipe "$out/recipe" >/dev/null
if [ ! -f "$out/kdq-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/kdq-seconds" "$kdq" distill models/base "$out/student.kdq" "${common[@]}" --epochs "$epochs" \
    --work-dir "$out/work" -o "$out/kdq-student.kdq" --checkpoint-every 10 --json > "$out/kdq-distill.json"
fi
if [ ! -f "$out/recipe-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/recipe-seconds" python3 "$out/recipe/train_student.py" --threads 2 > "$out/recipe-train.log"
  "$kdq" import "$out/recipe/trained" -o "$out/recipe-student.kdq" >/dev/null
fi
# The same wall-clock budget: kdq's epochs that fit into the recipe's training time.
budget=$(python3 -c "import sys; r, k, e = map(float, sys.argv[1:]); print(max(int(e), int(r / (k / e))))" \
  "$(tail -1 "$out/recipe-seconds")" "$(tail -1 "$out/kdq-seconds")" "$epochs")
if [ ! -f "$out/kdq-budget-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/kdq-budget-seconds" "$kdq" distill models/base "$out/student.kdq" "${common[@]}" --epochs "$budget" \
    --work-dir "$out/work-budget" -o "$out/kdq-budget-student.kdq" --checkpoint-every 10 --json > "$out/kdq-budget-distill.json"
fi
if [ ! -f "$out/kdq-hidden-student.kdq" ]; then
  /usr/bin/time -f %e -o "$out/kdq-hidden-seconds" "$kdq" distill models/base "$out/student.kdq" "${common[@]}" --epochs "$epochs" \
    --beta 1 --normalize-hidden --work-dir "$out/work-hidden" -o "$out/kdq-hidden-student.kdq" --checkpoint-every 10 --json > "$out/kdq-hidden-distill.json"
fi
[ -f "$out/eval.json" ] || "$kdq" eval --manifest ../shared/audio/dev/manifest.jsonl --model "$out/kdq-student.kdq" \
  --model "$out/recipe-student.kdq" --model "$out/kdq-budget-student.kdq" --model "$out/kdq-hidden-student.kdq" \
  --json > "$out/eval.json"
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
models = json.load(open(f"{out}/eval.json"))["models"]
sides = {"kdq": "kdq", "recipe": "recipe", "kdq-budget": "kdq, recipe's time", "kdq-hidden": "kdq, hidden term"}
for (side, label), m in zip(sides.items(), models):
    seconds = float(open(f"{out}/{side}-seconds").read().split()[-1])
    steps = json.load(open(f"{out}/{side}-distill.json")).get("steps") if side != "recipe" else None
    print(f"{label:19s} training {seconds:7.0f} s{'' if steps is None else f' ({steps} steps)':14s} dev WER {m['wer']:6.2f}%  "
          f"CER {m['cer']:6.2f}%  (S {m['substitutions']}, D {m['deletions']}, I {m['insertions']})")
PY
