#!/usr/bin/env python3
"""The table of docs/quantization.md from scripts/compare-quantization.sh's outputs: per model,
file size, tensor bits per weight, WER (with its 95% interval) and mean next-token KL from the
unquantized model, for f16, uniform q8_0/q5_0/q4_0 and guided at the sizes of q5_0 and q4_0.

Usage: scripts/quantization-table.py OUT_DIR MODEL...
"""
import json, os, subprocess, sys

def main():
    out, models = sys.argv[1], sys.argv[2:]
    print("| model | quantization | file MB | bits/weight | WER % (95% CI) | mean KL (nats/token) |")
    print("|---|---|---:|---:|---|---:|")
    for m in models:
        rows = json.load(open(os.path.join(out, f"{m}-eval.json")))["models"]
        for r in rows:
            name = os.path.basename(r["model"]).replace(".kdq", "")
            label = "f16 (source)" if name == m else name.replace(f"{m}-", "").replace("-", " ")
            if "guided" in label:
                label = f"guided at the size of uniform {label.split()[-1]}"
            summary = json.loads(subprocess.run([".build/release/kdq", "inspect", r["model"], "--json"], check=True,
                                                capture_output=True, text=True).stdout)
            bpw = summary["tensor_bytes"] * 8 / summary["parameters"]
            lo, hi = r["wer_ci95"]
            print(f"| {m} | {label} | {r['model_bytes'] / 1e6:.2f} | {bpw:.2f} | {r['wer']:.2f} ({lo:.2f}–{hi:.2f}) | {r['mean_kl']:.5f} |")

main()
