#!/usr/bin/env bash
# The autotuner on the Vulkan device the runtime opens (ATTN_VULKAN_DEVICE picks one; lavapipe
# here): attnc tune --target=vulkan --preset=headline, then each tuned kernel against the
# heuristic one in a second, independent measurement: both built as bundles for this device
# (--vulkan-device=local, B with the database), loaded into one process and launched alternately
# (benchmarks/ab_bundles.py). Prints tune's own report (heuristic vs chosen, same run) and B/A.
#   TUNE_SHAPES  the shapes to tune at (default: "1x128x128 4x1x1024", sized for lavapipe)
#   TUNE_FLAGS   extra attnc tune flags (default: --reps=5 --warmup=1)
#   TUNE_DB      the database (default: a temporary file; an existing one skips the sweep)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ATTNC_BUILD_DIR:-$root/build}
attnc=$build/bin/attnc
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=${TUNE_DB:-$work/tune.db}
shapes=${TUNE_SHAPES:-1x128x128 4x1x1024}
shape_flags=()
for s in $shapes; do shape_flags+=("--shape=$s"); done
if [ ! -e "$db" ]; then
  echo "== attnc tune --target=vulkan --preset=headline ${shape_flags[*]} ${TUNE_FLAGS:---reps=5 --warmup=1}"
  # shellcheck disable=SC2086
  "$attnc" tune --target=vulkan --preset=headline "${shape_flags[@]}" --db "$db" \
    ${TUNE_FLAGS:---reps=5 --warmup=1}
fi
"$attnc" tune show --db "$db"
source "$root/benchmarks/headline-problems.sh"
for shape in $shapes; do
  IFS=x read -r b sq skv <<<"$shape"
  echo "== B (tuned) / A (heuristic), alternating in one process, at ${b}x${sq}x${skv}"
  for p in "${headline_problems[@]}"; do
    [ "$sq" -le 2 ] && [[ $p == *linear* ]] && continue
    echo "-- $p"
    # shellcheck disable=SC2086
    env -u ATTN_TUNING_DB "$attnc" --target=vulkan --vulkan-device=local --emit=bundle $p -o "$work/a.attnb"
    # shellcheck disable=SC2086
    "$attnc" --target=vulkan --vulkan-device=local --emit=bundle --db "$db" $p -o "$work/b.attnb"
    PYTHONPATH="$build/python${PYTHONPATH:+:$PYTHONPATH}" \
      python3 "$root/benchmarks/ab_bundles.py" "$work/a.attnb" "$work/b.attnb" "$b" "$sq" "$skv" \
      "${AB_REPS:-7}"
  done
done
