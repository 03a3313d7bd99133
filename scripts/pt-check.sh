#!/usr/bin/env bash
# kdq's OpenAI checkpoint writer against openai-whisper (issue 17): tiny.en and base exported
# with `kdq export --to pt`, loaded by torch.load(weights_only=True) and whisper.load_model, and
# the sample clip transcribed by openai-whisper and by kdq from the same file; the texts must
# match. Needs torch and openai-whisper (installed when missing) and the models.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import torch, whisper, soundfile" 2>/dev/null \
  || python3 -m pip install --quiet --disable-pip-version-check torch openai-whisper soundfile
swift build -c release --product kdq >/dev/null
kdq=.build/release/kdq
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for model in tiny.en base; do
  "$kdq" export "models/$model" --to pt -o "$work/$model.pt" >/dev/null
  ours="$("$kdq" transcribe "$work/$model.pt" samples/jfk.wav --language en)"
  theirs="$(python3 - "$work/$model.pt" <<'PY'
import sys, torch, whisper, soundfile
torch.load(sys.argv[1], weights_only=True)
model = whisper.load_model(sys.argv[1], device="cpu")
audio, _ = soundfile.read("samples/jfk.wav", dtype="float32")
print(whisper.transcribe(model, audio, fp16=False, temperature=0, language="en")["text"].strip())
PY
)"
  norm() { tr -d '[:punct:]' | tr '[:upper:]' '[:lower:]'; }
  if [ "$(echo "$ours" | norm)" = "$(echo "$theirs" | norm)" ]; then echo "ok   $model.pt: $theirs"; else echo "DIFF $model.pt: kdq '$ours' / openai-whisper '$theirs'"; exit 1; fi
done
