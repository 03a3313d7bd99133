#!/usr/bin/env bash
# The depth table of docs/distillation.md (issue 13), every row of it, resumable: students of
# base keeping D of its 6 decoder blocks (measured and even choice), distilled on CLIPS clips of
# ../shared/audio/distill/ (never the dev set) with the KL and CE only, with the hidden-state
# term, and with the hidden-state term under dynamic matching; quantization-aware training to
# TARGET MB (the plan from `kdq quantize --target-mb` of the pruned student) against quantizing
# the KL-only student after training to the same encodings (every tensor pinned to the plan's
# encoding with --keep, so the two rows differ only in having trained through them); then one
# `kdq eval --kl` per depth on the dev set with base first (same decoder for every row) and the
# table printed by scripts/depth-table.py. Everything lands in out/depth/; an interrupted run
# continues where it stopped (finished files are kept, training resumes from its checkpoint; the
# evaluation, whose --kl needs every model's encoder pass, starts again).
# Two to three hours of both cores per depth with the defaults (four trainings, two guided
# quantizations, eight models on the dev set).
# Usage: scripts/depth-table.sh [DEPTHS] [CLIPS] [TARGET_MB]   (defaults: "2 3 4" 600 43.5; KDQ=binary to skip the build;
#        QAT=0 leaves out the two quantized rows, about an hour a depth; HIDDEN=0 the two
#        hidden-state rows, UNTRAINED=0 the two untrained students from the evaluation)
set -euo pipefail
cd "$(dirname "$0")/.."
depths="${1:-2 3 4}"; clips="${2:-600}"; target="${3:-43.5}"
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
data=../shared/audio/distill/manifest.jsonl
dev=../shared/audio/dev/manifest.jsonl
out=out/depth
mkdir -p "$out"
common=(--data "$data" --clip-cache out/base-work/clips --limit "$clips" --validation 40 --epochs 8 --batch 16
        --language en --checkpoint-every 20 --patience 2)

distill() {  # TAG STUDENT [kdq distill options...]
  local tag="$1" student="$2"; shift 2
  [ -f "$out/$tag.kdq" ] && return
  local resume=(); [ -f "$out/$tag.work/training.checkpoint" ] && resume=(--resume)
  echo "distilling $tag" >&2
  "$KDQ" distill models/base "$student" -o "$out/$tag.kdq" --work-dir "$out/$tag.work" "${common[@]}" "${resume[@]}" "$@" \
    --json > "$out/$tag.json"
}

quantize() {  # OUTPUT MODEL [kdq quantize options...]: guided to the target size, calibrated on the dev set (as compress does)
  local output="$1" model="$2"; shift 2
  [ -f "$output" ] && return
  echo "quantizing $model to $target MB" >&2
  "$KDQ" quantize "$model" -o "$output" --target-mb "$target" --calibration "$dev" --calibration-count 32 --language en \
    "$@" --json > "$output.json"
}

encodings_of() {  # PLAN: one --keep NAME=ENCODING per tensor the plan stores (computed positions have no bytes to pin)
  "$KDQ" inspect "$1" --json | python3 -c 'import json, sys
for tensor in json.load(sys.stdin)["tensors"]:
    if tensor["encoding"] != "sinusoids": print("--keep", tensor["name"] + "=" + tensor["encoding"])'
}

for d in $depths; do
  for selection in measured even; do
    student="$out/s$d-$selection.kdq"
    [ -f "$student" ] || "$KDQ" student models/base -o "$student" --decoder-layers "$d" --select "$selection" \
      --calibration "$data" --calibration-count 16 --language en --json > "$out/s$d-$selection.json"
  done
  student="$out/s$d-measured.kdq"
  distill "s$d-kd" "$student"
  models=(models/base)
  [ "${UNTRAINED:-1}" != 0 ] && models+=("$out/s$d-even.kdq" "$student")
  models+=("$out/s$d-kd.kdq")
  if [ "${HIDDEN:-1}" != 0 ]; then
    distill "s$d-hidden" "$student" --beta 1 --normalize-hidden
    distill "s$d-hidden-dynamic" "$student" --beta 1 --normalize-hidden --matching dynamic
    models+=("$out/s$d-hidden.kdq" "$out/s$d-hidden-dynamic.kdq")
  fi
  if [ "${QAT:-1}" != 0 ]; then
    quantize "$out/s$d-plan.kdq" "$student"
    distill "s$d-qat" "$student" --plan "$out/s$d-plan.kdq"
    quantize "$out/s$d-ptq.kdq" "$out/s$d-kd.kdq" $(encodings_of "$out/s$d-plan.kdq")
    models+=("$out/s$d-qat.kdq" "$out/s$d-ptq.kdq")
  fi
  if [ ! -f "$out/s$d-eval.json" ]; then
    echo "evaluating depth $d on the dev set" >&2
    "$KDQ" eval --manifest "$dev" $(printf -- '--model %s ' "${models[@]}") --kl --language en \
      --json > "$out/s$d-eval.json.part" && mv "$out/s$d-eval.json.part" "$out/s$d-eval.json"
  fi
done
python3 scripts/depth-table.py $depths
