#!/usr/bin/env bash
# Installs what is missing, fetches the real models (tests that need them skip without them;
# KDQ_SKIP_MODELS=1 skips the download), builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ "${KDQ_SKIP_MODELS:-0}" = 1 ] || scripts/fetch-models.sh
swift build
swift test
