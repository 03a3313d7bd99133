#!/usr/bin/env python3
"""Peer for scripts/bench-inspect.sh: parse a CTranslate2 model.bin with numpy and compute
min, max, mean, std and zero/NaN/Inf counts of every variable, as `kdq inspect --stats` does."""
import struct, sys
import numpy as np

DTYPES = {0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: None}
b = open(sys.argv[1], "rb").read()
o = 0
def string():
    global o
    (n,) = struct.unpack_from("<H", b, o); o += 2 + n
o = 4; string(); o += 4
(count,) = struct.unpack_from("<I", b, o); o += 4
for _ in range(count):
    string()
    (rank,) = struct.unpack_from("<B", b, o); o += 1 + 4 * rank
    dtype, nbytes = struct.unpack_from("<BI", b, o); o += 5
    a = np.frombuffer(b, dtype=DTYPES[dtype], count=nbytes // np.dtype(DTYPES[dtype]).itemsize, offset=o).astype(np.float32)
    o += nbytes
    finite = a[np.isfinite(a)]
    if finite.size:
        (finite.min(), finite.max(), finite.mean(dtype=np.float64), finite.std(dtype=np.float64))
    (np.count_nonzero(a == 0), np.count_nonzero(np.isnan(a)), np.count_nonzero(np.isinf(a)))
