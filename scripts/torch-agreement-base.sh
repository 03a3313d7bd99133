#!/usr/bin/env bash
# The training core against PyTorch on the real base model: a student keeping base's decoder
# blocks 0 and 5, encoder frozen, hidden states matched to the same blocks. Exports base to
# Hugging Face format for torch, writes models/base-student-step-golden.safetensors, then runs
# TorchAgreementTests (its base case runs when the golden is present). Needs models/base
# (scripts/fetch-models.sh) and pip's torch, openai-whisper and safetensors.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check torch openai-whisper safetensors
swift build -c release --product kdq
[ -d models/base-hf ] || .build/release/kdq export models/base --to hf -o models/base-hf
python3 scripts/torch-train-step.py --model models/base-hf --decoder-layers 0,5 --hidden-map 0,5 --frozen-encoder \
  --batch 2 --length 16 --out models/base-student-step-golden.safetensors
swift test --filter TorchAgreementTests
