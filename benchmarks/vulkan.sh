#!/usr/bin/env bash
# Vulkan backend benchmarks on the default Vulkan device (ATTN_VULKAN_DEVICE=N picks another),
# each figure beside attnc's CPU backend on the same problem in the same run. Build dir from
# ATTNC_BUILD_DIR (default build/). On lavapipe it proves the path; on a GPU it is the figure
# (the CUDA GPU check calls this script too). Arguments go to benchmarks/vulkan_bench.py
# (--quick: small shapes; --reps N).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
vulkaninfo --summary 2>/dev/null | grep -E "deviceName|driverName" || true
PYTHONPATH="$BUILD_DIR/python${PYTHONPATH:+:$PYTHONPATH}" exec python3 benchmarks/vulkan_bench.py "$@"
