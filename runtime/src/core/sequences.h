//===- sequences.h - one sequence of a launch as a launch of its own ------===//
//
// A packed (ragged) batch (SPEC §2: cu_seqlens_q / cu_seqlens_kv) has no batch stride: sequence
// b's rows start at cu[b]. The kernels address [B, S, H, D] views, so a packed launch runs each
// sequence on a batch-of-one view of its own rows: no padding exists, none is read or written,
// and every kernel takes packed inputs without a recompile. The CPU backend cuts its work items
// over those views (cpu/launch.cpp); the other backends launch sequence by sequence (kernel.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_SEQUENCES_H
#define ATTN_RUNTIME_CORE_SEQUENCES_H

#include "attn/attn_runtime.h"
#include "core/problem.h"

#include <cstdint>

namespace attn::rt {

/// Whether a validated launch has packed queries or keys.
inline bool isPacked(const attn_launch_args &a) { return a.cu_seqlens_q || a.cu_seqlens_kv; }

/// Query rows sequence b has (its length, not the padded extent).
inline int64_t queryLength(const attn_launch_args &a, int64_t b) {
  if (a.cu_seqlens_q)
    return a.cu_seqlens_q[b + 1] - a.cu_seqlens_q[b];
  return a.seqlens_q ? a.seqlens_q[b] : a.seq_q;
}

/// Keys sequence b has.
inline int64_t keyLength(const attn_launch_args &a, int64_t b) {
  if (a.cu_seqlens_kv)
    return a.cu_seqlens_kv[b + 1] - a.cu_seqlens_kv[b];
  return a.seqlens_kv ? a.seqlens_kv[b] : a.seq_kv;
}

/// Elements between the heads of LSE / ENTROPY: [B, Hq, Sq], or [Hq, Tq] packed.
inline int64_t statHeadStride(const attn_launch_args &a) { return a.seq_q; }

/// Sequence b of a validated launch as a validated launch of batch one: every pointer moved to
/// the sequence's first row (its batch entry, or cu[b] packed), packed extents cut to the
/// sequence's length, per-batch lengths and the block table to its entry. LSE / ENTROPY point at
/// the sequence's first row of head 0, statHeadStride(whole) elements apart per head (for a
/// padded launch that is the view's own seq_q; packed, the caller must honour it). A sequence
/// without keys gets seq_kv 1 and a length of 0 (never read). Lq == 0 is the caller's to skip.
inline attn_launch_args sequenceView(const attn_problem &p, const attn_launch_args &a, int64_t b) {
  static const int32_t kNoKeys = 0;
  const size_t esize = dtypeSize(p.dtype);
  auto moved = [esize](attn_tensor t, int64_t elements) {
    t.data = static_cast<char *>(t.data) + elements * static_cast<int64_t>(esize);
    return t;
  };
  attn_launch_args v = a;
  v.batch = 1;
  v.cu_seqlens_q = v.cu_seqlens_kv = nullptr;
  if (a.cu_seqlens_q) {
    const int64_t row = a.cu_seqlens_q[b];
    v.q = moved(a.q, row * a.q.strides[1]);
    v.o = moved(a.o, row * a.o.strides[1]);
    v.seq_q = queryLength(a, b);
    v.lse = a.lse ? a.lse + row : nullptr;
    v.entropy = a.entropy ? a.entropy + row : nullptr;
  } else {
    v.q = moved(a.q, b * a.q.strides[0]);
    v.o = moved(a.o, b * a.o.strides[0]);
    v.seqlens_q = a.seqlens_q ? a.seqlens_q + b : nullptr;
    v.lse = a.lse ? a.lse + b * p.heads_q * a.seq_q : nullptr;
    v.entropy = a.entropy ? a.entropy + b * p.heads_q * a.seq_q : nullptr;
  }
  if (a.cu_seqlens_kv) {
    const int64_t row = a.cu_seqlens_kv[b], keys = keyLength(a, b);
    v.k = moved(a.k, row * a.k.strides[1]);
    v.v = moved(a.v, row * a.v.strides[1]);
    v.seq_kv = keys > 0 ? keys : 1;
    v.seqlens_kv = keys > 0 ? nullptr : &kNoKeys;
  } else if (p.page_size > 0) {
    v.block_table = a.block_table + b * a.block_table_stride; // the pages stay where they are
    v.seqlens_kv = a.seqlens_kv ? a.seqlens_kv + b : nullptr;
  } else {
    v.k = moved(a.k, b * a.k.strides[0]);
    v.v = moved(a.v, b * a.v.strides[0]);
    v.seqlens_kv = a.seqlens_kv ? a.seqlens_kv + b : nullptr;
  }
  return v;
}

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_SEQUENCES_H
