#!/usr/bin/env python3
"""Transcribes the dev set with `kdq transcribe` (greedy, language en, no timestamps) and
compares with the reference transcripts of faster-whisper in fp32: the share of utterances
with identical text, and corpus WER of both against the reference texts (Whisper's English
normalizer, jiwer). Writes per-utterance results to OUT (JSON Lines).

Usage: scripts/compare-dev.py MODEL_NAME [--kdq BIN] [--dev DIR] [--reference DIR] [--out FILE] [--limit N]
Needs: pip install jiwer whisper-normalizer
"""
import argparse, json, os, subprocess, sys, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="tiny.en or base (models/NAME)")
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--dev", default="../shared/audio/dev")
    ap.add_argument("--reference", default="../shared/reference/transcripts")
    ap.add_argument("--out")
    ap.add_argument("--limit", type=int)
    a = ap.parse_args()
    manifest = [json.loads(l) for l in open(os.path.join(a.dev, "manifest.jsonl"))]
    if a.limit: manifest = manifest[: a.limit]
    refs = {r["id"]: r["hyp"] for r in map(json.loads, open(os.path.join(a.reference, f"fw-{a.model}-float32-dev.jsonl")))}
    audio = [os.path.join(a.dev, m["audio"]) for m in manifest]
    t0 = time.time()
    run = subprocess.run([a.kdq, "transcribe", f"models/{a.model}", *audio, "--language", "en", "--json"],
                         check=True, capture_output=True, text=True)
    seconds = time.time() - t0
    results = json.loads(run.stdout)["results"]
    from whisper_normalizer.english import EnglishTextNormalizer
    import jiwer
    normalize = EnglishTextNormalizer()
    rows, same = [], 0
    for m, r in zip(manifest, results):
        ours, theirs = r["text"].strip(), refs[m["id"]].strip()
        same += ours == theirs
        rows.append({"id": m["id"], "kdq": ours, "faster_whisper": theirs, "identical": ours == theirs, "text": m["text"]})
    texts = [normalize(r["text"]) for r in rows]
    def wer(key):
        hyps = [normalize(r[key]) for r in rows]
        keep = [i for i, t in enumerate(texts) if t]
        return 100 * jiwer.wer([texts[i] for i in keep], [hyps[i] for i in keep])
    ours_wer, fw_wer = wer("kdq"), wer("faster_whisper")
    audio_seconds = sum(m["seconds"] for m in manifest)
    if a.out:
        with open(a.out, "w") as f:
            for r in rows: f.write(json.dumps(r) + "\n")
    print(f"{a.model}: {len(rows)} utterances, {same} identical to faster-whisper fp32 ({100 * same / len(rows):.1f}%)")
    print(f"WER kdq {ours_wer:.2f}%  faster-whisper {fw_wer:.2f}%  difference {ours_wer - fw_wer:+.2f} points")
    print(f"time {seconds:.1f} s for {audio_seconds:.0f} s of audio (RTF {seconds / audio_seconds:.3f}, model load included)")
    for r in rows:
        if not r["identical"]:
            print(f"  {r['id']}: kdq {r['kdq']!r} | fw {r['faster_whisper']!r}")
    sys.exit(0 if same >= 0.97 * len(rows) and abs(ours_wer - fw_wer) <= 0.2 else 1)

main()
