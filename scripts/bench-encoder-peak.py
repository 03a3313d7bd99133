#!/usr/bin/env python3
"""How close kdq's audio encoder comes to the machine's f32 GEMM peak (issue 14).

1. The peak: the system OpenBLAS (the library kdq links) through ctypes, `cblas_sgemm` on
   square 2048 matrices and on the encoder's own shapes, with OPENBLAS_NUM_THREADS threads
   (default 2), best of --repeat runs.
2. kdq's encoder: `kdq transcribe --json` on the clips (encode seconds per 30-second window,
   best of --repeat), and the encoder's arithmetic counted from the model's dimensions
   (convolutions, q/k/v/out projections, attention scores and values, MLP; 2 flops per
   multiply-add).

Usage: scripts/bench-encoder-peak.py [--kdq .build/release/kdq] [--model models/base]
       [--audio samples/jfk.wav] [--repeat 5] [--json]
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import subprocess
import time

import numpy as np


def openblas():
    name = ctypes.util.find_library("openblas") or "libopenblas.so.0"
    lib = ctypes.CDLL(name)
    lib.cblas_sgemm.argtypes = [ctypes.c_int] * 6 + [ctypes.c_float, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                                     ctypes.c_float, ctypes.c_void_p, ctypes.c_int]
    return lib


def kdq_blas_core(kdq):
    """The OpenBLAS kernels kdq runs with (it restarts itself with AVX2/AVX-512 kernels where
    OpenBLAS does not recognize the CPU): the peak is measured with the same ones."""
    env = dict(os.environ, OPENBLAS_VERBOSE="2")
    err = subprocess.run([kdq, "--help"], env=env, capture_output=True, text=True).stderr
    cores = [line[6:].strip() for line in err.splitlines() if line.startswith("Core: ")]
    return cores[-1] if cores else None


def sgemm_gflops(lib, m, n, k, repeat):
    """Best GFLOP/s of C[m,n] = A[m,k]·B[n,k]ᵀ (row-major, as kdq's linear layers)."""
    a = np.random.rand(m, k).astype(np.float32)
    b = np.random.rand(n, k).astype(np.float32)
    c = np.zeros((m, n), dtype=np.float32)
    best = float("inf")
    for _ in range(repeat + 1):  # the first run warms up threads and caches
        t = time.perf_counter()
        lib.cblas_sgemm(101, 111, 112, m, n, k, 1.0, a.ctypes.data, k, b.ctypes.data, k, 0.0, c.ctypes.data, n)
        best = min(best, time.perf_counter() - t)
    return 2 * m * n * k / best / 1e9


def encoder_flops(dims):
    s, ctx, mels, layers = dims["n_audio_state"], dims["n_audio_ctx"], dims["n_mels"], dims["n_audio_layer"]
    frames = 2 * ctx
    conv = 2 * frames * s * mels * 3 + 2 * ctx * s * s * 3
    projections = 2 * ctx * s * s * 4
    attention = 2 * 2 * ctx * ctx * s  # scores and weighted values over all heads
    mlp = 2 * 2 * ctx * s * 4 * s
    gemm = conv + layers * (projections + attention + mlp)
    return gemm, layers * attention


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--model", default="models/base")
    ap.add_argument("--audio", default="samples/jfk.wav")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    threads = int(os.environ.setdefault("OPENBLAS_NUM_THREADS", "2"))

    info = json.loads(subprocess.run([args.kdq, "inspect", args.model, "--json"], check=True, capture_output=True, text=True).stdout)
    dims = info["dims"]
    s, ctx = dims["n_audio_state"], dims["n_audio_ctx"]
    core = kdq_blas_core(args.kdq)
    if core:
        os.environ.setdefault("OPENBLAS_CORETYPE", core)  # read by OpenBLAS as it loads, below
    lib = openblas()
    peak = {
        "square 2048": sgemm_gflops(lib, 2048, 2048, 2048, args.repeat),
        f"fc1 {ctx}x{4 * s}x{s}": sgemm_gflops(lib, ctx, 4 * s, s, args.repeat),
        f"fc2 {ctx}x{s}x{4 * s}": sgemm_gflops(lib, ctx, s, 4 * s, args.repeat),
        f"projection {ctx}x{s}x{s}": sgemm_gflops(lib, ctx, s, s, args.repeat),
        f"scores {ctx}x{ctx}x{s // dims['n_audio_head']}": sgemm_gflops(lib, ctx, ctx, s // dims["n_audio_head"], args.repeat),
    }
    encode = float("inf")
    for _ in range(args.repeat):
        out = subprocess.run([args.kdq, "transcribe", args.model, args.audio, "--threads", str(threads), "--json"],
                             check=True, capture_output=True, text=True).stdout
        for r in json.loads(out)["results"]:
            encode = min(encode, r["timings"]["encode"])
    gemm, attention = encoder_flops(dims)
    achieved = gemm / encode / 1e9
    best_peak = max(peak.values())
    report = {"threads": threads, "openblas_core": os.environ.get("OPENBLAS_CORETYPE"), "sgemm_gflops": peak, "encoder_gflop": gemm / 1e9, "attention_gflop": attention / 1e9,
              "encode_seconds": encode, "encoder_gflops": achieved, "fraction_of_peak": achieved / best_peak}
    if args.json:
        print(json.dumps(report, indent=2))
        return
    print(f"OpenBLAS sgemm ({report['openblas_core'] or 'its own choice of'} kernels), {threads} threads (best of {args.repeat}):")
    for k, v in peak.items():
        print(f"  {k:28s} {v:7.1f} GFLOP/s")
    print(f"kdq encoder ({args.model}, one window): {gemm / 1e9:.1f} GFLOP of GEMM work ({attention / 1e9:.1f} in attention) "
          f"in {encode:.3f} s = {achieved:.1f} GFLOP/s = {100 * achieved / best_peak:.0f}% of the best sgemm")


if __name__ == "__main__":
    main()
