//===- AsanOptions.h - ASan defaults of the fuzzers that link libMLIR ------===//
//
// LLVM's header-only BumpPtrAllocator poisons the unused rest of a slab when compiled with ASan
// (this fuzzer) and not when compiled without (libMLIR, which allocates from the same slabs for
// attribute storage): without allow_user_poisoning=0 that bookkeeping reads as use-after-poison.
// A default, so that a fuzzer run by hand behaves as under scripts/fuzz.sh (ASAN_OPTIONS still
// overrides it). Include in exactly one file of a fuzzer.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_FUZZ_ASANOPTIONS_H
#define ATTN_TEST_FUZZ_ASANOPTIONS_H

extern "C" const char *__asan_default_options() { return "allow_user_poisoning=0"; }

#endif // ATTN_TEST_FUZZ_ASANOPTIONS_H
