#!/usr/bin/env bash
# Installs what is missing, fetches the real models (tests that need them skip without them;
# KDQ_SKIP_MODELS=1 skips the download), builds, and runs every test: the whole suite on the
# debug build, then the CLI tests again on the release binary.
# KDQ_CLIENT_CHECKS=1 also installs pywhispercpp and faster-whisper and checks that kdq's
# exports load and transcribe in them (scripts/check-clients.py); KDQ_SLOW_CHECKS=1 also runs
# scripts/slow-checks.sh (dev set against faster-whisper, eval, benchmarks: about 40 minutes);
# KDQ_REPORT_CHECK=1 renders a `kdq report` page in headless Chromium (scripts/report-check.sh);
# KDQ_FUZZ_CHECK=1 replays every fuzz target's committed corpus under AddressSanitizer, the
# inputs of every bug fuzzing found included (scripts/fuzz.sh all 0).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
[ "${KDQ_SKIP_MODELS:-0}" = 1 ] || scripts/fetch-models.sh
swift build
# kdq restarts itself with OpenBLAS's vector kernels where OpenBLAS does not recognize the CPU
# (BLASCore, docs/performance.md); the test processes get the kernels kdq settles on.
core=$(OPENBLAS_VERBOSE=2 .build/debug/kdq --help 2>&1 >/dev/null | sed -n 's/^Core: //p' | tail -1)
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -n "$core" ]; then export OPENBLAS_CORETYPE="$core"; fi
swift test
swift build -c release --product kdq
KDQ_BIN="$PWD/.build/release/kdq" swift test --skip-build --filter KDQCLITests
if [ "${KDQ_CLIENT_CHECKS:-0}" = 1 ]; then
  python3 -m pip install --quiet --disable-pip-version-check pywhispercpp faster-whisper
  python3 scripts/check-clients.py --kdq .build/release/kdq
fi
if [ "${KDQ_REPORT_CHECK:-0}" = 1 ]; then
  KDQ=.build/release/kdq scripts/report-check.sh
fi
if [ "${KDQ_FUZZ_CHECK:-0}" = 1 ]; then
  scripts/fuzz.sh all 0
fi
if [ "${KDQ_SLOW_CHECKS:-0}" = 1 ]; then
  scripts/slow-checks.sh
fi
