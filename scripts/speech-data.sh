#!/usr/bin/env bash
# Training audio where no recorded speech is at hand: sentences spoken by flite's English voices
# (Debian's `flite`, installed when missing; slt, rms, awb, kal16 — all 16 kHz, full band), as
# 16 kHz WAV with a manifest without text (the teacher labels the clips).
#   SENTENCES  one sentence per line (default samples/sentences.txt; scripts/fortune-sentences.py
#              makes thousands from Debian's `fortunes`)
#   VOICES     how many voices speak each sentence (default 4: every voice). With fewer, the
#              voices take turns, and each clip gets one of three speaking rates and a pitch
#              moved up or down (flite's duration_stretch and int_f0_target_mean), so that a
#              large set has more than four speakers' worth of variety.
# Usage: scripts/speech-data.sh [OUT_DIR] [SENTENCES] [VOICES]   (default out/speech; prints the manifest's path)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/speech}"; sentences="${2:-samples/sentences.txt}"; per="${3:-4}"
case "$per" in 1|2|3|4) ;; *) echo "speech-data.sh: VOICES is $per, expected 1 to 4 (flite has four English voices)" >&2; exit 2 ;; esac
if ! command -v flite >/dev/null; then
  sudo=(); [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y flite >&2
fi
voices=(slt rms awb kal16)
pitch=(180 110 105 110)   # each voice's usual f0 mean (Hz), moved by -12%, 0 or +12% per clip when varied
rates=(0.9 1.0 1.15)
mkdir -p "$out"
manifest="$out/manifest.jsonl"
if [ ! -s "$manifest" ]; then
  : > "$manifest.tmp"
  n=0; clip=0
  while IFS= read -r sentence; do
    [ -n "$sentence" ] || continue
    for ((k = 0; k < per; k++)); do
      v=$(((n * per + k) % ${#voices[@]})); voice="${voices[$v]}"
      id="$(printf '%05d' "$n")-$voice"
      options=()
      if [ "$per" -lt "${#voices[@]}" ]; then
        rate="${rates[$((clip % 3))]}"; f0=$((pitch[v] * (88 + 12 * ((clip / 3) % 3)) / 100))
        options=(--setf "duration_stretch=$rate" --setf "int_f0_target_mean=$f0")
      fi
      flite -voice "$voice" "${options[@]}" -t "$sentence" -o "$out/$id.wav"
      printf '{"id": "%s", "audio": "%s.wav"}\n' "$id" "$id" >> "$manifest.tmp"
      clip=$((clip + 1))
    done
    n=$((n + 1))
  done < "$sentences"
  mv "$manifest.tmp" "$manifest"
fi
echo "$manifest"
