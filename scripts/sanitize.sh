#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and ThreadSanitizer (issue 16): each sanitizer
# builds kdq, the libraries and the tests instrumented into its own .build-SANITIZER directory
# and runs every test (the CLI tests run the instrumented kdq binary). A finding fails the run.
# Usage: scripts/sanitize.sh [address|thread|all] [TEST FILTER]   (default all and every test;
# about 20 minutes each on 2 cores for the whole suite; a filter, as `swift test --filter`, runs a part)
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-all}" in all) sanitizers="address thread" ;; address|thread) sanitizers="$1" ;; *) echo "usage: $0 [address|thread|all] [TEST FILTER]" >&2; exit 2 ;; esac
filter=(); [ -n "${2:-}" ] && filter=(--filter "$2")
# Leak checking is off here: the test harness itself (XCTest's runner in libswiftCore) leaves a
# few hundred bytes reachable only from its own start-up, which LeakSanitizer reports at exit of
# every run. kdq's parsers are leak-checked by the fuzz targets (scripts/fuzz.sh, ASan with LSan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:halt_on_error=1:abort_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
for s in $sanitizers; do
  echo "== $s sanitizer"
  export KDQ_SANITIZER="$s"  # tests that cannot run under a sanitizer skip themselves
  swift build --build-tests --sanitize="$s" --scratch-path ".build-$s"
  swift test --skip-build --sanitize="$s" --scratch-path ".build-$s" "${filter[@]}"
done
