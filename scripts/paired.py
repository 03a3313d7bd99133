#!/usr/bin/env python3
"""Paired comparison of two models on the same utterances from `kdq eval --out` files: the
difference in WER and CER (B − A, percentage points) with a 95% bootstrap interval over the
utterances (2,000 resamples, fixed seed), so that two models' errors on the same audio are
compared with each other rather than each with its own interval.

Usage: scripts/paired.py EVAL.jsonl[:MODEL_A] EVAL.jsonl[:MODEL_B] [--calibration MANIFEST [--count N]]
  (a file with one model needs no name; with several, name the model as `kdq eval` wrote it).
  With --calibration, the same figures again over the held-out utterances only: those outside
  the N (default 32) utterances kdq's calibration takes from MANIFEST (spread evenly over it,
  as `--calibration-count N` picks them), which a guided plan was fitted to.
"""
import argparse, json, random, sys


def load(spec):
    path, _, model = spec.partition(":")
    rows = [json.loads(line) for line in open(path) if line.strip()]
    models = sorted({r["model"] for r in rows})
    if not model:
        if len(models) != 1:
            sys.exit(f"{path} holds {len(models)} models ({', '.join(models)}): name one as {path}:MODEL")
        model = models[0]
    picked = {r["id"]: r for r in rows if r["model"] == model}
    if not picked:
        sys.exit(f"{path} has no rows of model {model} (it has {', '.join(models)})")
    return model, picked


def calibration_ids(manifest, count):
    """The utterances `CalibrationSet` takes: index i·n/count for i < count."""
    ids = [json.loads(line)["id"] for line in open(manifest) if line.strip()]
    k = min(count, len(ids))
    return {ids[i * len(ids) // k] for i in range(k)}


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("a"); ap.add_argument("b")
    ap.add_argument("--calibration"); ap.add_argument("--count", type=int, default=32)
    args = ap.parse_args()
    (name_a, a), (name_b, b) = load(args.a), load(args.b)
    ids = sorted(set(a) & set(b))
    if not ids:
        sys.exit("the two files share no utterance")
    print(f"B = {name_b} against A = {name_a}")
    compare("all", ids, a, b)
    if args.calibration:
        calibration = calibration_ids(args.calibration, args.count)
        compare(f"held-out (outside the {len(calibration)} calibration utterances)", [i for i in ids if i not in calibration], a, b)


def compare(label, ids, a, b):
    rows = [(a[i]["word_errors"], b[i]["word_errors"], a[i]["reference_words"], a[i]["char_errors"], b[i]["char_errors"],
             a[i]["reference_chars"]) for i in ids]

    def rates(sample):
        words = sum(r[2] for r in sample) or 1
        chars = sum(r[5] for r in sample) or 1
        return (100 * (sum(r[1] for r in sample) - sum(r[0] for r in sample)) / words,
                100 * (sum(r[4] for r in sample) - sum(r[3] for r in sample)) / chars)

    def totals(k, ref):
        return 100 * sum(r[k] for r in rows) / (sum(r[ref] for r in rows) or 1)
    wer, cer = rates(rows)
    rng = random.Random(0)
    draws = [rates([rows[rng.randrange(len(rows))] for _ in rows]) for _ in range(2000)]
    def interval(k):
        values = sorted(d[k] for d in draws)
        return values[50], values[1949]
    (wl, wh), (cl, ch) = interval(0), interval(1)
    print(f"{label}: {len(ids)} utterances; A WER {totals(0, 2):.2f} CER {totals(3, 5):.2f}, B WER {totals(1, 2):.2f} CER {totals(4, 5):.2f}")
    print(f"  WER difference B − A: {wer:+.2f} points (95% bootstrap interval {wl:+.2f} … {wh:+.2f})")
    print(f"  CER difference B − A: {cer:+.2f} points (95% bootstrap interval {cl:+.2f} … {ch:+.2f})")


main()
