#!/usr/bin/env python3
"""Writes the SHA-256 of every tensor's dequantized f32 bytes for the quantized fixtures,
computed by independent implementations: ggml block types through the `gguf` package's
numpy dequantizer (ggml's own Python reference), CTranslate2 int8 as q / scale in numpy.
The Swift tests decode the same files and must match bit for bit.

Usage: scripts/make-dequant-goldens.py FIXTURES_DIR > FIXTURES_DIR/dequantized-sha256.json
Needs: pip install numpy gguf
"""
import hashlib, json, struct, sys
import numpy as np
from gguf.quants import dequantize
from gguf import GGMLQuantizationType as Q

GGML_TYPES = {0: None, 1: None, 2: Q.Q4_0, 3: Q.Q4_1, 6: Q.Q5_0, 7: Q.Q5_1, 8: Q.Q8_0}
BLOCK = {2: (32, 18), 3: (32, 20), 6: (32, 22), 7: (32, 24), 8: (32, 34), 0: (1, 4), 1: (1, 2)}


def sha(arr):
    return hashlib.sha256(np.ascontiguousarray(arr, dtype="<f4").tobytes()).hexdigest()


def ggml_tensors(path):
    b = open(path, "rb").read()
    o = 4 + 11 * 4
    n_mel, n_fft = struct.unpack_from("<ii", b, o); o += 8 + 4 * n_mel * n_fft
    (n_vocab,) = struct.unpack_from("<i", b, o); o += 4
    for _ in range(n_vocab):
        (n,) = struct.unpack_from("<I", b, o); o += 4 + n
    out = {}
    while o < len(b):
        n_dims, name_len, ttype = struct.unpack_from("<iii", b, o); o += 12
        ne = struct.unpack_from("<%di" % n_dims, b, o); o += 4 * n_dims
        name = b[o:o + name_len].decode(); o += name_len
        numel = int(np.prod(ne))
        blk, size = BLOCK[ttype]
        nbytes = numel // blk * size
        raw = np.frombuffer(b, dtype=np.uint8, count=nbytes, offset=o); o += nbytes
        if ttype == 0:
            vals = raw.view("<f4")
        elif ttype == 1:
            vals = raw.view("<f2").astype(np.float32)
        else:
            vals = dequantize(raw, GGML_TYPES[ttype]).reshape(-1)
        out[name] = sha(vals)
    return out


def ct2_int8_tensors(path):
    b = open(path, "rb").read()
    o = 0
    def string():
        nonlocal o
        (n,) = struct.unpack_from("<H", b, o); s = b[o + 2:o + 2 + n - 1].decode(); o += 2 + n; return s
    o = 4; string(); o += 4
    (count,) = struct.unpack_from("<I", b, o); o += 4
    variables = {}
    for _ in range(count):
        name = string()
        (rank,) = struct.unpack_from("<B", b, o); o += 1
        dims = struct.unpack_from("<%dI" % rank, b, o); o += 4 * rank
        dtype, nbytes = struct.unpack_from("<BI", b, o); o += 5
        variables[name] = (dims, dtype, b[o:o + nbytes]); o += nbytes
    out = {}
    for name, (dims, dtype, raw) in variables.items():
        if dtype == 1 and name + "_scale" in variables:
            q = np.frombuffer(raw, dtype=np.int8).reshape(dims[0], -1).astype(np.float32)
            scale = np.frombuffer(variables[name + "_scale"][2], dtype="<f4").reshape(-1, 1)
            out[name] = sha(q / scale)
    return out


def main():
    d = sys.argv[1]
    result = {}
    for t in ["q4_0", "q4_1", "q5_0", "q5_1", "q8_0"]:
        result["ggml-tiny-random-%s.bin" % t] = ggml_tensors("%s/ggml-tiny-random-%s.bin" % (d, t))
    result["ct2-int8/model.bin"] = ct2_int8_tensors(d + "/ct2-int8/model.bin")
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()


main()
