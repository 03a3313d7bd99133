#!/usr/bin/env bash
# The distillation runs of docs/distillation.md: students of base with D decoder blocks (measured
# choice, 16 calibration clips of the distillation data), distilled on N clips of
# ../shared/audio/distill/ (never the dev set), then `kdq eval` on the dev set with base first
# (KL from the teacher). Labelled clips are cached in out/base-work/clips for every run; each
# run's checkpoints are in out/TAG.work, so an interrupted run continues where it stopped.
# Usage: scripts/distill-base.sh [D] [N] [EXTRA kdq distill OPTIONS...]   (defaults: 2 600)
set -euo pipefail
cd "$(dirname "$0")/.."
depth="${1:-2}"; clips="${2:-600}"; shift 2 || shift $#
data=../shared/audio/distill/manifest.jsonl
dev=../shared/audio/dev/manifest.jsonl
swift build -c release --product kdq >/dev/null
kdq=.build/release/kdq
mkdir -p out
student=out/base-s$depth-measured.kdq
[ -f "$student" ] || "$kdq" student models/base -o "$student" --decoder-layers "$depth" --calibration "$data" \
  --calibration-count 16 --language en --json > "out/base-s$depth-measured.json"
tag="base-s$depth-d$clips${1:+-$(echo "$*" | tr -c 'a-z0-9.' '_')}"
resume=(); [ -f "out/$tag.work/training.checkpoint" ] && resume=(--resume)
[ -f "out/$tag.kdq" ] || "$kdq" distill models/base "$student" --data "$data" -o "out/$tag.kdq" --work-dir "out/$tag.work" \
  --clip-cache out/base-work/clips --limit "$clips" --validation 40 --epochs 8 --batch 16 --language en --checkpoint-every 20 \
  --patience 2 "${resume[@]}" "$@" --json > "out/$tag.json"
"$kdq" eval --manifest "$dev" --model models/base --model "$student" --model "out/$tag.kdq" --kl --language en \
  --json > "out/$tag-eval.json"
