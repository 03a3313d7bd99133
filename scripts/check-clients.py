#!/usr/bin/env python3
"""Real clients load kdq's exports: the real tiny.en is imported into a .kdq (as it is, and
quantized to q8_0 and q5_0 like whisper.cpp's quantizer), exported, and transcribes
samples/jfk.wav in whisper.cpp (pywhispercpp) and faster-whisper; the OpenAI .pt export
transcribes in kdq itself and, converted to ggml, in whisper.cpp; with --hf also in
transformers (needs torch). `kdq quantize` archives go to whisper.cpp too: uniform q4_0 with the
error-minimizing quantizer, and a guided plan at the size of uniform q5_0 (whisper.cpp takes one
weight type, so the export re-encodes the plan's other tensors to its most common type and says
so); these must transcribe within 25% WER of the reference (4-5 bits per weight change words).
Prints a table; exits 1 if any check fails.

Usage: scripts/check-clients.py [--kdq .build/release/kdq] [--model models/tiny.en] [--hf]
Needs: pip install pywhispercpp faster-whisper (and torch transformers for --hf)
"""
import argparse, json, os, re, subprocess, sys, tempfile

def normalize(text):
    return re.sub(r"\s+", " ", re.sub(r"[^a-z0-9' ]", " ", text.lower())).strip()

def word_error_rate(reference, hypothesis):
    r, h = normalize(reference).split(), normalize(hypothesis).split()
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[len(h)] / max(1, len(r))

def kdq(binary, *args):
    subprocess.run([binary, *args], check=True, stdout=subprocess.DEVNULL)

def kdq_transcribe(binary, model, audio):
    return subprocess.run([binary, "transcribe", model, audio, "--language", "en"], check=True,
                          capture_output=True, text=True).stdout.strip()

def whisper_cpp(model, audio):
    from pywhispercpp.model import Model
    m = Model(model, n_threads=2, print_realtime=False, print_progress=False, redirect_whispercpp_logs_to=None)
    return " ".join(s.text.strip() for s in m.transcribe(audio, language="en"))

def faster_whisper(model, audio):
    from faster_whisper import WhisperModel
    m = WhisperModel(model, device="cpu", compute_type="float32", cpu_threads=2)
    segments, _ = m.transcribe(audio, language="en", beam_size=1, temperature=0, condition_on_previous_text=False)
    return " ".join(s.text.strip() for s in segments)

def transformers_hf(model, audio):
    import numpy as np, wave, torch
    from transformers import WhisperForConditionalGeneration, WhisperProcessor
    m = WhisperForConditionalGeneration.from_pretrained(model).float()  # compute in f32 like the others
    p = WhisperProcessor.from_pretrained(model)
    with wave.open(audio) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768
    features = p(samples, sampling_rate=16000, return_tensors="pt").input_features
    with torch.no_grad():
        ids = m.generate(features, language="en", task="transcribe") if m.config.vocab_size >= 51865 else m.generate(features)
    return p.batch_decode(ids, skip_special_tokens=True)[0]

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kdq", default=".build/release/kdq")
    ap.add_argument("--model", default="models/tiny.en")
    ap.add_argument("--audio", default="samples/jfk.wav")
    ap.add_argument("--hf", action="store_true", help="also load the hf export in transformers (needs torch)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="kdq-clients-")
    reference = faster_whisper(a.model, a.audio)
    rows = [("faster-whisper, original CTranslate2 model", reference, True)]
    for dtype in ["keep", "q8_0", "q5_0"]:
        archive = os.path.join(work, f"{dtype}.kdq")
        kdq(a.kdq, "import", a.model, "-o", archive, "--dtype", dtype)
        kdq(a.kdq, "verify", archive)
        ggml = os.path.join(work, f"{dtype}.bin")
        kdq(a.kdq, "export", archive, "--to", "ggml", "-o", ggml)
        text = whisper_cpp(ggml, a.audio)
        same = normalize(text) == normalize(reference)
        rows.append((f"whisper.cpp, kdq ggml export ({'f16' if dtype == 'keep' else dtype})", text, same))
        if dtype == "keep":
            ct2 = os.path.join(work, "ct2")
            kdq(a.kdq, "export", archive, "--to", "ct2", "-o", ct2)
            text = faster_whisper(ct2, a.audio)
            same = text == reference
            rows.append(("faster-whisper, kdq ct2 export (identical text required)", text, same))
            # The OpenAI checkpoint: kdq reads back what it wrote (the tokenizer travels with
            # kdq, as with openai-whisper), and whisper.cpp runs kdq's ggml conversion of it.
            pt = os.path.join(work, "model.pt")
            kdq(a.kdq, "export", archive, "--to", "pt", "-o", pt)
            text = kdq_transcribe(a.kdq, pt, a.audio)
            same = text == kdq_transcribe(a.kdq, a.model, a.audio)
            rows.append(("kdq, kdq pt export (kdq's text of the original required)", text, same))
            pt_ggml = os.path.join(work, "from-pt.bin")
            kdq(a.kdq, "export", pt, "--to", "ggml", "-o", pt_ggml)
            text = whisper_cpp(pt_ggml, a.audio)
            same = normalize(text) == normalize(reference)
            rows.append(("whisper.cpp, kdq ggml export of the pt export", text, same))
            if a.hf:
                hf = os.path.join(work, "hf")
                kdq(a.kdq, "export", archive, "--to", "hf", "-o", hf)
                text = transformers_hf(hf, a.audio)
                same = normalize(text) == normalize(reference)
                rows.append(("transformers, kdq hf export", text, same))
    calibration = os.path.join(os.path.dirname(a.audio), "calibration.jsonl")
    quantized = [("uniform q4_0, search quantizer", ["--uniform", "q4_0", "--quantizer", "search"]),
                 ("guided at the size of uniform q5_0", ["--match-uniform", "q5_0", "--calibration", calibration,
                                                         "--calibration-count", "1", "--skip-evaluation"])]
    for i, (label, options) in enumerate(quantized):
        archive, ggml = os.path.join(work, f"quantized-{i}.kdq"), os.path.join(work, f"quantized-{i}.bin")
        kdq(a.kdq, "quantize", a.model, "-o", archive, *options)
        kdq(a.kdq, "export", archive, "--to", "ggml", "-o", ggml)
        text = whisper_cpp(ggml, a.audio)
        wer = word_error_rate(reference, text)
        close = wer <= 0.25  # 4-5 bits per weight change a few words; the check is that it loads and transcribes
        rows.append((f"whisper.cpp, kdq quantize ({label}), ggml export, WER {100 * wer:.0f}% vs the reference", text, close))
    for name, text, same in rows:
        print(f"{'ok  ' if same else 'FAIL'} {name}: {text.strip()}")
    ok = all(same for _, _, same in rows)
    print("all clients agree" if ok else "a client disagrees")
    sys.exit(0 if ok else 1)

main()
