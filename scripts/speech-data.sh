#!/usr/bin/env bash
# Training audio for a quick `kdq compress` where no recorded speech is at hand: every sentence
# of samples/sentences.txt spoken by each of flite's English voices (Debian's `flite`, installed
# when missing), 16 kHz WAV, with a manifest without text (the teacher labels the clips).
# Synthetic speech is only for seeing the pipeline work; real recordings train better students.
# Usage: scripts/speech-data.sh [OUT_DIR]   (default out/speech; prints the manifest's path)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/speech}"
if ! command -v flite >/dev/null; then
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y flite >&2
fi
mkdir -p "$out"
manifest="$out/manifest.jsonl"
if [ ! -s "$manifest" ]; then
  : > "$manifest.tmp"
  n=0
  while IFS= read -r sentence; do
    [ -n "$sentence" ] || continue
    for voice in slt rms awb kal16; do
      id="$(printf '%03d' "$n")-$voice"
      flite -voice "$voice" -t "$sentence" -o "$out/$id.wav"
      printf '{"id": "%s", "audio": "%s.wav"}\n' "$id" "$id" >> "$manifest.tmp"
    done
    n=$((n + 1))
  done < samples/sentences.txt
  mv "$manifest.tmp" "$manifest"
fi
echo "$manifest"
