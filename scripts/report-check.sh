#!/usr/bin/env bash
# `kdq report` rendered in headless Chromium (Debian's chromium, installed when missing): the page
# prints to PNG and PDF with no console errors, nothing fetched, and every chart drawn
# (scripts/report-check.py). With no arguments it reports on tiny.en guided-quantized to q5_0's
# size, compared with tiny.en on the sample clips; with arguments they are `kdq report`'s own
# (ARCHIVE [--teacher T --audio M ...]). Outputs in out/report-check/. KDQ=path picks the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v chromium >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y chromium >/dev/null; }
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
out=out/report-check
mkdir -p "$out"
if [ $# -eq 0 ]; then
  [ -d models/tiny.en ] || scripts/fetch-models.sh tiny.en
  "$KDQ" quantize models/tiny.en -o "$out/tiny.en-guided.kdq" --match-uniform q5_0 --calibration samples/calibration.jsonl >/dev/null
  set -- "$out/tiny.en-guided.kdq" --teacher models/tiny.en --audio samples/calibration.jsonl
fi
"$KDQ" report "$@" -o "$out/report.html"
python3 scripts/report-check.py "$out/report.html" --png "$out/report.png" --pdf "$out/report.pdf"
