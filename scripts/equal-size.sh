#!/usr/bin/env bash
# base against tiny.en at equal file sizes, by guided quantization alone: for each size (MB,
# whole file), a guided plan of each model (calibrated on 32 dev utterances as
# scripts/compare-quantization.sh; every candidate run, the k-quants q3_K and q2_K among them
# where rows are whole super-blocks — base's are, tiny.en's 384-wide rows are not), then
# `kdq eval --kl` on the dev set per model (KL from that model's f16). Archives and evaluations
# already in out/equal-size are kept. KDQ=path picks the kdq binary (default: a release build);
# MODELS="tiny.en" limits the models; WEIGHTING=covariance quantizes with GPTQ (`kdq quantize
# --weighting`) into out/equal-size-covariance, and with COVARIANCE_DATA=MANIFEST the decoder's
# covariances from COVARIANCE_CLIPS (default 512) of its clips (`--covariance-data`) into
# out/equal-size-covariance-decoder. CANDIDATES=f16,q8_0,… sets the encodings the plans choose
# among (`--candidates`), into a directory named with them. UNIFORM="q8_0 q5_0" adds whisper.cpp's
# uniform quantizations of each model to its evaluation (the depth table's tiny.en reference rows:
# MODELS=tiny.en UNIFORM="q8_0 q5_0" scripts/equal-size.sh).
# Usage: scripts/equal-size.sh [MB...]   (default: 29.9 43.5)
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] && sizes=("$@") || sizes=(29.9 43.5)
dev=../shared/audio/dev/manifest.jsonl
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
weighting="${WEIGHTING:-activations}"
case "$weighting" in activations|covariance|none) ;; *) echo "equal-size.sh: WEIGHTING is $weighting, expected activations, covariance or none" >&2; exit 2 ;; esac
out=out/equal-size
[ "$weighting" = activations ] || out="$out-$weighting"
decoder=()
if [ -n "${COVARIANCE_DATA:-}" ]; then
  [ "$weighting" = covariance ] || { echo "equal-size.sh: COVARIANCE_DATA is for WEIGHTING=covariance" >&2; exit 2; }
  decoder=(--covariance-data "$COVARIANCE_DATA" --covariance-clips "${COVARIANCE_CLIPS:-512}")
  out="$out-decoder"
fi
[ -z "${CANDIDATES:-}" ] || out="$out-$(echo "$CANDIDATES" | tr ',' '+')"
mkdir -p "$out"
for m in ${MODELS:-base tiny.en}; do
  reuse=()
  models=(--model "models/$m")
  for mb in "${sizes[@]}"; do
    a="$out/$m-guided-$mb.kdq"
    [ -f "$a" ] || "$KDQ" quantize "models/$m" -o "$a" --target-mb "$mb" --calibration "$dev" --calibration-count 32 \
      --language en --weighting "$weighting" "${decoder[@]}" ${CANDIDATES:+--candidates "$CANDIDATES"} "${reuse[@]}" --json > "$out/$m-guided-$mb.json"
    reuse=(--profile-from "$out/$m-guided-${sizes[0]}.kdq")
    models+=(--model "$a")
  done
  for t in ${UNIFORM:-}; do
    a="$out/$m-uniform-$t.kdq"
    [ -f "$a" ] || "$KDQ" quantize "models/$m" -o "$a" --uniform "$t" --json > "$out/$m-uniform-$t.json"
    models+=(--model "$a")
  done
  [ -f "$out/$m-eval.json" ] || "$KDQ" eval --manifest "$dev" "${models[@]}" --kl --language en --json > "$out/$m-eval.json"
done
