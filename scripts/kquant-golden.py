#!/usr/bin/env python3
"""Writes Tests/KDQTensorTests/Fixtures/kquants-golden.json: random q2_K … q6_K super-blocks
(random quant and scale bytes, finite f16 super-block scales) and their values as dequantized
by gguf-py (pip install gguf), the ggml project's own Python reader of these layouts.
Usage: python3 scripts/kquant-golden.py"""
import json, os
import numpy as np
from gguf.quants import dequantize
from gguf.constants import GGMLQuantizationType as T

rng = np.random.default_rng(7)
out = {}
for name, qtype, size, scale_offsets in [("q2_K", T.Q2_K, 84, [80, 82]), ("q3_K", T.Q3_K, 110, [108]),
                                           ("q4_K", T.Q4_K, 144, [0, 2]), ("q5_K", T.Q5_K, 176, [0, 2]), ("q6_K", T.Q6_K, 210, [208])]:
    blocks = rng.integers(0, 256, size=(3, size), dtype=np.uint8)
    for b in blocks:
        for offset in scale_offsets:
            b[offset:offset + 2] = np.frombuffer(np.float16(rng.normal(0, 0.01)).tobytes(), dtype=np.uint8)
    values = dequantize(blocks.reshape(-1), qtype).reshape(-1).astype(np.float32)
    out[name] = {"blocks_hex": blocks.tobytes().hex(), "values": [float(v) for v in values]}
path = os.path.join(os.path.dirname(__file__), "..", "Tests", "KDQTensorTests", "Fixtures", "kquants-golden.json")
with open(path, "w") as f:
    json.dump(out, f)
print("wrote", os.path.normpath(path))
