#!/usr/bin/env bash
# One distillation training step of a base student (decoder blocks 0 and 5 of base, encoder
# frozen, its output computed once; teacher logits computed in every step; CE + KL at T = 2 +
# normalized hidden-state loss; AdamW) in kdq (kdq-train-bench, release) and in PyTorch with
# openai-whisper's model (scripts/torch-train-step.py --bench), both on 2 threads, the same
# batch (8 windows × 64 tokens). Prints each side's seconds per step and peak RSS, and the ratio.
# Usage: scripts/bench-train-step.sh [STEPS]   (needs models/base and pip's torch, openai-whisper)
set -euo pipefail
cd "$(dirname "$0")/.."
steps="${1:-5}"
swift build -c release --product kdq-train-bench >/dev/null
swift build -c release --product kdq >/dev/null
[ -d models/base-hf ] || .build/release/kdq export models/base --to hf -o models/base-hf >/dev/null
export OPENBLAS_NUM_THREADS=2
kdq=$(.build/release/kdq-train-bench models/base --decoder-layers 0,5 --hidden-map 0,5 --batch 8 --length 64 --steps "$steps")
torch=$(python3 scripts/torch-train-step.py --model models/base-hf --decoder-layers 0,5 --hidden-map 0,5 --frozen-encoder \
  --batch 8 --length 64 --threads 2 --bench "$steps")
python3 - "$kdq" "$torch" <<'PY'
import json, sys
k, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("kdq:     %.2f s/step, %.0f tokens/s, peak RSS %.0f MB" % (k["seconds_per_step"], k["tokens_per_second"], k["peak_rss_mb"]))
print("PyTorch: %.2f s/step, %.0f tokens/s, peak RSS %.0f MB" % (t["seconds_per_step"], 512 / t["seconds_per_step"], t["peak_rss_mb"]))
print("kdq / PyTorch time: %.2f" % (k["seconds_per_step"] / t["seconds_per_step"]))
PY
