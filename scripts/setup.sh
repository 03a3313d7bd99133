#!/usr/bin/env bash
# Installs the Debian packages kdq builds against, if any is missing (needs root or sudo).
set -euo pipefail
packages=(libarchive-dev libjson-c-dev libopenblas-dev libssl-dev libsndfile1-dev libsoxr-dev libfftw3-dev pkg-config python3-pip)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}"
sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}"
