#!/usr/bin/env bash
# The slow acceptance checks, run by hand (or by scripts/test.sh with KDQ_SLOW_CHECKS=1):
# the whole dev set against faster-whisper, kdq eval of tiny.en and base, the benchmarks, and the
# exported distillation recipe's first-batch loss against kdq's (scripts/recipe-check.sh) and kdq's .pt
# files in openai-whisper (scripts/pt-check.sh), both with torch.
# Needs the real models (scripts/fetch-models.sh) and ../shared; about 40 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check jiwer whisper-normalizer faster-whisper
swift build -c release --product kdq
python3 scripts/compare-dev.py tiny.en
python3 scripts/compare-dev.py base
.build/release/kdq eval --manifest ../shared/audio/dev/manifest.jsonl --model models/tiny.en --model models/base
python3 scripts/bench-transcribe.py --clips 12
scripts/bench-import.sh models/base 5
scripts/bench-inspect.sh models/base 7
scripts/recipe-check.sh
scripts/pt-check.sh
