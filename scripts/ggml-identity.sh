#!/usr/bin/env bash
# kdq's ggml export against whisper.cpp's own converter (issue 17): the same OpenAI .pt through
# whisper.cpp's models/convert-pt-to-ggml.py (from a whisper.cpp checkout: WHISPER_CPP=DIR, else
# fetched with git) and through `kdq export --to ggml` must give byte-identical files. The .pt
# files: real tiny.en and base written by `kdq export --to pt`, and random models of every
# release layout written by openai-whisper itself (80 and 128 mel bins; 51,864, 51,865 and
# 51,866 tokens; 2- and 4-layer decoders as in distil-whisper and turbo). Needs torch and
# openai-whisper (installed when missing). KDQ=path picks the kdq binary.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -c "import torch, whisper" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check torch openai-whisper
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -z "${WHISPER_CPP:-}" ]; then
  git clone --quiet --depth 1 https://github.com/ggerganov/whisper.cpp "$work/whisper.cpp"
  WHISPER_CPP="$work/whisper.cpp"
fi
assets="$(python3 -c 'import whisper, os; print(os.path.dirname(os.path.dirname(whisper.__file__)))')"
python3 - "$work" <<'PY'
import sys, torch, whisper
from dataclasses import asdict
from whisper.model import ModelDimensions, Whisper
torch.manual_seed(0)
layouts = {  # name: (n_mels, n_vocab, decoder layers)
    "random-en": (80, 51864, 2), "random-multi": (80, 51865, 2),
    "random-v3": (128, 51866, 2), "random-turbo": (128, 51866, 4),
}
for name, (mels, vocab, layers) in layouts.items():
    dims = ModelDimensions(n_mels=mels, n_audio_ctx=1500, n_audio_state=32, n_audio_head=2, n_audio_layer=2,
                           n_vocab=vocab, n_text_ctx=448, n_text_state=32, n_text_head=2, n_text_layer=layers)
    model = Whisper(dims).half()
    torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, f"{sys.argv[1]}/{name}.pt")
PY
for m in tiny.en base; do [ -d "models/$m" ] && "$KDQ" export "models/$m" --to pt -o "$work/$m.pt" >/dev/null; done
status=0
for pt in "$work"/*.pt; do
  name="$(basename "$pt" .pt)"
  mkdir -p "$work/$name"
  python3 "$WHISPER_CPP/models/convert-pt-to-ggml.py" "$pt" "$assets" "$work/$name" >/dev/null
  "$KDQ" export "$pt" --to ggml -o "$work/$name/kdq.bin" >/dev/null
  if cmp -s "$work/$name/ggml-model.bin" "$work/$name/kdq.bin"; then
    echo "identical  $name ($(stat -c %s "$work/$name/kdq.bin") bytes)"
  else
    echo "DIFFERENT  $name: $(cmp "$work/$name/ggml-model.bin" "$work/$name/kdq.bin" 2>&1 | head -1)"
    status=1
  fi
done
exit $status
