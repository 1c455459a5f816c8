//===- work_split.h - how a softmax launch is cut into work items ---------===//
//
// Prefill has plenty of (batch, kv head, query block) items to keep every
// thread busy. Decode (few query rows, long KV) does not: there the KV axis is
// split too, and the partial results are merged by their LSE (flash-decoding,
// SPEC section 3).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CPU_WORK_SPLIT_H
#define ATTN_RUNTIME_CPU_WORK_SPLIT_H

#include <cstdint>

namespace attn::rt {

/// Keys per split below which splitting costs more (merge, workspace) than the
/// parallelism it buys.
constexpr int64_t kMinKeysPerSplit = 512;

/// Work items of softmax_main: B * Hkv * ceil(Sq / blockQ).
int64_t softmaxItems(int64_t batch, int64_t headsKv, int64_t seqQ, int64_t blockQ);

/// How many KV splits to run: 1 = none. Splits only when there are too few
/// items for the threads, the KV sequence is long (>= 2 * kMinKeysPerSplit),
/// the problem does not ask for entropy (partials carry no entropy) and there
/// is more than one thread to gain from it.
int64_t chooseNumSplits(int64_t items, int32_t threads, int64_t seqKv, bool wantsEntropy);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CPU_WORK_SPLIT_H
