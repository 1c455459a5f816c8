#!/usr/bin/env bash
# CUDA benchmarks: dense and causal bf16/f16 prefill at D in {64, 128} and S from 1k to 16k,
# sliding window 512, each beside torch's SDPA (flash and cuDNN backends) and FlexAttention in
# the same run, and GQA decode bandwidth beside a device-to-device copy (scripts/gpu_check.py).
# Needs a CUDA GPU and torch; the kernels are compiled ahead of time by scripts/gpu-check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
DIR=${ATTN_GPU_CHECK_DIR:-build/gpu-check}
[ -f "$DIR/gpu_check.py" ] || ./scripts/gpu-check.sh --dir="$DIR" >/dev/null
python3 "$DIR/gpu_check.py" run "$DIR" --bench-only --out "$DIR/results" "$@"
