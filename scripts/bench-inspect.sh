#!/usr/bin/env bash
# Benchmarks `kdq inspect` (headers only, and --stats) on a model, against a numpy peer that
# parses the same CTranslate2 model.bin and computes the same statistics, in one run.
# Usage: scripts/bench-inspect.sh [MODEL_DIR] [REPEATS]   (default models/base, 5)
source "$(dirname "$0")/bench-setup.sh"
bench_setup 5 "$@"
best() { # command... -> best wall time in seconds over $repeats runs
  local best=999 t0 t1 t
  for _ in $(seq "$repeats"); do
    t0=$(date +%s.%N); "$@" >/dev/null; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l); (( $(echo "$t < $best" | bc -l) )) && best=$t
  done
  printf '%.4f' "$best"
}
bytes=$("$kdq" inspect "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tensor_bytes"])')
headers=$(best "$kdq" inspect "$model")
stats=$(best "$kdq" inspect "$model" --stats)
peer=$(best python3 scripts/peer_ct2_stats.py "$model/model.bin")
gbps=$(echo "$bytes / ($stats - $headers) / 1000000000" | bc -l)
echo "model: $model ($bytes bytes of tensor data), best of $repeats, $(nproc) cores"
printf 'kdq inspect (headers only):   %8.3f s\n' "$headers"
printf 'kdq inspect --stats:          %8.3f s   (%.2f GB/s of tensor data beyond the header pass)\n' "$stats" "$gbps"
printf 'numpy peer (parse + stats):   %8.3f s   (kdq --stats is %.1fx faster)\n' "$peer" "$(echo "$peer / $stats" | bc -l)"
