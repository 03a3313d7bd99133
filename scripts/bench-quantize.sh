#!/usr/bin/env bash
# How fast kdq encodes: `kdq import MODEL --dtype T` for every ggml block type, timing the
# conversion step alone (reported by the command; no calibration is involved) against the f16
# bytes of the matrices it quantizes. Usage: scripts/bench-quantize.sh [MODEL] [REPEATS]
source "$(dirname "$0")/bench-setup.sh"
bench_setup 3 "$@"
input=$("$kdq" inspect "$model" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(t["bytes"] for t in d["tensors"] if len(t["shape"]) == 2 and t["name"].endswith(".weight")))')
echo "model: $model, $input bytes of f16 weight matrices quantized; best of $repeats, $(nproc) cores"
for t in q8_0 q5_1 q5_0 q4_1 q4_0; do
  best=999
  for _ in $(seq "$repeats"); do
    s=$("$kdq" import "$model" -o "$out/m.kdq" --dtype "$t" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["convert_seconds"])')
    (( $(echo "$s < $best" | bc -l) )) && best=$s
  done
  printf '%-5s %6.3f s  %5.2f GB/s of f16 input\n' "$t" "$best" "$(echo "$input / $best / 1000000000" | bc -l)"
done
