#!/usr/bin/env python3
"""Random Whisper models of the large-v3 / turbo layout (128 mel bins, 51,866 tokens, a 4-layer
decoder as turbo has), written by the real tools, with openai-whisper's forward as the golden
(issue 17): Tests/KDQFormatsTests/Fixtures/random-v3.pt (torch.save as openai-whisper's
checkpoints are, f16) and ggml-random-v3.bin (whisper.cpp's models/convert-pt-to-ggml.py on that
file), Tests/KDQEngineTests/Fixtures/golden-v3.safetensors (fp32 CPU: 5 s of samples/jfk.wav, its 128-bin log-mel, the
encoder output, and the logits of a prompt of large-v3's special tokens).
Usage: make-layout-fixtures.py WHISPER_CPP_DIR"""
import os, subprocess, sys, tempfile
import numpy as np, soundfile, torch, whisper
from dataclasses import asdict
from safetensors.numpy import save_file
from whisper.model import ModelDimensions, Whisper

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "Tests/KDQFormatsTests/Fixtures")
goldens = os.path.join(root, "Tests/KDQEngineTests/Fixtures")
torch.manual_seed(3)
dims = ModelDimensions(n_mels=128, n_audio_ctx=1500, n_audio_state=16, n_audio_head=2, n_audio_layer=2,
                       n_vocab=51866, n_text_ctx=448, n_text_state=16, n_text_head=2, n_text_layer=4)
model = Whisper(dims)
with torch.no_grad():  # weights large enough that every layer matters
    for p in model.parameters():
        p.normal_(0, 0.2)
model = model.half()
pt = os.path.join(out, "random-v3.pt")
torch.save({"dims": asdict(dims), "model_state_dict": model.state_dict()}, pt)

assets = os.path.dirname(os.path.dirname(whisper.__file__))
with tempfile.TemporaryDirectory() as work:
    subprocess.run([sys.executable, os.path.join(sys.argv[1], "models/convert-pt-to-ggml.py"), pt, assets, work],
                   check=True, stdout=subprocess.DEVNULL)
    os.replace(os.path.join(work, "ggml-model.bin"), os.path.join(out, "ggml-random-v3.bin"))

model = model.float().eval()
audio, rate = soundfile.read(os.path.join(root, "samples/jfk.wav"), dtype="float32")
assert rate == 16000
audio = audio[:5 * 16000]
mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(torch.from_numpy(audio)), n_mels=128)
# <|startoftranscript|> <|en|> <|transcribe|> <|notimestamps|> in large-v3's layout, then two words.
tokens = torch.tensor([[50258, 50259, 50360, 50364, 400, 452]])
with torch.no_grad():
    encoded = model.encoder(mel[None])
    logits = model.decoder(tokens, encoded)
save_file({"audio": audio, "mel": mel.numpy(), "encoder_out": encoded[0].numpy(), "tokens": tokens[0].int().numpy(),
           "logits": logits[0].numpy()}, os.path.join(goldens, "golden-v3.safetensors"))
print("wrote", pt, "ggml-random-v3.bin and golden-v3.safetensors")
