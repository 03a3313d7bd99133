#!/usr/bin/env python3
"""Times `kdq transcribe` against faster-whisper (CTranslate2 fp32 and int8, 2 threads) on
the same clips in one run, greedy, language en, no timestamps. kdq's time is its own per-file
timing (mel + encode + decode; model load excluded, as faster-whisper's model is loaded once
too). Prints a Markdown table with the ratios.

Usage: scripts/bench-transcribe.py [--models tiny.en base] [--clips N] [--kdq BIN]
Needs: pip install faster-whisper
"""
import argparse, json, os, subprocess, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--dev", default="../shared/audio/dev")
    a = ap.parse_args()
    manifest = [json.loads(l) for l in open(os.path.join(a.dev, "manifest.jsonl"))]
    step = max(1, len(manifest) // a.clips)
    clips = ["samples/jfk.wav"] + [os.path.join(a.dev, m["audio"]) for m in manifest[::step][: a.clips - 1]]
    from faster_whisper import WhisperModel
    print(f"{len(clips)} clips, greedy, 2 threads\n")
    print("| model | kdq (s/clip) | faster-whisper fp32 | faster-whisper int8 | kdq / fw fp32 | kdq / fw int8 |")
    print("|---|---|---|---|---|---|")
    for name in a.models:
        run = subprocess.run([a.kdq, "transcribe", f"models/{name}", clips[0], *clips, "--language", "en", "--threads", "2", "--json"],
                             check=True, capture_output=True, text=True)
        results = json.loads(run.stdout)["results"][1:]  # the first run warms up
        ours = sum(sum(r["timings"].values()) for r in results) / len(results)
        fw = {}
        for ct in ["float32", "int8"]:
            m = WhisperModel(f"models/{name}", device="cpu", compute_type=ct, cpu_threads=2)
            def once(f):
                segs, _ = m.transcribe(f, language="en", beam_size=1, temperature=0, condition_on_previous_text=False)
                return "".join(s.text for s in segs)
            once(clips[0])
            t = time.time()
            for f in clips: once(f)
            fw[ct] = (time.time() - t) / len(clips)
        print(f"| {name} | {ours:.3f} | {fw['float32']:.3f} | {fw['int8']:.3f} | {ours / fw['float32']:.2f}x | {ours / fw['int8']:.2f}x |")

main()
