#!/usr/bin/env bash
# Writes the fuzz targets' seed corpora into Tests/Fuzz/corpus/TARGET (small files, committed):
# a tiny Whisper (1 layer each side, 16 tokens) saved by openai-whisper, imported by kdq with a
# 16-token vocabulary and exported to every format; the CTranslate2 fixture's side files; small
# vocabularies, manifests and audio. Needs torch, openai-whisper and soundfile. KDQ=path.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
c=Tests/Fuzz/corpus
rm -rf "$c"; mkdir -p "$c"/{ggml,torch,safetensors,hf-index,ct2,ct2-vocabulary,kdq,vocabulary,manifest,audio}
python3 - "$work" <<'PY'
import json, sys, torch
from dataclasses import asdict
from whisper.model import ModelDimensions, Whisper
torch.manual_seed(0)
dims = ModelDimensions(n_mels=8, n_audio_ctx=8, n_audio_state=8, n_audio_head=2, n_audio_layer=1,
                       n_vocab=16, n_text_ctx=8, n_text_state=8, n_text_head=2, n_text_layer=1)
torch.save({"dims": asdict(dims), "model_state_dict": Whisper(dims).half().state_dict()}, f"{sys.argv[1]}/tiny.pt")
json.dump({f"t{i}": i for i in range(14)} | {"<|endoftext|>": 14, "<|startoftranscript|>": 15}, open(f"{sys.argv[1]}/vocab.json", "w"))
PY
"$KDQ" import "$work/tiny.pt" -o "$work/tiny.kdq" --vocabulary "$work/vocab.json" >/dev/null
for to in ggml ct2 hf; do "$KDQ" export "$work/tiny.kdq" --to "$to" -o "$work/$to" >/dev/null; done
tail -c +5 "$work/ggml" > "$c/ggml/tiny"                       # the target supplies the magic
cp "$work/tiny.pt" "$c/torch/tiny"
cp "$work/hf/model.safetensors" "$c/safetensors/tiny"
cp "$work/ct2/model.bin" "$c/ct2/tiny"
cp "$work/tiny.kdq" "$c/kdq/tiny"
"$KDQ" import "$work/tiny.pt" -o "$c/kdq/tiny-zstd" --vocabulary "$work/vocab.json" --compress zstd >/dev/null
# The same with its encoder positions computed (sinusoids): the one tensor a plan leaves unpinned.
"$KDQ" quantize "$work/tiny.kdq" --uniform q8_0 --keep 'encoder.b*' --keep 'encoder.c*' --keep 'encoder.l*' --keep 'decoder.*' \
  -o "$c/kdq/tiny-computed" >/dev/null
python3 - "$c" <<'PY'
import json, struct, sys
c = sys.argv[1]
fx = "Tests/KDQFormatsTests/Fixtures"
header = open(f"{fx}/hf-safetensors/model.safetensors", "rb").read()
names = [k for k in json.loads(header[8:8 + struct.unpack("<Q", header[:8])[0]]) if k != "__metadata__"]
json.dump({"metadata": {"total_size": 0}, "weight_map": {n: "model-00001-of-00001.safetensors" for n in names}},
          open(f"{c}/hf-index/fixture", "w"))
for k, name in enumerate(["vocabulary.json", "config.json"]):
    open(f"{c}/ct2-vocabulary/{name}", "wb").write(bytes([k]) + open(f"{fx}/ct2-float16/{name}", "rb").read())
open(f"{c}/ct2-vocabulary/tokenizer.json", "wb").write(
    b"\x02" + json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1}}, "added_tokens": [{"id": 2, "content": "<|endoftext|>"}]}).encode())
open(f"{c}/vocabulary/tiktoken", "wb").write(b"\x00YQ== 0\nYmM= 1\n= 2\n")
open(f"{c}/vocabulary/tokenizer.json", "wb").write(b"\x01" + json.dumps({"model": {"vocab": {"a": 0, "b": 1}}, "added_tokens": [{"id": 2, "content": "<|x|>"}]}).encode())
open(f"{c}/vocabulary/vocab.json", "wb").write(b"\x02" + json.dumps({"a": 0, "\u0120b": 1, "<|endoftext|>": 2}).encode())
open(f"{c}/manifest/jsonl", "wb").write(b"\x00" + open("samples/calibration.jsonl", "rb").read())
open(f"{c}/manifest/tsv", "wb").write(b"\x01id\taudio\ttext\njfk\tjfk.wav\tAnd so my fellow Americans\n")
import numpy as np, soundfile
audio, rate = soundfile.read("samples/jfk.wav", dtype="float32")
for fmt, sub in [("WAV", "PCM_16"), ("FLAC", "PCM_16"), ("OGG", "VORBIS")]:
    soundfile.write(f"{c}/audio/clip.{fmt.lower()}", audio[:4000], rate, format=fmt, subtype=sub)
soundfile.write(f"{c}/audio/clip8k.wav", audio[:8000:2], 8000, format="WAV", subtype="FLOAT")
PY
du -sh "$c"/* | sed 's/^/seeds /'
