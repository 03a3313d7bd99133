#!/usr/bin/env bash
# kdq compress of base to a file size (docs/distillation.md): students of 2, 3, 4 and 6 decoder
# blocks probed on the distillation data (never the dev set), the teacher's sensitivity measured
# on 32 dev clips (calibration, as kdq quantize does), the winner trained through its encodings;
# then kdq eval on the dev set against base and base guided-quantized alone to the same file
# size (tiny.en's figures are in docs/quantization.md). Long (hours on 2 cores): the work
# directory keeps clips and checkpoints, and running the script again continues where it stopped.
# KDQ=path picks the kdq binary (default: a release build).
# Usage: scripts/compress-base.sh [MB] [CLIPS] [EXTRA kdq compress OPTIONS...]   (defaults: 43.5 1200)
set -euo pipefail
cd "$(dirname "$0")/.."
mb="${1:-43.5}"; clips="${2:-1200}"; shift 2 || shift $#
data=../shared/audio/distill/manifest.jsonl
dev=../shared/audio/dev/manifest.jsonl
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
kdq=$KDQ
mkdir -p out
tag="base-c$mb-d$clips"
[ -f "out/$tag.kdq" ] || "$kdq" compress models/base -o "out/$tag.kdq" --target-mb "$mb" --data "$data" --calibration "$dev" \
  --calibration-count 32 --work-dir "out/$tag.work" --clip-cache out/base-work/clips --limit "$clips" \
  --validation 40 --probe-steps 40 --epochs 8 --batch 16 --language en --checkpoint-every 20 "$@" --json > "out/$tag.json"
[ -f "out/base-guided-$mb.kdq" ] || "$kdq" quantize models/base -o "out/base-guided-$mb.kdq" --target-mb "$mb" \
  --calibration "$dev" --calibration-count 32 --language en --json > "out/base-guided-$mb.json"
"$kdq" eval --manifest "$dev" --model models/base --model "out/$tag.kdq" --model "out/base-guided-$mb.kdq" \
  --kl --language en --json > "out/$tag-eval.json"
