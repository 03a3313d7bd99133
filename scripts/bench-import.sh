#!/usr/bin/env bash
# Benchmarks `kdq import` on a model: throughput, peak memory, archive size against the raw
# tensor bytes; and, in the same run, a peer doing the plain part of the same job (GNU tar of
# the model directory plus sha256sum of the result). Usage: scripts/bench-import.sh [MODEL] [REPEATS]
source "$(dirname "$0")/bench-setup.sh"
bench_setup 3 "$@"
best_time=999; best_rss=0
for _ in $(seq "$repeats"); do
  rm -f "$out/m.kdq"; sync
  /usr/bin/time -f "%e %M" -o "$out/time" "$kdq" import "$model" -o "$out/m.kdq" >/dev/null
  read -r t rss < "$out/time"
  if (( $(echo "$t < $best_time" | bc -l) )); then best_time=$t; best_rss=$rss; fi
done
peer=999
for _ in $(seq "$repeats"); do
  rm -f "$out/p.tar"; sync
  t0=$(date +%s.%N); tar -cf "$out/p.tar" -C "$model" . && sha256sum "$out/p.tar" >/dev/null; t1=$(date +%s.%N)
  t=$(echo "$t1 - $t0" | bc -l); (( $(echo "$t < $peer" | bc -l) )) && peer=$t
done
tensor_bytes=$("$kdq" inspect "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["tensor_bytes"])')
source_bytes=$(du -cb "$model"/* | tail -1 | cut -f1)
archive=$(stat -c %s "$out/m.kdq")
"$kdq" verify "$out/m.kdq" >/dev/null
echo "model: $model, tensor data $tensor_bytes bytes, source files $source_bytes bytes; best of $repeats"
printf 'kdq import:            %6.3f s  %6.2f GB/s of tensor data   peak RSS %d MB (%.2fx the source)\n' \
  "$best_time" "$(echo "$tensor_bytes / $best_time / 1000000000" | bc -l)" "$((best_rss / 1024))" "$(echo "$best_rss * 1024 / $source_bytes" | bc -l)"
printf 'archive size:          %d bytes = raw tensor bytes + %.2f%%\n' "$archive" "$(echo "($archive - $tensor_bytes) * 100 / $tensor_bytes" | bc -l)"
printf 'peer (tar + sha256sum): %6.3f s  (kdq import takes %.2fx the time)\n' "$peer" "$(echo "$best_time / $peer" | bc -l)"
