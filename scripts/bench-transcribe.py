#!/usr/bin/env python3
"""Times `kdq transcribe` against faster-whisper (CTranslate2 fp32 and int8, 2 threads) on
the same clips in one run, greedy, language en, no timestamps. kdq's time is its own per-file
timing (mel + encode + decode; model load excluded, as faster-whisper's model is loaded once
too). A kdq model is a name under models/ or any file kdq opens (an archive: then --peer names
the original model faster-whisper runs). Prints a Markdown table with the ratios, kdq's peak
resident memory and the model file's size. Each side's figure is the median of --rounds rounds
that time every kdq model and every peer in turn (the host's speed drifts between minutes).

Usage: scripts/bench-transcribe.py [--models tiny.en base out/x.kdq] [--peer base] [--clips N] [--rounds R] [--kdq BIN]
Needs: pip install faster-whisper
"""
import argparse, json, os, statistics, subprocess, time


def size_mb(path):
    if os.path.isdir(path):
        return sum(os.path.getsize(os.path.join(path, f)) for f in os.listdir(path)) / 1e6
    return os.path.getsize(path) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", nargs="+", default=["tiny.en", "base"])
    ap.add_argument("--peer", help="faster-whisper's model for archives (default: the model's own name)")
    ap.add_argument("--clips", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds over every kdq model and every peer in turn; each side's figure is its median round")
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--dev", default="../shared/audio/dev")
    a = ap.parse_args()
    manifest = [json.loads(l) for l in open(os.path.join(a.dev, "manifest.jsonl"))]
    step = max(1, len(manifest) // a.clips)
    clips = ["samples/jfk.wav"] + [os.path.join(a.dev, m["audio"]) for m in manifest[::step][: a.clips - 1]]
    from faster_whisper import WhisperModel
    paths = {name: name if os.path.exists(name) else f"models/{name}" for name in a.models}
    peer_of = {name: a.peer or name for name in a.models}
    fw_models = {(peer, ct): WhisperModel(f"models/{peer}", device="cpu", compute_type=ct, cpu_threads=2)
                 for peer in sorted(set(peer_of.values())) for ct in ["float32", "int8"]}

    def kdq_round(name):
        run = subprocess.run([a.kdq, "transcribe", paths[name], clips[0], *clips, "--language", "en", "--threads", "2", "--json"],
                             check=True, capture_output=True, text=True)
        out = json.loads(run.stdout)
        results = out["results"][1:]  # the first run warms up
        return sum(sum(r["timings"].values()) for r in results) / len(results), out["peak_resident_bytes"]

    def fw_round(model):
        def once(f):
            segs, _ = model.transcribe(f, language="en", beam_size=1, temperature=0, condition_on_previous_text=False,
                                       without_timestamps=True)
            return "".join(s.text for s in segs)
        once(clips[0])
        t = time.time()
        for f in clips: once(f)
        return (time.time() - t) / len(clips)

    # The host's speed drifts by several percent over minutes: every round times each kdq model
    # and each peer once, in turn, and each side reports its median round.
    ours = {name: [] for name in a.models}
    peak = {}
    theirs = {key: [] for key in fw_models}
    for _ in range(a.rounds):
        for name in a.models:
            seconds, peak[name] = kdq_round(name)
            ours[name].append(seconds)
        for key, model in fw_models.items():
            theirs[key].append(fw_round(model))
    median = statistics.median
    print(f"{len(clips)} clips, greedy, 2 threads, median of {a.rounds} interleaved rounds\n")
    print("| kdq model | file MB | kdq (s/clip) | kdq peak MB | faster-whisper fp32 | faster-whisper int8 | kdq / fw fp32 | kdq / fw int8 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in a.models:
        path, peer = paths[name], peer_of[name]
        mine, fp32, int8 = median(ours[name]), median(theirs[(peer, "float32")]), median(theirs[(peer, "int8")])
        model_file = path + "/model.bin" if os.path.isdir(path) else path
        print(f"| {name} | {size_mb(model_file):.1f} | {mine:.3f} | {peak[name] / 1e6:.0f} | {fp32:.3f} | "
              f"{int8:.3f} | {mine / fp32:.2f}x | {mine / int8:.2f}x |", flush=True)

main()
