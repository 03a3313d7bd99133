#!/usr/bin/env python3
"""How much of each training or test set's speech energy lies above a frequency (default
5.6 kHz, just above the 5.5 kHz Nyquist limit of the distillation clips' 11 kHz sources): the
median, over CLIPS clips spread evenly through a manifest, of the share of the power spectrum
above it. Needs numpy and soundfile (pip). Usage: scripts/band-energy.py MANIFEST... [--clips N] [--hz F]
"""
import argparse
import json
import os

import numpy as np
import soundfile as sf


def share_above(path, hz):
    samples, rate = sf.read(path, always_2d=True)
    power = np.abs(np.fft.rfft(samples.mean(axis=1))) ** 2
    frequencies = np.fft.rfftfreq(samples.shape[0], 1 / rate)
    return power[frequencies > hz].sum() / max(power.sum(), 1e-30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("manifests", nargs="+")
    parser.add_argument("--clips", type=int, default=40)
    parser.add_argument("--hz", type=float, default=5600)
    args = parser.parse_args()
    for manifest in args.manifests:
        entries = [json.loads(line) for line in open(manifest) if line.strip()]
        chosen = [entries[int(i * len(entries) / args.clips)] for i in range(min(args.clips, len(entries)))]
        base = os.path.dirname(manifest)
        shares = [share_above(os.path.join(base, e["audio"]), args.hz) for e in chosen]
        print(f"{manifest}: {len(shares)} clips, median share of power above {args.hz / 1000:g} kHz "
              f"{np.median(shares):.2e} (min {min(shares):.2e}, max {max(shares):.2e})")


if __name__ == "__main__":
    main()
