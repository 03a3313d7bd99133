#!/usr/bin/env python3
"""kdq's `.pt` writer on the whole dev set (issue 17): the real model exported with
`kdq export --to pt` must load with torch.load(weights_only=True) and whisper.load_model, and
openai-whisper must transcribe every dev utterance exactly as faster-whisper (float32, greedy,
language en, no timestamps) does on the original CTranslate2 model
(../shared/reference/transcripts/fw-MODEL-float32-dev.jsonl). Prints the count of identical
transcripts and every difference; writes per-utterance results to --out (JSON Lines).

Usage: scripts/pt-dev-identity.py MODEL_NAME [--kdq BIN] [--pt FILE] [--out FILE] [--threads N]
Needs: torch, openai-whisper, soundfile; the models (scripts/fetch-models.sh).
"""
import argparse, json, os, subprocess, sys, tempfile, time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", help="tiny.en or base (models/NAME)")
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--pt", help="an existing export (default: exported now into a temporary directory)")
    ap.add_argument("--dev", default="../shared/audio/dev")
    ap.add_argument("--reference", default="../shared/reference/transcripts")
    ap.add_argument("--out")
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()

    import soundfile, torch, whisper
    torch.set_num_threads(a.threads)
    work = tempfile.mkdtemp()
    pt = a.pt or os.path.join(work, f"{a.model}.pt")
    if not a.pt:
        subprocess.run([a.kdq, "export", f"models/{a.model}", "--to", "pt", "-o", pt], check=True, stdout=subprocess.DEVNULL)
    torch.load(pt, weights_only=True)  # raises if the file needs anything beyond tensors and plain containers
    model = whisper.load_model(pt, device="cpu")
    options = whisper.DecodingOptions(language="en", task="transcribe", temperature=0.0, without_timestamps=True, fp16=False)

    reference = {r["id"]: r["hyp"] for r in map(json.loads, open(os.path.join(a.reference, f"fw-{a.model}-float32-dev.jsonl")))}
    manifest = [json.loads(line) for line in open(os.path.join(a.dev, "manifest.jsonl"))]
    out = open(a.out, "w") if a.out else None
    same, differ, t0 = 0, [], time.time()
    for k, m in enumerate(manifest):
        audio, rate = soundfile.read(os.path.join(a.dev, m["audio"]), dtype="float32")
        if audio.ndim > 1:
            audio = audio.mean(axis=1)
        if rate != 16000:
            sys.exit(f"{m['audio']}: {rate} Hz, expected 16000")
        # As whisper.transcribe builds a window: the log-mel of the audio followed by 30 s of
        # silence, cut to the content and padded with zeros in the log-mel domain.
        mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), model.dims.n_mels, padding=whisper.audio.N_SAMPLES)
        content = mel.shape[-1] - whisper.audio.N_FRAMES
        mel = whisper.pad_or_trim(mel[:, :min(content, whisper.audio.N_FRAMES)], whisper.audio.N_FRAMES)
        text = whisper.decode(model, mel, options).text.strip()
        ok = text == reference[m["id"]].strip()
        same += ok
        if not ok:
            differ.append((m["id"], reference[m["id"]], text))
        if out:
            out.write(json.dumps({"id": m["id"], "openai_whisper": text, "faster_whisper": reference[m["id"]], "identical": ok}) + "\n")
        if sys.stderr.isatty():
            print(f"\r{k + 1}/{len(manifest)} identical {same}", end="", file=sys.stderr)
    if sys.stderr.isatty():
        print(file=sys.stderr)
    print(f"{a.model}.pt (kdq export) in openai-whisper {whisper.__version__}, torch {torch.__version__}: "
          f"{same}/{len(manifest)} dev transcripts identical to faster-whisper on the original ({time.time() - t0:.0f} s)")
    for i, r, h in differ:
        print(f"  {i}\n    faster-whisper: {r}\n    openai-whisper: {h}")
    sys.exit(0 if not differ else 1)


if __name__ == "__main__":
    main()
