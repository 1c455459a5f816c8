#!/usr/bin/env bash
# The main job: build attnc, then JIT-compile and run one CPU kernel per attention variant through
# the C API, printing variant, shape, JIT time, run time, GFLOP/s and the error against the oracle.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
echo "== attn-opt --canonicalize examples/mlir/variants.mlir (the variants as attn ops)"
"$BUILD_DIR/bin/attn-opt" --canonicalize examples/mlir/variants.mlir | grep -E "attn\.|func.func"
echo
echo "== attn-demo"
"$BUILD_DIR/bin/attn-demo"
