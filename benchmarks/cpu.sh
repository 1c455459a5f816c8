#!/usr/bin/env bash
# The CPU headline benchmarks on all cores. Build dir from ATTNC_BUILD_DIR (default build/).
# Ends with: dense_f32_B1_H8_S2048_D128 gflops=G sgemm_gflops=R ratio=G/R
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
FILTER='BM_Dense/0/2048/(64|128)/[01]|BM_Dense/2/2048/128/[01]|BM_Dense/0/16384/128/1|BM_SlidingWindow/[02]/16384/128/512|BM_Linear/0/(2048|16384)/128|BM_DecodeGQA/[02]/16384/128|BM_JitLatency'
exec "$BUILD_DIR/bin/attn-cpu-bench" --benchmark_filter="$FILTER" "$@"
