#!/usr/bin/env bash
# libFuzzer over every parser kdq runs on untrusted bytes (Tests/Fuzz/*.swift, one target per
# parser: ggml, torch, safetensors, hf-index, ct2, ct2-vocabulary, kdq, vocabulary, manifest,
# audio; one binary, the target chosen by KDQ_FUZZ_TARGET). SwiftPM executables do not link with
# -sanitize=fuzzer, so this compiles the library modules the targets need and the targets
# directly with swiftc -sanitize=fuzzer,address into .build-fuzz/. Seeds are committed in Tests/Fuzz/corpus/TARGET (scripts/fuzz-seeds.sh writes
# them), with a dictionary of the format's magic values, field names and sizes in
# Tests/Fuzz/dict/TARGET.dict (libFuzzer's -dict); what the runs find interesting grows .build-fuzz/corpus/TARGET, and crashes land in
# .build-fuzz/crashes/ (each becomes a fixed bug and a regression test with the input).
# SECONDS 0 replays the committed corpus only (what CI does: every input that once found a bug
# runs again, deterministically; finding new ones is the job of longer runs).
# Leaks: libFuzzer checks for them after every input whose mallocs and frees differ. Targets
# whose parsers spread work over dispatch's threads (kdq's verifier, tensor decoding) differ on
# nearly every input (the pool's threads free their memory later), which makes that check run
# each time (30 executions a second instead of 700 for kdq). FUZZ_LEAKS=exit leaves the check
# to LeakSanitizer at the end of the run instead (a leak then stops the run without naming the
# input: replay the corpus with the default to find it).
# Usage: [FUZZ_LEAKS=each|exit] scripts/fuzz.sh [TARGET|all] [SECONDS per target]   (defaults: each, all, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-all}"; seconds="${2:-10}"
out=.build-fuzz
mkdir -p "$out/obj" "$out/crashes"
cflags=()
for pkg in json-c libarchive libcrypto openblas sndfile soxr fftw3f; do
  for f in $(pkg-config --cflags "$pkg" 2>/dev/null); do cflags+=(-Xcc "$f"); done
done
# -enable-testing: a target may reach a parser's internal entry point (@testable import), as
# ct2-vocabulary does to read the fixture's weights once and fuzz only the files beside them.
san=(-sanitize=fuzzer,address -parse-as-library -O -g -enable-testing -package-name whisperkdq -I "$out/obj")
for c in CArchive CJSONC COpenSSL CBLAS CSndFile CSoxr CFFTW; do san+=(-I "Sources/$c"); done
san+=(-I Sources/CKernels/include)
# Objects built with other flags (an older version of this script) are rebuilt.
flags="$(printf '%s ' "${san[@]}" | sha256sum | cut -c1-16)"
[ "$(cat "$out/obj/flags" 2>/dev/null)" = "$flags" ] || { rm -f "$out"/obj/*.o "$out"/obj/*.swiftmodule "$out/kdq-fuzz"; echo "$flags" > "$out/obj/flags"; }
# The engine's C kernels (a SwiftPM C target), instrumented like the rest.
for c in Sources/CKernels/*.c; do
  o="$out/obj/CKernels-$(basename "$c" .c).o"
  if [ ! -f "$o" ] || [ "$c" -nt "$o" ]; then
    echo "compiling $c" >&2
    clang -O2 -g -fsanitize=address,fuzzer-no-link -I Sources/CKernels/include -c "$c" -o "$o"
  fi
done
# KDQFormats finds its bundled vocabularies through Bundle.module, which SwiftPM generates.
cat > "$out/FormatsResources.swift" <<SWIFT
import Foundation
extension Foundation.Bundle {
    static let module: Bundle = Bundle(path: "$PWD/Sources/KDQFormats/Resources") ?? Bundle.main
}
SWIFT
module() {  # name, the modules it imports (already built), -- extra sources...
  local name="$1"; shift
  local deps=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do deps+=("$1"); shift; done; [ $# -gt 0 ] && shift
  local sources=($(find "Sources/$name" -name '*.swift' | sort) "$@")
  local stamp="$out/obj/$name.o" stale=0
  [ -f "$stamp" ] || stale=1
  [ -n "$(find "Sources/$name" -name '*.swift' -newer "$stamp" 2>/dev/null | head -1)" ] && stale=1
  for d in "${deps[@]}"; do [ "$out/obj/$d.o" -nt "$stamp" ] && stale=1; done
  if [ "$stale" = 1 ]; then
    echo "compiling $name" >&2
    swiftc "${san[@]}" "${cflags[@]}" -module-name "$name" -wmo -emit-module -emit-module-path "$out/obj/$name.swiftmodule" \
      -c "${sources[@]}" -o "$stamp"
  fi
}
module KDQTensor
module KDQJSON
module KDQFormats KDQTensor KDQJSON -- "$out/FormatsResources.swift"
module KDQAnalysis KDQTensor KDQFormats KDQJSON
module KDQEngine KDQTensor KDQFormats KDQJSON
libs=(-larchive -ljson-c -lcrypto -lopenblas -lsndfile -lsoxr -lfftw3f)
bin="$out/kdq-fuzz"
if [ ! -f "$bin" ] || [ -n "$(find Tests/Fuzz "$out/obj" \( -name '*.swift' -o -name '*.o' \) -newer "$bin" | head -1)" ]; then
  echo "linking $bin" >&2
  swiftc "${san[@]}" "${cflags[@]}" -module-name KDQFuzz Tests/Fuzz/*.swift "$out"/obj/*.o "${libs[@]}" -o "$bin" \
    2>"$out/link.log" || { cat "$out/link.log" >&2; exit 1; }
fi
targets=()
if [ "$target" = all ]; then for d in Tests/Fuzz/corpus/*/; do targets+=("$(basename "$d")"); done; else targets=("$target"); fi
# Each fuzzing process writes its inputs into a scratch directory named by its pid (in /dev/shm
# where there is one); remove those of processes that have ended.
clean_scratch() {
  for d in /dev/shm/kdq-fuzz-* "${TMPDIR:-/tmp}"/kdq-fuzz-*; do
    [ -d "$d" ] || continue
    kill -0 "${d##*-}" 2>/dev/null || rm -rf "$d"
  done
}
leaks=(); [ "${FUZZ_LEAKS:-each}" = exit ] && leaks=(-detect_leaks=0)
status=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  mkdir -p "$corpus"
  if [ "$seconds" = 0 ]; then
    echo "replaying $t's committed corpus" >&2
    inputs=("Tests/Fuzz/corpus/$t"); limits=(-runs=0)
  else
    echo "fuzzing $t for $seconds s" >&2
    inputs=("$corpus" "Tests/Fuzz/corpus/$t"); limits=(-max_total_time="$seconds")
  fi
  dict=(); [ -f "Tests/Fuzz/dict/$t.dict" ] && dict=(-dict="Tests/Fuzz/dict/$t.dict")
  # One log per run (two runs of a target at once would write into one file), the latest
  # linked as TARGET.log.
  log="$out/$t-$$.log"; ln -sfn "$(basename "$log")" "$out/$t.log"
  KDQ_FUZZ_TARGET="$t" KDQ_FUZZ_FIXTURES="$PWD/Tests/KDQFormatsTests/Fixtures" "$bin" "${inputs[@]}" "${limits[@]}" \
    -rss_limit_mb=2048 -timeout=10 -max_len=262144 -artifact_prefix="$out/crashes/$t-" \
    -print_final_stats=1 "${leaks[@]}" "${dict[@]}" 2>"$log" || { status=1; tail -30 "$log" >&2; }
  clean_scratch
  runs=$(grep -aE "stat::number_of_executed_units" "$log" | awk '{print $2}')
  echo "$t ${runs:-0} executions, corpus $(ls "$corpus" | wc -l) inputs"
  # The running tally behind docs/reliability.md's table (date, target, executions, seconds).
  [ "$seconds" = 0 ] || printf '%s\t%s\t%s\t%s\n' "$(date -u +%F)" "$t" "${runs:-0}" "$seconds" >> "$out/executions.tsv"
done
exit $status
