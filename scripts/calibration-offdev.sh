#!/usr/bin/env bash
# Calibration audio kept apart from the dev set, so that every dev utterance is held-out for a
# plan calibrated on it (docs/distillation.md, "calibrated off the dev set"): COUNT/2 sentences
# of Debian's fortunes (none a dev transcript) spoken by flite's voices, with their sentences as
# text, interleaved with COUNT/2 clips of game dialogue spread over ../shared/audio/distill/
# (no text: their KL counts, their WER does not). Prints the manifest's path.
# Usage: scripts/calibration-offdev.sh [COUNT] [OUT_DIR]   (defaults: 32, out/calibration-offdev)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-32}"; out="${2:-out/calibration-offdev}"
case "$count" in ''|*[!0-9]*) echo "calibration-offdev.sh: COUNT is '$count', expected a positive even number" >&2; exit 2 ;; esac
[ "$count" -ge 2 ] && [ $((count % 2)) -eq 0 ] || { echo "calibration-offdev.sh: COUNT is $count, expected a positive even number" >&2; exit 2; }
[ -d /usr/share/games/fortunes ] || apt-get install -y -q fortunes >/dev/null
mkdir -p "$out"
half=$((count / 2))
# Three sentences per clip wanted: fortune-sentences.py spreads its choice over all candidates.
scripts/fortune-sentences.py $((3 * half)) --exclude ../shared/audio/dev/manifest.jsonl | awk 'NR % 3 == 1' > "$out/sentences.txt"
speech="$(scripts/speech-data.sh "$out/speech" "$out/sentences.txt" 1)"
python3 - "$speech" "$out/sentences.txt" ../shared/audio/distill/manifest.jsonl "$half" > "$out/manifest.jsonl.tmp" <<'PY'
import json, os, sys
speech, sentences, distill, half = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
spoken = [json.loads(l) for l in open(speech) if l.strip()]
texts = [l.rstrip("\n") for l in open(sentences) if l.strip()]
clips = [json.loads(l) for l in open(distill) if l.strip()]
games = [clips[(2 * k + 1) * len(clips) // (2 * half)] for k in range(half)]
for k in range(half):
    s = spoken[k]
    print(json.dumps({"id": "fortune-" + s["id"], "audio": os.path.abspath(os.path.join(os.path.dirname(speech), s["audio"])), "text": texts[k]}))
    g = games[k]
    print(json.dumps({"id": "game-" + g["id"], "audio": os.path.abspath(os.path.join(os.path.dirname(distill), g["audio"])), "text": ""}))
PY
mv "$out/manifest.jsonl.tmp" "$out/manifest.jsonl"
echo "$out/manifest.jsonl"
