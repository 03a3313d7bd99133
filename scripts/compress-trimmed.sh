#!/usr/bin/env bash
# docs/distillation.md, "Trimming the vocabulary to English": kdq compress of base to TARGET_MB
# with its vocabulary trimmed to the words of Debian's wamerican and wbritish lists, trained on
# CLIPS clips of DATA (default ../shared/audio/distill/; labels cached in out/base-work/clips),
# calibrated on 32 dev utterances, then evaluated on the dev set. Resumable: run the same command again.
# Usage: scripts/compress-trimmed.sh [TARGET_MB] [EPOCHS] [CLIPS] [DATA]   (defaults: 29.9 1 600; EPOCHS 0: no training
#        ../shared/audio/distill/manifest.jsonl; KDQ=binary to skip the build; WORDS=small or
#        WORDS=large takes the lists of that size, wamerican-small/-large and wbritish-small/-large;
#        WEIGHTING=covariance rounds with GPTQ, `kdq compress --weighting`, the decoder's covariances
#        from COVARIANCE_CLIPS training clips, default 512, `--covariance-clips`, and with ENCODER_COVARIANCES=clips
#        the encoder's from those clips too, `--encoder-covariances`; CANDIDATES=f16,q8_0,… the
#        encodings the plan chooses among, `--candidates`; CALIBRATION=manifest calibrates on it instead of
#        32 dev utterances, e.g. scripts/calibration-offdev.sh's, so that all 306 are held-out, CALIBRATION_COUNT
#        of its utterances, default 32, `--calibration-count`; SCALING=q3_K
#        folds activation-aware input scales fitted for that encoding into base first, `--input-scaling`)
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-29.9}"; epochs="${2:-1}"; clips="${3:-600}"; data="${4:-../shared/audio/distill/manifest.jsonl}"
case "${WORDS:-}" in ""|small|large) ;; *) echo "compress-trimmed.sh: WORDS is $WORDS, expected small or large (or unset)" >&2; exit 2 ;; esac
case "${WEIGHTING:-activations}" in activations|covariance|none) ;; *) echo "compress-trimmed.sh: WEIGHTING is $WEIGHTING, expected activations, covariance or none" >&2; exit 2 ;; esac
size="${WORDS:+-$WORDS}"
words=("/usr/share/dict/american-english$size" "/usr/share/dict/british-english$size")
for w in "${words[@]}"; do
  [ -f "$w" ] || { echo "installing Debian's word lists (wamerican$size, wbritish$size)" >&2; apt-get install -y -q "wamerican$size" "wbritish$size" >/dev/null; break; }
done
if [ -z "${KDQ:-}" ]; then swift build -c release --product kdq >/dev/null; KDQ=.build/release/kdq; fi
out="out/trimmed/c$target-e$epochs-n$clips"
[ -z "${4:-}" ] || out="$out-$(basename "$(dirname "$data")")"
out="$out$size"
[ "${WEIGHTING:-activations}" = activations ] || out="$out-$WEIGHTING"
[ "${WEIGHTING:-activations}" != covariance ] || out="$out-cc${COVARIANCE_CLIPS:-512}"
[ "${ENCODER_COVARIANCES:-calibration}" = calibration ] || out="$out-enc$ENCODER_COVARIANCES"
[ -z "${CANDIDATES:-}" ] || out="$out-$(echo "$CANDIDATES" | tr ',' '+')"
[ -z "${CALIBRATION:-}" ] || out="$out-cal$(basename "$(dirname "$CALIBRATION")")"
[ -z "${CALIBRATION_COUNT:-}" ] || out="$out-n$CALIBRATION_COUNT"
[ -z "${SCALING:-}" ] || out="$out-awq$SCALING"
mkdir -p "$out"
[ -f "$out/model.kdq" ] || "$KDQ" compress models/base -o "$out/model.kdq" --target-mb "$target" \
  --data "$data" --calibration "${CALIBRATION:-../shared/audio/dev/manifest.jsonl}" ${SCALING:+--input-scaling "$SCALING"} \
  --calibration-count "${CALIBRATION_COUNT:-32}" --limit "$clips" --clip-cache out/base-work/clips --validation 40 --probe-steps 20 \
  --epochs "$epochs" --batch 16 --lr 5e-4 --warmup 5 --depths 6 --patience 1 --language en --train-embeddings \
  --keep-tokens-of "${words[0]}" --keep-tokens-of "${words[1]}" --weighting "${WEIGHTING:-activations}" --covariance-clips "${COVARIANCE_CLIPS:-512}" \
  --encoder-covariances "${ENCODER_COVARIANCES:-calibration}" ${CANDIDATES:+--candidates "$CANDIDATES"} --work-dir "$out/work" --json > "$out/compress.json"
"$KDQ" eval --manifest ../shared/audio/dev/manifest.jsonl --model "$out/model.kdq" --language en \
  --out "$out/eval.jsonl" --json > "$out/eval.json"
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/compress.json")); m = json.load(open(sys.argv[1] + "/eval.json"))["models"][0]
o = d['outcome']; trained = "untrained" if o['trained_kl'] is None else f"{o['trained_kl']:.4f}"
print(f"{d['archive_bytes'] / 1e6:.2f} MB, {d['bits_per_weight']:.2f} bits/weight, training {o['kept']} "
      f"(calibration KL {o['start_kl']:.4f} -> {trained}); dev WER {m['wer']:.2f} "
      f"({m['wer_ci95'][0]:.2f}-{m['wer_ci95'][1]:.2f}), CER {m['cer']:.2f}")
PY
