# Sourced by scripts/sanitize.sh and scripts/fuzz.sh: the sanitizers' runtime options.
SANITIZER_SUPPRESSIONS="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/sanitizers"
export ASAN_SYMBOLIZER_PATH=/usr/lib/llvm-19/bin/llvm-symbolizer
# Leaks are reported: the suite runs clean (libLLVM's and the JIT's process-lifetime allocations
# stay reachable) with one suppression, lavapipe's (test/sanitizers/lsan.supp, with its reason).
# UBSan stops at the first report.
# allow_user_poisoning=0: LLVM's header-only BumpPtrAllocator poisons the unused rest of a slab
# when it is compiled with ASan (our code) but not when it is not (libMLIR): a slab our code
# starts and libMLIR then allocates from (attribute storage of the attn dialect) reads as
# use-after-poison. The poisoning is LLVM's own bookkeeping, not a check of our code.
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1:allow_user_poisoning=0
export LSAN_OPTIONS=suppressions=$SANITIZER_SUPPRESSIONS/lsan.supp
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$SANITIZER_SUPPRESSIONS/ubsan.supp
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$SANITIZER_SUPPRESSIONS/tsan.supp:external_symbolizer_path=$ASAN_SYMBOLIZER_PATH
