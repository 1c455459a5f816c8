#!/usr/bin/env bash
# The CPU headline benchmarks on all cores. Build dir from ATTNC_BUILD_DIR (default build/).
# Ends with: dense_f32_B1_H8_S2048_D128 gflops=G sgemm_gflops=R ratio=G/R
# Then, where a Python with torch is found (ATTNC_TORCH_PYTHON, else the venv that
# benchmarks/torch-venv.sh makes, else python3), attnc beside torch's SDPA / FlexAttention on the
# same shapes and threads (benchmarks/torch_compare.py; ATTNC_TORCH=0 skips it, extra arguments
# for it in ATTNC_TORCH_ARGS, e.g. "--quick --no-flex").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
FILTER='BM_MetricsOverhead|BM_Dense/0/2048/(64|128)/[01]|BM_Dense/2/2048/128/[01]|BM_Dense/0/16384/128/1|BM_SlidingWindow/[02]/16384/128/512|BM_Linear/0/(2048|16384)/128|BM_DecodeGQA/[02]/16384/128|BM_JitLatency'
"$BUILD_DIR/bin/attn-cpu-bench" --benchmark_filter="$FILTER" "$@"

[ "${ATTNC_TORCH:-1}" = 0 ] && exit 0
for python in "${ATTNC_TORCH_PYTHON:-}" "$HOME/.cache/attnc-bench-venv/bin/python" python3; do
  if [ -n "$python" ] && "$python" -c "import torch, ml_dtypes" 2>/dev/null; then
    echo
    echo "== attnc beside torch (same shapes, same threads, same run)"
    # shellcheck disable=SC2086
    PYTHONPATH="$BUILD_DIR/python${PYTHONPATH:+:$PYTHONPATH}" \
      exec "$python" benchmarks/torch_compare.py ${ATTNC_TORCH_ARGS:-}
  fi
done
echo
echo "(no Python with torch and ml_dtypes: benchmarks/torch-venv.sh makes one for the comparison)"
