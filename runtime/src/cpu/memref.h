//===- memref.h - memref descriptors for the plugin's entry points --------===//
//
// The JIT-compiled entry points follow MLIR's C interface for memrefs
// (attn_jit_plugin.h): these build the descriptors from the caller's buffers.
// The runtime owns none of this memory, so allocated == aligned and offset 0.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CPU_MEMREF_H
#define ATTN_RUNTIME_CPU_MEMREF_H

#include "attn/attn_jit_plugin.h"

#include <array>
#include <cstdint>

namespace attn::rt {

using Dims4 = std::array<int64_t, 4>;

/// A BSHD tensor: the caller's sizes and strides.
inline attn_memref4 tensorMemref(const void *data, const Dims4 &sizes, const int64_t *strides) {
  attn_memref4 memref{};
  memref.allocated = memref.aligned = const_cast<void *>(data);
  for (int d = 0; d < 4; ++d) {
    memref.sizes[d] = sizes[d];
    memref.strides[d] = strides[d];
  }
  return memref;
}

/// A contiguous f32 [B, Sq, Hq, Dv] workspace.
inline attn_memref4 contiguousMemref(float *data, const Dims4 &sizes) {
  const int64_t strides[4] = {sizes[1] * sizes[2] * sizes[3], sizes[2] * sizes[3], sizes[3], 1};
  return tensorMemref(data, sizes, strides);
}

/// LSE / ENTROPY: f32 [B, Hq, Sq], heads `headStride` apart (0 = contiguous: Sq; a sequence
/// of a packed [Hq, Tq] one: Tq). An absent buffer (the problem did not ask for it) gets
/// sizes 0, which the kernel never indexes.
inline attn_memref3 statisticMemref(float *data, int64_t batch, int64_t headsQ, int64_t seqQ,
                                    int64_t headStride = 0) {
  attn_memref3 memref{};
  if (!data)
    return memref;
  memref.allocated = memref.aligned = data;
  memref.sizes[0] = batch;
  memref.sizes[1] = headsQ;
  memref.sizes[2] = seqQ;
  if (headStride == 0)
    headStride = seqQ;
  memref.strides[0] = headsQ * headStride;
  memref.strides[1] = headStride;
  memref.strides[2] = 1;
  return memref;
}

/// A 1-D int32 or f32 array of `count` elements (per-batch lengths [B], per-head ALiBi slopes or
/// sinks [Hq]); an absent one becomes a one-element dummy the kernel never reads (its
/// has_seqlens flag, or the problem without alibi / sinks, tells it not to).
template <typename T>
inline attn_memref1 vectorMemref(const T *data, int64_t count, const T *dummy) {
  attn_memref1 memref{};
  memref.allocated = memref.aligned = const_cast<T *>(data ? data : dummy);
  memref.sizes[0] = data ? count : 1;
  memref.strides[0] = 1;
  return memref;
}

/// A paged KV cache's block table int32 [B, max_pages] (rows `stride` apart), or a one-element
/// dummy the kernel never reads.
inline attn_memref2 blockTableMemref(const int32_t *data, int64_t batch, int64_t maxPages,
                                     int64_t stride) {
  attn_memref2 memref{};
  memref.allocated = memref.aligned = const_cast<int32_t *>(data);
  memref.sizes[0] = batch;
  memref.sizes[1] = maxPages;
  memref.strides[0] = stride;
  memref.strides[1] = 1;
  return memref;
}

} // namespace attn::rt

#endif // ATTN_RUNTIME_CPU_MEMREF_H
