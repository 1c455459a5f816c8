//===- work_split.h - how a softmax launch is cut into work items ---------===//
//
// Prefill has plenty of (batch, kv head, query block) items to keep every
// thread busy: softmax_main runs them. Decode (few query rows, long KV) does
// not: softmax_decode takes every query row of every head of a batch entry at
// once (so K and V stream contiguously) and splits the KV axis instead, and
// merge combines the splits by their LSE (flash-decoding, SPEC section 3).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CPU_WORK_SPLIT_H
#define ATTN_RUNTIME_CPU_WORK_SPLIT_H

#include <cstdint>

namespace attn::rt {

/// Work items of softmax_main: B * Hkv * ceil(Sq / blockQ).
int64_t softmaxItems(int64_t batch, int64_t headsKv, int64_t seqQ, int64_t blockQ);

/// Whether a softmax launch takes softmax_decode + merge: the problem does not
/// ask for entropy (partial results carry none) and a batch entry's query
/// rows over every head, seqQ * headsQ, fit one decode item (decodeMaxRows).
bool usesDecode(int64_t seqQ, int64_t headsQ, int64_t decodeMaxRows, bool wantsEntropy);

/// KV splits of a decode launch: enough (split, batch) items for two per
/// thread, clamp(ceil(2 * threads / batch), 1, max(1, ceil(seqKv /
/// splitKeys))), and 1 on one thread. splitKeys (>= 1) is the kernel's keys per
/// split at least (#attn.cpu_config's split_keys): shorter splits cost more
/// (merge, workspace) than the parallelism they buy.
int64_t chooseDecodeSplits(int64_t batch, int32_t threads, int64_t seqKv, int64_t splitKeys);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CPU_WORK_SPLIT_H
