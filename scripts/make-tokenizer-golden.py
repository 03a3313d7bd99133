#!/usr/bin/env python3
"""openai-whisper's own encodings (tiktoken, the reference tokenization Whisper was trained
with) of samples/sentences.txt and a few texts with symbols, digits and other scripts, for the
English-only and the multilingual vocabularies: Tests/KDQEngineTests/Fixtures/tiktoken-golden.json.
(Hugging Face's tokenizer.json merges for the multilingual vocabulary encode some words
differently; kdq follows openai-whisper.)"""
import json, os
from whisper.tokenizer import get_tokenizer

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
texts = [l.strip() for l in open(os.path.join(root, "samples/sentences.txt"), encoding="utf-8") if l.strip()]
texts += ["Naïve café, 3.14 — ok?", "♪ (music) [applause] -- he said: \"no\"", "東京 und Köln, l'été 1999!!", "  spaced   out  ",
          "You got out by fighting, and I through a pretty girl.", "I can see that knife now."]
golden = {name: [{"text": t, "tokens": get_tokenizer(multilingual).encode(t)} for t in texts]
          for name, multilingual in [("english", False), ("multilingual", True)]}
with open(os.path.join(root, "Tests/KDQEngineTests/Fixtures/tiktoken-golden.json"), "w", encoding="utf-8") as f:
    json.dump(golden, f, ensure_ascii=False, indent=0)
print(len(texts), "texts")
