#!/usr/bin/env python3
"""Prints COUNT English sentences for synthetic training speech, taken from Debian's `fortunes`
package (/usr/share/games/fortunes: quotations, proverbs, jokes; its offensive set is a separate
package and never read). A sentence is kept when it has 5 to 24 words of plain ASCII text, no
digits, no URL, no attribution line, and is not the text of any utterance of the manifests given
with --exclude (the dev set must never be trained on). The choice is spread evenly over all
candidates, so it is the same on every machine with the same package version.

Usage: scripts/fortune-sentences.py COUNT [--exclude MANIFEST ...] > sentences.txt
"""
import argparse
import json
import os
import re
import sys

FORTUNES = "/usr/share/games/fortunes"
ALLOWED = re.compile(r"^[A-Za-z ,.'?!;:-]+$")


def normalized(text):
    return " ".join(re.sub(r"[^a-z' ]", " ", text.lower()).split())


def entries():
    for name in sorted(os.listdir(FORTUNES)):
        path = os.path.join(FORTUNES, name)
        if "." in name or not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8", errors="replace") as f:
            yield from f.read().split("\n%\n")


def sentences(entry):
    lines = [l.strip() for l in entry.splitlines() if l.strip()]
    lines = [l for l in lines if not l.startswith("--")]
    text = " ".join(lines).replace('"', "").replace("``", "").replace("''", "")
    for piece in re.split(r"(?<=[.?!])\s+", text):
        piece = piece.strip()
        words = piece.split()
        if not 5 <= len(words) <= 24 or not ALLOWED.match(piece) or piece.isupper():
            continue
        if piece[0].islower() or piece[-1] not in ".?!":
            continue
        yield piece


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("count", type=int)
    parser.add_argument("--exclude", action="append", default=[])
    args = parser.parse_args()
    excluded = set()
    for manifest in args.exclude:
        with open(manifest) as f:
            for line in f:
                text = json.loads(line).get("text")
                if text:
                    excluded.add(normalized(text))
    seen, candidates = set(), []
    for entry in entries():
        for sentence in sentences(entry):
            key = normalized(sentence)
            if key in seen or key in excluded:
                continue
            seen.add(key)
            candidates.append(sentence)
    if len(candidates) < args.count:
        sys.exit(f"only {len(candidates)} sentences in {FORTUNES}, {args.count} asked for")
    step = len(candidates) / args.count
    for i in range(args.count):
        print(candidates[int(i * step)])


if __name__ == "__main__":
    main()
