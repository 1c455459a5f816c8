#!/usr/bin/env bash
# Builds attnc with sanitizers and runs its tests under them (clang-19; see README, "Fuzzing and
# sanitizers"):
#   scripts/sanitize.sh asan   ASan+UBSan in build-asan: the whole ctest suite, the fuzzers'
#                              smoke runs included (ATTN_ENABLE_FUZZERS is on there)
#   scripts/sanitize.sh tsan   TSan in build-tsan: the runtime's tests (C API, concurrency,
#                              internals), the only code of the project that runs threads of its own
# ATTNC_SANITIZE_BUILD_DIR overrides the build directory.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-asan}
./scripts/install-deps.sh
source scripts/sanitizer-env.sh

case "$mode" in
asan)
  dir=${ATTNC_SANITIZE_BUILD_DIR:-build-asan}
  cmake -S . -B "$dir" -G Ninja -DATTN_SANITIZE=address,undefined -DATTN_ENABLE_FUZZERS=ON
  cmake --build "$dir"
  # Three tests run uninstrumented programs on the instrumented libattn_runtime: python-bindings
  # and gpu-check-harness (python3) and install-engine-example (a C program built with the
  # system cc). There the ASan
  # runtime must be the first library (LD_PRELOAD), and leaks are not looked for: CPython, cc and
  # the other tools in those tests keep memory until exit by design.
  preloaded='^(python-bindings|install-engine-example|gpu-check-harness)$'
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -E "$preloaded"
  LD_PRELOAD=$(clang++-19 -print-file-name=libclang_rt.asan-x86_64.so) \
    ASAN_OPTIONS=$ASAN_OPTIONS:detect_leaks=0 \
    ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -R "$preloaded"
  ;;
tsan)
  dir=${ATTNC_SANITIZE_BUILD_DIR:-build-tsan}
  cmake -S . -B "$dir" -G Ninja -DATTN_SANITIZE=thread -DATTN_ENABLE_PYTHON=OFF
  # What the runtime tests run: the tests, the compiler plugin they JIT with, attnc for bundles.
  cmake --build "$dir" --target attn-runtime-test attn-runtime-internal-test attn-runtime-c99-check \
    attn-vulkan-interop-test \
    attn_runtime attn_jit attnc
  ctest --test-dir "$dir" --output-on-failure -j "$(nproc)" -R '^runtime'
  ;;
*)
  echo "usage: $0 [asan|tsan]" >&2
  exit 2
  ;;
esac
