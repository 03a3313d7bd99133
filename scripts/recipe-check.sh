#!/usr/bin/env bash
# The exported PyTorch recipe against kdq (issue 13): `kdq distill --export-recipe` of a tiny.en
# student on the sample clip, then the recipe's own --check, which recomputes the first batch's
# loss with transformers and compares it with kdq's (relative tolerance 1e-3). Needs torch,
# transformers, accelerate and soundfile (installed when missing) and models/tiny.en.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import torch, transformers, accelerate, soundfile" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check torch transformers accelerate soundfile
swift build -c release --product kdq >/dev/null
kdq=.build/release/kdq
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for i in 0 1 2 3 4 5; do echo "{\"id\": \"jfk$i\", \"audio\": \"$PWD/samples/jfk.wav\"}"; done > "$work/m.jsonl"
"$kdq" student models/tiny.en -o "$work/s.kdq" --decoder-layers 2 --select 0,3 >/dev/null
"$kdq" distill models/tiny.en "$work/s.kdq" --data "$work/m.jsonl" --export-recipe "$work/recipe" --validation 2 --batch 2 \
  --beta 1 --normalize-hidden >/dev/null
python3 "$work/recipe/train_student.py" --check
