#!/usr/bin/env bash
# The main job: build attnc, then run every attention variant in examples/ through attn-opt's
# verifier and canonicalizer, printing each variant's canonical form.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
echo "== attn-opt --canonicalize examples/mlir/variants.mlir"
"$BUILD_DIR/bin/attn-opt" --canonicalize examples/mlir/variants.mlir
