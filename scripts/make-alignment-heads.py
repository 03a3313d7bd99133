#!/usr/bin/env python3
"""openai-whisper's alignment heads (the cross-attention heads that follow time, used for word
timestamps; `whisper._ALIGNMENT_HEADS`, MIT) as [layer, head] pairs per release model:
Sources/KDQFormats/Resources/alignment-heads.json. OpenAI .pt checkpoints do not carry them;
openai-whisper picks them by model name, kdq by the dims that name implies."""
import base64, gzip, json, os
import numpy as np
import whisper

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
dims = {"tiny": (4, 6), "base": (6, 8), "small": (12, 12), "medium": (24, 16), "large": (32, 20), "large-v3-turbo": (4, 20)}
out = {}
for name, dump in whisper._ALIGNMENT_HEADS.items():
    if name in ("large", "turbo"):  # aliases of large-v3 and large-v3-turbo
        continue
    layers, heads = dims.get(name.split(".")[0] if not name.startswith("large") or name == "large-v3-turbo" else "large")
    mask = np.frombuffer(gzip.decompress(base64.b85decode(dump)), dtype=bool).reshape(layers, heads)
    out[name] = [[int(l), int(h)] for l, h in zip(*np.nonzero(mask))]
with open(os.path.join(root, "Sources/KDQFormats/Resources/alignment-heads.json"), "w") as f:
    f.write(json.dumps(out, sort_keys=True) + "\n")
print({k: len(v) for k, v in out.items()})
