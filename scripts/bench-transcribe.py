#!/usr/bin/env python3
"""Times `kdq transcribe` against faster-whisper (CTranslate2 fp32 and int8, 2 threads) on
the same clips in one run, greedy, language en, no timestamps. kdq's time is its own per-file
timing (mel + encode + decode; model load excluded, as faster-whisper's model is loaded once
too). A kdq model is a name under models/ or any file kdq opens (an archive: then --peer names
the original model faster-whisper runs). Prints a Markdown table with the ratios, kdq's peak
resident memory and the model file's size.

Usage: scripts/bench-transcribe.py [--models tiny.en base out/x.kdq] [--peer base] [--clips N] [--kdq BIN]
Needs: pip install faster-whisper
"""
import argparse, json, os, subprocess, time


def size_mb(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 1e6
    return os.path.getsize(path) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--peer", help="faster-whisper's model for archives (default: the model's own name)")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--dev", default="../shared/audio/dev")
    a = ap.parse_args()
    manifest = [json.loads(l) for l in open(os.path.join(a.dev, "manifest.jsonl"))]
    step = max(1, len(manifest) // a.clips)
    clips = ["samples/jfk.wav"] + [os.path.join(a.dev, m["audio"]) for m in manifest[::step][: a.clips - 1]]
    from faster_whisper import WhisperModel
    print(f"{len(clips)} clips, greedy, 2 threads\n")
    print("| kdq model | file MB | kdq (s/clip) | kdq peak MB | faster-whisper fp32 | faster-whisper int8 | kdq / fw fp32 | kdq / fw int8 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    peers = {}
    for name in a.models:
        path = name if os.path.exists(name) else f"models/{name}"
        peer = a.peer or name
        run = subprocess.run([a.kdq, "transcribe", path, clips[0], *clips, "--language", "en", "--threads", "2", "--json"],
                             check=True, capture_output=True, text=True)
        out = json.loads(run.stdout)
        results = out["results"][1:]  # the first run warms up
        ours = sum(sum(r["timings"].values()) for r in results) / len(results)
        if peer not in peers:
            fw = {}
            for ct in ["float32", "int8"]:
                m = WhisperModel(f"models/{peer}", device="cpu", compute_type=ct, cpu_threads=2)
                def once(f):
                    segs, _ = m.transcribe(f, language="en", beam_size=1, temperature=0, condition_on_previous_text=False,
                                           without_timestamps=True)
                    return "".join(s.text for s in segs)
                once(clips[0])
                t = time.time()
                for f in clips: once(f)
                fw[ct] = (time.time() - t) / len(clips)
            peers[peer] = fw
        fw = peers[peer]
        model_file = path + "/model.bin" if os.path.isdir(path) else path
        print(f"| {name} | {size_mb(model_file):.1f} | {ours:.3f} | {out['peak_resident_bytes'] / 1e6:.0f} | {fw['float32']:.3f} | "
              f"{fw['int8']:.3f} | {ours / fw['float32']:.2f}x | {ours / fw['int8']:.2f}x |", flush=True)

main()
