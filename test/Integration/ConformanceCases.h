//===- ConformanceCases.h - conformance cases every backend runs -*- C++ -*-===//
//
// The case lists the CPU and GPU suites share (masks, varlen batches, paged caches, linear
// attention, ...), for a
// target; each suite adds what is its own (shapes sized to its speed, its decode cases).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_INTEGRATION_CONFORMANCECASES_H
#define ATTN_TEST_INTEGRATION_CONFORMANCECASES_H

#include "ConformanceHarness.h"

namespace attn::conformance {

const char *dtypeName(attn_dtype dtype);
Case makeCase(std::string name, attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv);

/// Every mask kind at Sq = Skv = seq, and at Sq = shortQ < Skv = longKv.
std::vector<Case> maskCases(attn_target target, int64_t seq, int64_t shortQ, int64_t longKv);
/// Per-batch lengths, empty batches among them.
std::vector<Case> varlenCases(attn_target target);
/// Packed (ragged) batches: Q and/or K/V packed, prefill, decode, masks, BHSD strides, empty
/// sequences, many sequences, linear attention.
std::vector<Case> packedCases(attn_target target);
/// attn_launch_args.scale in place of the kernel's: prefill (f32, bf16, softcap), decode, linear.
std::vector<Case> launchScaleCases(attn_target target);
/// Per-head ALiBi slopes and sink logits (attn_problem.alibi, .sinks): prefill with masks,
/// varlen with an empty sequence, f16/bf16 with and without a softcap, split-KV decode, packed.
std::vector<Case> headValueCases(attn_target target);
/// A paged KV cache (SPEC §2; the harness shuffles the pages and poisons every slot that must not
/// be read): page sizes from 1 to 256, decode (split-KV) and prefill against a cache (chunked
/// prefill, Sq < Lkv), each dtype, GQA, masks, varlen with an empty sequence, BHSD-like strides,
/// packed queries, ALiBi and sinks with a window (gpt-oss-like).
std::vector<Case> pagedCases(attn_target target);
/// Each feature map, causal or not, normalized or not, the three dtypes, Dv != D, varlen.
std::vector<Case> linearCases(attn_target target);

} // namespace attn::conformance

#endif // ATTN_TEST_INTEGRATION_CONFORMANCECASES_H
