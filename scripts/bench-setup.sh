# Sourced by the bench-*.sh scripts: from the package root, takes MODEL (default models/base)
# and REPEATS (default $1) from the script's arguments, builds kdq in release mode, and makes
# a scratch folder removed on exit. Sets: model, repeats, kdq, out.
set -euo pipefail
cd "$(dirname "$0")/.."
bench_setup() { # default_repeats model_arg repeats_arg
  model="${2:-models/base}"; repeats="${3:-$1}"
  swift build -c release --product kdq >/dev/null
  kdq=.build/release/kdq
  out="$(mktemp -d)"; trap 'rm -rf "$out"' EXIT
}
