#!/usr/bin/env bash
# The GPU check of the CUDA backend (scripts/gpu_check.py has the details).
#
#   scripts/gpu-check.sh [--arch=sm_90a] [--dir=build/gpu-check]
#     on a machine with the compiler: builds attnc and the runtime, compiles every problem of the
#     check into CUDA bundles ahead of time (a few MiB: bundles, libattn_runtime.so, the runtime's
#     sources, gpu_check.py), then runs the check if torch sees a CUDA GPU here; without one it
#     stops there, after checking that the runtime refuses CUDA kernels cleanly.
#   On the lent GPU machine (Python, torch with CUDA, no LLVM), with DIR carried there:
#     python3 DIR/gpu_check.py run DIR --out "$OUT"      (conformance and benchmarks, ~3 min)
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=sm_90a
DIR=build/gpu-check
for arg in "$@"; do
  case "$arg" in
    --arch=*) ARCH="${arg#--arch=}" ;;
    --dir=*) DIR="${arg#--dir=}" ;;
    *) echo "usage: $0 [--arch=sm_80|sm_90a|...] [--dir=DIR]" >&2; exit 1 ;;
  esac
done
BUILD_DIR=${ATTNC_BUILD_DIR:-build}
./scripts/build.sh
python3 scripts/gpu_check.py prepare "$DIR" --arch="$ARCH" --attnc="$BUILD_DIR/bin/attnc" \
  --runtime="$BUILD_DIR/lib/libattn_runtime.so" --runtime-source=runtime
du -sh "$DIR"
if python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null; then
  python3 "$DIR/gpu_check.py" run "$DIR" --out "$DIR/results"
else
  echo "no CUDA GPU here: the check is prepared in $DIR; run it where there is one with"
  echo "  python3 $DIR/gpu_check.py run $DIR --out OUT"
  # Up to the missing driver: the runtime loads the bundles' kind of kernel and refuses it
  # cleanly (ATTN_STATUS_UNSUPPORTED, "no CUDA driver").
  ctest --test-dir "$BUILD_DIR" -R "runtime-cuda-no-driver|cuda_conformance" --output-on-failure
fi
