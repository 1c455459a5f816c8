//===- launch_args.cpp - validation of attn_launch_args -------------------===//

#include "core/launch_args.h"
#include "core/struct_init.h"

#include "core/error.h"
#include "core/problem.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace attn::rt {

namespace {

using Dims = std::array<int64_t, 4>;

long long ll(int64_t value) { return static_cast<long long>(value); }

std::string dimsText(const int64_t *values) {
  return format("[%lld, %lld, %lld, %lld]", ll(values[0]), ll(values[1]), ll(values[2]),
                ll(values[3]));
}

bool isAligned(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

// The largest element offset a tensor reaches, so that no index computed by a
// kernel can overflow int64 (sizes come from the caller and can be anything).
void checkSpan(const char *name, const Dims &sizes, const int64_t *strides, size_t elementSize,
               const char *owner = "attn_launch_args") {
  int64_t span = 0;
  for (int d = 0; d < 4; ++d) {
    int64_t term;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &term) ||
        __builtin_add_overflow(span, term, &span))
      failInvalid(format("%s.%s is too large: sizes %s with strides %s overflow "
                         "int64 offsets",
                         owner, name, dimsText(sizes.data()).c_str(), dimsText(strides).c_str()));
  }
  int64_t bytes;
  if (__builtin_mul_overflow(span + 1, static_cast<int64_t>(elementSize), &bytes))
    failInvalid(format("%s.%s is too large: sizes %s with strides %s overflow "
                       "int64 byte offsets",
                       owner, name, dimsText(sizes.data()).c_str(), dimsText(strides).c_str()));
}

void checkTensor(const char *name, const attn_tensor &tensor, const Dims &sizes, attn_dtype dtype,
                 const char *owner = "attn_launch_args") {
  if (!tensor.data)
    failInvalid(format("%s.%s.data is NULL", owner, name));
  if (tensor.strides[3] != 1)
    failInvalid(format("%s.%s.strides[3] is %lld, expected 1 (the last dim must "
                       "be contiguous)",
                       owner, name, ll(tensor.strides[3])));
  for (int d = 0; d < 3; ++d)
    if (tensor.strides[d] < 0)
      failInvalid(format("%s.%s.strides[%d] is %lld, expected >= 0", owner, name, d,
                         ll(tensor.strides[d])));
  size_t elementSize = dtypeSize(dtype);
  if (!isAligned(tensor.data, elementSize))
    failInvalid(format("%s.%s.data (%p) is not aligned to %zu bytes (the size of "
                       "one %s element)",
                       owner, name, tensor.data, elementSize, dtypeName(dtype)));
  checkSpan(name, sizes, tensor.strides, elementSize, owner);
}

// Work items write the output concurrently, so no two of its elements may
// share memory: with the dims of extent > 1 ordered by stride, each stride
// must step past everything the smaller dims can reach.
void checkNoOverlap(const char *name, const attn_tensor &tensor, const Dims &sizes,
                    const char *owner = "attn_launch_args") {
  std::array<int, 4> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return tensor.strides[a] < tensor.strides[b]; });
  int64_t reach = 0; // the largest offset the dims seen so far can reach
  for (int d : order) {
    if (sizes[d] == 1)
      continue;
    if (tensor.strides[d] <= reach)
      failInvalid(format("%s.%s has overlapping elements: strides %s for sizes %s "
                         "(each output element needs its own memory)",
                         owner, name, dimsText(tensor.strides).c_str(),
                         dimsText(sizes.data()).c_str()));
    reach += (sizes[d] - 1) * tensor.strides[d]; // cannot overflow: checkSpan passed
  }
}

void checkStatistic(const char *name, const float *buffer, int32_t asked, const char *flag) {
  if (asked && !buffer)
    failInvalid(format("attn_launch_args.%s is NULL, but the kernel's problem asks for it "
                       "(attn_problem.%s = 1)",
                       name, flag));
  if (!asked && buffer)
    failInvalid(format("attn_launch_args.%s is set, but the kernel's problem does not ask for "
                       "it (attn_problem.%s = 0); pass NULL",
                       name, flag));
  if (buffer && !isAligned(buffer, alignof(float)))
    failInvalid(format("attn_launch_args.%s (%p) is not aligned to 4 bytes (f32)", name,
                       static_cast<const void *>(buffer)));
}

// Per-query-head values (SPEC §3): ALiBi slopes finite, sinks finite or -inf (no sink).
void checkHeadValues(const char *name, const float *values, int32_t asked, const char *flag,
                     int64_t headsQ, bool negInfOk) {
  checkStatistic(name, values, asked, flag);
  for (int64_t h = 0; values && h < headsQ; ++h)
    if (!(std::isfinite(values[h]) || (negInfOk && values[h] < 0 && std::isinf(values[h]))))
      failInvalid(format("attn_launch_args.%s[%lld] is %g, expected a finite value%s", name, ll(h),
                         static_cast<double>(values[h]), negInfOk ? " (or -inf: no sink)" : ""));
}

void checkSeqlens(const char *name, const int32_t *seqlens, int64_t batch, int64_t limit,
                  const char *limitName) {
  if (!seqlens)
    return;
  if (!isAligned(seqlens, alignof(int32_t)))
    failInvalid(format("attn_launch_args.%s (%p) is not aligned to 4 bytes (int32)", name,
                       static_cast<const void *>(seqlens)));
  for (int64_t b = 0; b < batch; ++b)
    if (seqlens[b] < 0 || seqlens[b] > limit)
      failInvalid(format("attn_launch_args.%s[%lld] is %d, expected 0..%lld (%s)", name, ll(b),
                         seqlens[b], ll(limit), limitName));
}

// A paged KV cache (SPEC §2): the table's shape, the capacity it gives, and every entry a launch
// reads (the first ceil(Lkv / P) of each sequence) a page that exists. Resolves seq_kv (the
// capacity) and block_table_stride.
void checkPaged(const attn_problem &p, attn_launch_args &args) {
  const int64_t P = p.page_size;
  if (!args.block_table)
    failInvalid(format("attn_launch_args.block_table is NULL, but the kernel's problem reads a "
                       "paged KV cache (attn_problem.page_size = %lld)",
                       ll(P)));
  if (!isAligned(args.block_table, alignof(int32_t)))
    failInvalid(format("attn_launch_args.block_table (%p) is not aligned to 4 bytes (int32)",
                       static_cast<const void *>(args.block_table)));
  if (args.max_pages < 1 || args.max_pages > ATTN_MAX_SEQUENCE_LENGTH / P)
    failInvalid(format("attn_launch_args.max_pages is %lld, expected 1..%lld (pages of %lld keys "
                       "per sequence, at most ATTN_MAX_SEQUENCE_LENGTH keys)",
                       ll(args.max_pages), ll(ATTN_MAX_SEQUENCE_LENGTH / P), ll(P)));
  if (args.num_pages < 1 || args.num_pages > INT32_MAX)
    failInvalid(format("attn_launch_args.num_pages is %lld, expected 1..%d (int32 page indices)",
                       ll(args.num_pages), INT32_MAX));
  if (args.block_table_stride == 0)
    args.block_table_stride = args.max_pages;
  if (args.block_table_stride < args.max_pages)
    failInvalid(format("attn_launch_args.block_table_stride is %lld, expected 0 or at least "
                       "max_pages (%lld)",
                       ll(args.block_table_stride), ll(args.max_pages)));
  int64_t tableSpan;
  if (__builtin_mul_overflow(args.batch - 1, args.block_table_stride, &tableSpan) ||
      tableSpan > INT64_MAX / 4 - args.max_pages)
    failInvalid(format("attn_launch_args.block_table is too large: %lld rows of stride %lld",
                       ll(args.batch), ll(args.block_table_stride)));
  const int64_t capacity = args.max_pages * P;
  if (args.seq_kv == 0)
    args.seq_kv = capacity;
  if (args.seq_kv != capacity)
    failInvalid(format("attn_launch_args.seq_kv is %lld, but a paged KV cache holds max_pages x "
                       "page_size = %lld x %lld = %lld keys per sequence (pass that, or 0)",
                       ll(args.seq_kv), ll(args.max_pages), ll(P), ll(capacity)));
}

void checkBlockTable(const attn_problem &p, const attn_launch_args &args) {
  for (int64_t b = 0; b < args.batch; ++b) {
    int64_t length = args.seqlens_kv ? args.seqlens_kv[b] : args.seq_kv;
    const int32_t *row = args.block_table + b * args.block_table_stride;
    for (int64_t i = 0, pages = (length + p.page_size - 1) / p.page_size; i < pages; ++i)
      if (row[i] < 0 || row[i] >= args.num_pages)
        failInvalid(format("attn_launch_args.block_table[%lld][%lld] is %d, expected a page index "
                           "in 0..%lld (num_pages - 1): sequence %lld has %lld keys, so its first "
                           "%lld pages are read",
                           ll(b), ll(i), row[i], ll(args.num_pages - 1), ll(b), ll(length),
                           ll(pages)));
  }
}

// Packed batches (SPEC §2): int32 [B + 1] offsets from 0, non-decreasing, ending within the
// packed tensor's `rows`.
void checkCuSeqlens(const char *name, const int32_t *cu, int64_t batch, int64_t rows,
                    const char *rowsName) {
  if (!isAligned(cu, alignof(int32_t)))
    failInvalid(format("attn_launch_args.%s (%p) is not aligned to 4 bytes (int32)", name,
                       static_cast<const void *>(cu)));
  if (cu[0] != 0)
    failInvalid(format("attn_launch_args.%s[0] is %d, expected 0 (offsets of the packed rows "
                       "start at the first row)",
                       name, cu[0]));
  for (int64_t b = 0; b < batch; ++b)
    if (cu[b + 1] < cu[b])
      failInvalid(format("attn_launch_args.%s[%lld] is %d, less than %s[%lld] = %d (offsets "
                         "must not decrease: sequence %lld would have a negative length)",
                         name, ll(b + 1), cu[b + 1], name, ll(b), cu[b], ll(b)));
  if (cu[batch] > rows)
    failInvalid(format("attn_launch_args.%s[%lld] is %d, past the %lld packed rows (%s)", name,
                       ll(batch), cu[batch], ll(rows), rowsName));
}

void checkLength(int64_t value, const char *name) {
  if (value < 1 || value > ATTN_MAX_SEQUENCE_LENGTH)
    failInvalid(format("attn_launch_args.%s is %lld, expected 1..%d (ATTN_MAX_SEQUENCE_LENGTH)",
                       name, ll(value), ATTN_MAX_SEQUENCE_LENGTH));
}

} // namespace

attn_merge_args validateMergeArgs(const attn_problem &p, const attn_merge_args *in) {
  requireNonNull(in, "args");
  if (in->struct_size < sizeof(attn_merge_args))
    failInvalid(format("attn_merge_args.struct_size is %zu, expected %zu (initialize it with "
                       "attn_merge_args_init)",
                       in->struct_size, sizeof(attn_merge_args)));
  attn_merge_args a = *in;
  if (a.num_parts < 1 || a.num_parts > INT32_MAX)
    failInvalid(
        format("attn_merge_args.num_parts is %lld, expected 1..%d", ll(a.num_parts), INT32_MAX));
  if (a.batch < 1 || a.batch > ATTN_MAX_SEQUENCE_LENGTH)
    failInvalid(format("attn_merge_args.batch is %lld, expected 1..%d", ll(a.batch),
                       ATTN_MAX_SEQUENCE_LENGTH));
  if (a.seq_q < 1 || a.seq_q > ATTN_MAX_SEQUENCE_LENGTH)
    failInvalid(format("attn_merge_args.seq_q is %lld, expected 1..%d", ll(a.seq_q),
                       ATTN_MAX_SEQUENCE_LENGTH));
  const Dims dims = {a.batch, a.seq_q, p.heads_q, p.head_dim_v};
  const char *owner = "attn_merge_args";
  checkTensor("o_parts", a.o_parts, dims, p.dtype, owner);
  checkTensor("o", a.o, dims, p.dtype, owner);
  checkNoOverlap("o", a.o, dims, owner);
  if (a.o_part_stride < 0 || (a.num_parts > 1 && a.o_part_stride == 0))
    failInvalid(format("attn_merge_args.o_part_stride is %lld, expected > 0 (elements between "
                       "parts)",
                       ll(a.o_part_stride)));
  // The last part's span, so that no offset overflows.
  int64_t lastPart;
  if (__builtin_mul_overflow(a.num_parts - 1, a.o_part_stride, &lastPart) ||
      lastPart > INT64_MAX / 4)
    failInvalid(format("attn_merge_args.o_part_stride is too large: %lld parts %lld apart "
                       "overflow int64 offsets",
                       ll(a.num_parts), ll(a.o_part_stride)));
  const int64_t statCount = a.batch * p.heads_q * a.seq_q; // < O's element count: no overflow
  if (!a.lse_parts)
    failInvalid("attn_merge_args.lse_parts is NULL (each part's LSE, f32 [B, Hq, Sq])");
  if (!isAligned(a.lse_parts, alignof(float)))
    failInvalid(format("attn_merge_args.lse_parts (%p) is not aligned to 4 bytes (f32)",
                       static_cast<const void *>(a.lse_parts)));
  if (a.lse_part_stride == 0)
    a.lse_part_stride = statCount;
  int64_t lastLse;
  if (a.lse_part_stride < 0 ||
      __builtin_mul_overflow(a.num_parts - 1, a.lse_part_stride, &lastLse) ||
      lastLse > INT64_MAX / 4)
    failInvalid(format("attn_merge_args.lse_part_stride is %lld, expected 0 (B x Hq x Sq) or a "
                       "positive stride whose parts' offsets fit int64",
                       ll(a.lse_part_stride)));
  if (a.lse && !isAligned(a.lse, alignof(float)))
    failInvalid(format("attn_merge_args.lse (%p) is not aligned to 4 bytes (f32)",
                       static_cast<const void *>(a.lse)));
  // In place is O = part 0 exactly; any other overlap of O with the parts would let a row's
  // writes reach another row's inputs.
  const size_t es = dtypeSize(p.dtype);
  auto span = [&](const attn_tensor &t, int64_t extra) {
    int64_t reach = extra;
    for (int d = 0; d < 4; ++d)
      reach += (dims[d] - 1) * t.strides[d]; // cannot overflow: checkSpan passed
    const char *lo = static_cast<const char *>(t.data);
    return std::pair<const char *, const char *>{lo, lo + (reach + 1) * static_cast<int64_t>(es)};
  };
  const bool samePart0 = a.o.data == a.o_parts.data &&
                         std::memcmp(a.o.strides, a.o_parts.strides, sizeof a.o.strides) == 0;
  auto [partsLo, partsHi] = span(a.o_parts, lastPart);
  auto [oLo, oHi] = span(a.o, 0);
  if (!samePart0 && oLo < partsHi && partsLo < oHi)
    failInvalid("attn_merge_args.o overlaps the parts without being part 0 (in place is o = "
                "o_parts: the same data and strides)");
  return a;
}

uint32_t launchScaleBits(const attn_problem &p, const attn_launch_args &args) {
  const float scale = static_cast<float>(args.scale != 0 ? args.scale : p.scale);
  uint32_t bits;
  std::memcpy(&bits, &scale, sizeof bits);
  return bits;
}

attn_launch_args validateLaunchArgs(const attn_problem &p, const attn_launch_args *in,
                                    bool hostTable) {
  requireNonNull(in, "args");
  if (in->struct_size < kLaunchArgsSizeV1)
    failInvalid(format("attn_launch_args.struct_size is %zu, expected at least %zu "
                       "(initialize it with attn_launch_args_init)",
                       in->struct_size, kLaunchArgsSizeV1));
  // An older header's smaller struct lacks the later fields: they stay 0 (none).
  attn_launch_args args{};
  std::memcpy(&args, in, std::min(in->struct_size, sizeof(args)));
  checkLength(args.batch, "batch");
  checkLength(args.seq_q, "seq_q");
  const bool paged = p.page_size > 0;
  if (paged)
    checkPaged(p, args);
  else if (args.block_table)
    failInvalid("attn_launch_args.block_table is set, but the kernel's problem has no paged KV "
                "cache (attn_problem.page_size = 0); pass NULL");
  checkLength(args.seq_kv, "seq_kv");

  const int64_t B = args.batch, Sq = args.seq_q, Skv = args.seq_kv;
  const bool packedQ = args.cu_seqlens_q != nullptr, packedKv = args.cu_seqlens_kv != nullptr;
  if (packedQ && args.seqlens_q)
    failInvalid("attn_launch_args.seqlens_q and cu_seqlens_q are both set: a packed batch's "
                "lengths are its offsets (pass seqlens_q = NULL)");
  if (packedKv && paged)
    failInvalid("attn_launch_args.cu_seqlens_kv is set, but the kernel's problem reads a paged KV "
                "cache, whose lengths are seqlens_kv (pass cu_seqlens_kv = NULL)");
  if (packedKv && args.seqlens_kv)
    failInvalid("attn_launch_args.seqlens_kv and cu_seqlens_kv are both set: a packed batch's "
                "lengths are its offsets (pass seqlens_kv = NULL)");
  if (packedQ)
    checkCuSeqlens("cu_seqlens_q", args.cu_seqlens_q, B, Sq, "seq_q");
  if (packedKv)
    checkCuSeqlens("cu_seqlens_kv", args.cu_seqlens_kv, B, Skv, "seq_kv");
  // Q/O are [B, Sq, Hq, D|Dv], or [Sq, Hq, D|Dv] packed (a batch of one). K/V are [B, Skv, Hkv,
  // D|Dv], [Skv, Hkv, D|Dv] packed, or the pages [num_pages, page_size, Hkv, D|Dv] of a cache.
  const int64_t qDim0 = packedQ ? 1 : B;
  const int64_t kvDim0 = paged ? args.num_pages : packedKv ? 1 : B;
  const int64_t kvDim1 = paged ? p.page_size : Skv;
  checkTensor("q", args.q, {qDim0, Sq, p.heads_q, p.head_dim}, p.dtype);
  checkTensor("k", args.k, {kvDim0, kvDim1, p.heads_kv, p.head_dim}, p.dtype);
  checkTensor("v", args.v, {kvDim0, kvDim1, p.heads_kv, p.head_dim_v}, p.dtype);
  checkTensor("o", args.o, {qDim0, Sq, p.heads_q, p.head_dim_v}, p.dtype);
  checkNoOverlap("o", args.o, {qDim0, Sq, p.heads_q, p.head_dim_v});

  // LSE/ENTROPY [B, Hq, Sq] ([Hq, Sq] packed) cannot overflow int64 offsets: they have fewer
  // elements than O, whose non-overlapping span was just checked.
  checkStatistic("lse", args.lse, p.return_lse, "return_lse");
  checkStatistic("entropy", args.entropy, p.return_entropy, "return_entropy");
  checkSeqlens("seqlens_q", args.seqlens_q, B, Sq, "seq_q");
  checkSeqlens("seqlens_kv", args.seqlens_kv, B, Skv, "seq_kv");
  if (paged && hostTable)
    checkBlockTable(p, args);
  checkHeadValues("alibi_slopes", args.alibi_slopes, p.alibi, "alibi", p.heads_q,
                  /*negInfOk=*/false);
  checkHeadValues("sinks", args.sinks, p.sinks, "sinks", p.heads_q, /*negInfOk=*/true);
  if (args.scale != 0 &&
      !(std::isfinite(args.scale) && args.scale > 0 &&
        std::isfinite(static_cast<float>(args.scale)) && static_cast<float>(args.scale) > 0))
    failInvalid(format("attn_launch_args.scale is %g, expected 0 (the kernel's, %g) or a finite "
                       "positive f32",
                       args.scale, p.scale));
  if (args.workspace && !isAligned(args.workspace, 64))
    failInvalid(
        format("attn_launch_args.workspace (%p) is not aligned to 64 bytes", args.workspace));
  if (!args.workspace && args.workspace_bytes)
    failInvalid(format("attn_launch_args.workspace_bytes is %zu, but workspace is NULL",
                       args.workspace_bytes));
  args.struct_size = sizeof(attn_launch_args);
  return args;
}

} // namespace attn::rt

using namespace attn::rt;

extern "C" ATTN_API attn_status attn_merge_args_init_sized(attn_merge_args *args,
                                                           size_t structSize) {
  return guard([&] {
    initSized(args, structSize, attn_merge_args{}, sizeof(attn_merge_args), "args");
    return ATTN_STATUS_SUCCESS;
  });
}

extern "C" ATTN_API attn_status attn_launch_args_init_sized(attn_launch_args *args,
                                                            size_t structSize) {
  return guard([&] {
    // Shapes and pointers stay 0/NULL: a launch that forgets one fails
    // validation by name instead of running on a guessed shape.
    initSized(args, structSize, attn_launch_args{}, sizeof(attn_launch_args), "args");
    return ATTN_STATUS_SUCCESS;
  });
}
