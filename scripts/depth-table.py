#!/usr/bin/env python3
"""Prints docs/distillation.md's depth table from scripts/depth-table.sh's results in out/depth/:
for each depth, every model's dev WER (95% interval), CER, mean KL from base and file size from
`kdq eval --kl`, and for the distilled students their training steps, time and tokens a second
from the archive's record (manifest.json: compression.layer_map).

Usage: scripts/depth-table.py [DEPTHS...]   (default: 2 3 4)
"""
import json, os, sys, tarfile

OUT = "out/depth"
ROWS = [  # file stem (after s{d}-), what the row is
    ("even", "pruned, even choice (distil-whisper), untrained"),
    ("measured", "pruned, measured choice, untrained"),
    ("kd", "distilled: KL + CE"),
    ("hidden", "distilled: KL + CE + hidden-state term"),
    ("hidden-dynamic", "distilled: KL + CE + hidden-state term, dynamic matching"),
    ("qat", "distilled through the quantization plan (QAT)"),
    ("ptq", "distilled (KL + CE), then quantized (PTQ)"),
]


def training_record(path):
    """The distillation record an archive carries, or None."""
    try:
        with tarfile.open(path) as t:
            manifest = json.load(t.extractfile("manifest.json"))
    except (OSError, KeyError, tarfile.TarError, json.JSONDecodeError):
        return None
    record = (manifest.get("compression") or {}).get("layer_map")
    return record if isinstance(record, dict) and record.get("kind") == "distillation" else None


def main():
    depths = sys.argv[1:] or ["2", "3", "4"]
    print("| depth | model | file MB | WER % (95% CI) | CER % | mean KL from base | steps | training s | tokens/s |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|")
    base_printed = False
    for d in depths:
        path = os.path.join(OUT, f"s{d}-eval.json")
        if not os.path.exists(path):
            print(f"| {d} | (not evaluated yet: {path}) | | | | | | | |")
            continue
        results = {os.path.basename(m["model"]): m for m in json.load(open(path))["models"]}
        if not base_printed and "base" in results:
            b = results["base"]
            print(f"| 6 (teacher) | base | {b['model_bytes'] / 1e6:.1f} | {b['wer']:.2f} ({b['wer_ci95'][0]:.2f}–{b['wer_ci95'][1]:.2f}) "
                  f"| {b['cer']:.2f} | 0 | | | |")
            base_printed = True
        for stem, label in ROWS:
            name = f"s{d}-{stem}.kdq"
            m = results.get(name)
            if m is None:
                continue
            rec = training_record(os.path.join(OUT, name)) if stem not in ("even", "measured", "ptq") else None
            training = (f"{rec['steps']} | {rec['seconds']:.0f} | {rec['tokens_per_second']:.1f}" if rec else " | | ")
            kl = m.get("mean_kl")
            print(f"| {d} | {label} | {m['model_bytes'] / 1e6:.1f} | {m['wer']:.2f} ({m['wer_ci95'][0]:.2f}–{m['wer_ci95'][1]:.2f}) "
                  f"| {m['cer']:.2f} | {'' if kl is None else f'{kl:.3f}'} | {training} |")


main()
