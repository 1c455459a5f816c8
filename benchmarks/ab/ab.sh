#!/usr/bin/env bash
# Interleaved A/B of two builds of one CPU kernel: the way to tell whether a change to a kernel
# generator moved its speed on these noisy machines (absolute times drift by ±20% within minutes;
# alternating launches of A and B in one process see the same drift).
#   ATTNC_A, ATTNC_B   the attnc binaries (default: build/bin/attnc for both)
#   FLAGS_A, FLAGS_B   extra attnc flags per side (e.g. a .mlir file with a #attn.cpu_config)
#   AB_SIZES           "BATCH SEQ_Q SEQ_KV REPS" (default "1 2048 2048 15")
#   ENV_A, ENV_B       environment for each attnc run, as VAR=value words
# The remaining arguments are the problem, as attnc takes it (default: bf16, 8 heads, D 128).
# Example: ATTNC_A=/tmp/old/bin/attnc benchmarks/ab/ab.sh --dtype=bf16 --heads-q=8 --head-dim=128
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${ATTNC_BUILD_DIR:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ $# -gt 0 ] || set -- --dtype=bf16 --heads-q=8 --head-dim=128
for side in a b; do
  if [ $side = a ]; then bin=${ATTNC_A:-$build/bin/attnc} flags=${FLAGS_A:-} envs=${ENV_A:-}
  else bin=${ATTNC_B:-$build/bin/attnc} flags=${FLAGS_B:-} envs=${ENV_B:-}; fi
  # shellcheck disable=SC2086
  env $envs "$bin" "$@" $flags --emit=obj --name=k$side \
    --header="$work/k$side.h" -o "$work/k$side.o"
done
cc -O2 -I"$work" -I"$root/runtime/include" "$root/benchmarks/ab/ab_driver.c" "$work/ka.o" \
  "$work/kb.o" -L"$build/lib" -lattn_runtime -Wl,-rpath,"$build/lib" -lpthread -lm \
  -o "$work/ab_driver"
# shellcheck disable=SC2086
"$work/ab_driver" ${AB_SIZES:-1 2048 2048 15}
