#!/usr/bin/env bash
# The autotuner on the headline CPU problems (attnc tune --preset=headline), then each tuned
# kernel against the heuristic one in a second, independent measurement: benchmarks/ab/ab.sh
# links both (A: heuristic, B: built with ATTN_TUNING_DB) into one process and alternates their
# launches. Prints tune's own report (heuristic vs chosen, same run) and B/A per problem.
#   TUNE_SHAPES  the shapes to tune at (default: "1x1024x1024 4x1x4096")
#   TUNE_FLAGS   extra attnc tune flags (e.g. --reps=5 --max-configs=8)
#   TUNE_DB      the database (default: a temporary file)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTNC_BUILD_DIR:-$root/build}
attnc=$build/bin/attnc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=${TUNE_DB:-$work/tune.db}
shape_flags=()
for s in ${TUNE_SHAPES:-1x1024x1024 4x1x4096}; do shape_flags+=("--shape=$s"); done
echo "== attnc tune --preset=headline ${shape_flags[*]} ${TUNE_FLAGS:-} ($(nproc) threads)"
# shellcheck disable=SC2086
"$attnc" tune --preset=headline "${shape_flags[@]}" --db "$db" ${TUNE_FLAGS:-}
"$attnc" tune show --db "$db"
source "$root/benchmarks/headline-problems.sh"
for shape in ${TUNE_SHAPES:-1x1024x1024 4x1x4096}; do
  IFS=x read -r b sq skv <<<"$shape"
  echo "== B (tuned) / A (heuristic), interleaved in one process, at ${b}x${sq}x${skv}"
  for p in "${headline_problems[@]}"; do
    [ "$sq" -le 2 ] && [[ $p == *linear* ]] && continue
    printf '%-66s ' "$p"
    # shellcheck disable=SC2086
    ENV_B="ATTN_TUNING_DB=$db" AB_SIZES="$b $sq $skv ${AB_REPS:-9}" "$root/benchmarks/ab/ab.sh" $p |
      tail -n 1
  done
done
