#!/usr/bin/env python3
"""Paired comparison of two models on the same utterances from `kdq eval --out` files: the
difference in WER and CER (B − A, percentage points) with a 95% bootstrap interval over the
utterances (2,000 resamples, fixed seed), so that two models' errors on the same audio are
compared with each other rather than each with its own interval.

Usage: scripts/paired.py EVAL.jsonl[:MODEL_A] EVAL.jsonl[:MODEL_B]
  (a file with one model needs no name; with several, name the model as `kdq eval` wrote it)
"""
import json, random, sys


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


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    (name_a, a), (name_b, b) = load(sys.argv[1]), load(sys.argv[2])
    ids = sorted(set(a) & set(b))
    if not ids:
        sys.exit("the two files share no utterance")
    rows = [(a[i]["word_errors"], b[i]["word_errors"], a[i]["reference_words"], a[i]["char_errors"], b[i]["char_errors"],
             a[i]["reference_chars"]) for i in ids]

    def rates(sample):
        words = sum(r[2] for r in sample) or 1
        chars = sum(r[5] for r in sample) or 1
        return (100 * (sum(r[1] for r in sample) - sum(r[0] for r in sample)) / words,
                100 * (sum(r[4] for r in sample) - sum(r[3] for r in sample)) / chars)

    wer, cer = rates(rows)
    rng = random.Random(0)
    draws = [rates([rows[rng.randrange(len(rows))] for _ in rows]) for _ in range(2000)]
    def interval(k):
        values = sorted(d[k] for d in draws)
        return values[50], values[1949]
    (wl, wh), (cl, ch) = interval(0), interval(1)
    print(f"{len(ids)} utterances; B = {name_b} against A = {name_a}")
    print(f"WER difference B − A: {wer:+.2f} points (95% bootstrap interval {wl:+.2f} … {wh:+.2f})")
    print(f"CER difference B − A: {cer:+.2f} points (95% bootstrap interval {cl:+.2f} … {ch:+.2f})")


main()
