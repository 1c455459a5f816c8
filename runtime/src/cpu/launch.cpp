//===- launch.cpp - running a compiled kernel on the CPU ------------------===//
//
// Builds the memref descriptors once per launch, then hands item ranges to the
// context's parallel-for. Each task call copies the descriptors and builds its
// own params memref on its stack: calls run concurrently, and the entry points
// take non-const descriptor pointers.
//
//===----------------------------------------------------------------------===//

#include "cpu/launch.h"

#include "core/context.h"
#include "core/error.h"
#include "cpu/memref.h"
#include "cpu/work_split.h"

#include <memory>
#include <new>

namespace attn::rt {

namespace {

struct Params {
  int64_t values[ATTN_PARAM_COUNT];
  attn_memref1 memref;

  Params(int64_t begin, int64_t end, int64_t hasSeqlensQ, int64_t hasSeqlensKv, int64_t numSplits)
      : values{begin, end, hasSeqlensQ, hasSeqlensKv, numSplits}, memref{} {
    memref.allocated = memref.aligned = values;
    memref.sizes[0] = ATTN_PARAM_COUNT;
    memref.strides[0] = 1;
  }
};

// One parallel-for over softmax_main or softmax_partial.
struct SoftmaxCall {
  attn_softmax_fn fn;
  attn_memref4 q, k, v, o;
  attn_memref3 lse, entropy;
  attn_memref1 seqlensQ, seqlensKv;
  int64_t hasSeqlensQ, hasSeqlensKv, numSplits;

  static void run(void *self, int64_t begin, int64_t end) {
    SoftmaxCall c = *static_cast<const SoftmaxCall *>(self);
    Params params(begin, end, c.hasSeqlensQ, c.hasSeqlensKv, c.numSplits);
    c.fn(&c.q, &c.k, &c.v, &c.o, &c.lse, &c.entropy, &c.seqlensQ, &c.seqlensKv, &params.memref);
  }
};

// One parallel-for over merge: partial results -> the caller's O and LSE.
struct MergeCall {
  attn_merge_fn fn;
  attn_memref4 oParts;
  attn_memref3 lseParts;
  attn_memref4 o;
  attn_memref3 lse;
  attn_memref1 seqlensQ;
  int64_t hasSeqlensQ, hasSeqlensKv, numSplits;

  static void run(void *self, int64_t begin, int64_t end) {
    MergeCall c = *static_cast<const MergeCall *>(self);
    Params params(begin, end, c.hasSeqlensQ, c.hasSeqlensKv, c.numSplits);
    c.fn(&c.oParts, &c.lseParts, &c.o, &c.lse, &c.seqlensQ, &params.memref);
  }
};

struct LinearCall {
  attn_linear_fn fn;
  attn_memref4 q, k, v, o;
  attn_memref1 seqlensQ, seqlensKv;
  int64_t hasSeqlensQ, hasSeqlensKv;

  static void run(void *self, int64_t begin, int64_t end) {
    LinearCall c = *static_cast<const LinearCall *>(self);
    Params params(begin, end, c.hasSeqlensQ, c.hasSeqlensKv, /*numSplits=*/1);
    c.fn(&c.q, &c.k, &c.v, &c.o, &c.seqlensQ, &c.seqlensKv, &params.memref);
  }
};

struct AlignedFree {
  void operator()(float *data) const { ::operator delete[](data, std::align_val_t(64)); }
};
using AlignedFloats = std::unique_ptr<float[], AlignedFree>;

// Cache-line aligned so the kernels' vector loads of partial rows never split
// lines; freed when the launch returns.
AlignedFloats allocateFloats(int64_t count) {
  int64_t bytes;
  if (__builtin_mul_overflow(count, static_cast<int64_t>(sizeof(float)), &bytes))
    fail(ATTN_STATUS_OUT_OF_MEMORY, "the split-KV workspace size overflows int64");
  try {
    return AlignedFloats(
        static_cast<float *>(::operator new[](static_cast<size_t>(bytes), std::align_val_t(64))));
  } catch (const std::bad_alloc &) {
    fail(ATTN_STATUS_OUT_OF_MEMORY,
         format("out of memory allocating the %lld-byte split-KV workspace",
                static_cast<long long>(bytes)));
  }
}

// Split-KV (flash-decoding): partial results per KV split into an f32
// workspace, then a merge by LSE into the caller's O and LSE.
void launchSplitSoftmax(ContextState &context, const CompiledKernel &kernel,
                        const SoftmaxCall &main, int64_t items, int64_t numSplits,
                        const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const int64_t partsBatch = numSplits * args.batch;
  int64_t oCount, lseCount;
  if (__builtin_mul_overflow(partsBatch, args.seq_q * p.heads_q * p.head_dim_v, &oCount) ||
      __builtin_mul_overflow(partsBatch, p.heads_q * args.seq_q, &lseCount))
    fail(ATTN_STATUS_OUT_OF_MEMORY, "the split-KV workspace size overflows int64");
  AlignedFloats oParts = allocateFloats(oCount);
  AlignedFloats lseParts = allocateFloats(lseCount);

  SoftmaxCall partial = main;
  partial.fn = kernel.entry().softmax_partial;
  partial.o = contiguousMemref(oParts.get(), {partsBatch, args.seq_q, p.heads_q, p.head_dim_v});
  partial.lse = statisticMemref(lseParts.get(), partsBatch, p.heads_q, args.seq_q);
  partial.entropy = statisticMemref(nullptr, 0, 0, 0);
  partial.numSplits = numSplits;
  context.parallelFor(numSplits * items, &SoftmaxCall::run, &partial);

  MergeCall merge{};
  merge.fn = kernel.entry().merge;
  merge.oParts = partial.o;
  merge.lseParts = partial.lse;
  merge.o = main.o;
  merge.lse = main.lse;
  merge.seqlensQ = main.seqlensQ;
  merge.hasSeqlensQ = main.hasSeqlensQ;
  merge.hasSeqlensKv = main.hasSeqlensKv;
  merge.numSplits = numSplits;
  context.parallelFor(args.batch * args.seq_q, &MergeCall::run, &merge);
}

} // namespace

void launchOnCpu(ContextState &context, const CompiledKernel &kernel,
                 const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const attn_jit_kernel &entry = kernel.entry();
  const int64_t B = args.batch, Sq = args.seq_q, Skv = args.seq_kv;
  const int32_t noSeqlens = 0; // what an absent seqlens descriptor points at

  attn_memref4 q = tensorMemref(args.q.data, {B, Sq, p.heads_q, p.head_dim}, args.q.strides);
  attn_memref4 k = tensorMemref(args.k.data, {B, Skv, p.heads_kv, p.head_dim}, args.k.strides);
  attn_memref4 v = tensorMemref(args.v.data, {B, Skv, p.heads_kv, p.head_dim_v}, args.v.strides);
  attn_memref4 o = tensorMemref(args.o.data, {B, Sq, p.heads_q, p.head_dim_v}, args.o.strides);
  attn_memref1 seqlensQ = seqlensMemref(args.seqlens_q, B, &noSeqlens);
  attn_memref1 seqlensKv = seqlensMemref(args.seqlens_kv, B, &noSeqlens);
  const int64_t hasSeqlensQ = args.seqlens_q != nullptr;
  const int64_t hasSeqlensKv = args.seqlens_kv != nullptr;

  if (p.variant == ATTN_VARIANT_LINEAR) {
    LinearCall call{entry.linear, q, k, v, o, seqlensQ, seqlensKv, hasSeqlensQ, hasSeqlensKv};
    context.parallelFor(B * p.heads_kv, &LinearCall::run, &call);
    return;
  }

  SoftmaxCall main{};
  main.fn = entry.softmax_main;
  main.q = q;
  main.k = k;
  main.v = v;
  main.o = o;
  main.lse = statisticMemref(args.lse, B, p.heads_q, Sq);
  main.entropy = statisticMemref(args.entropy, B, p.heads_q, Sq);
  main.seqlensQ = seqlensQ;
  main.seqlensKv = seqlensKv;
  main.hasSeqlensQ = hasSeqlensQ;
  main.hasSeqlensKv = hasSeqlensKv;
  main.numSplits = 1;
  const int64_t items = softmaxItems(B, p.heads_kv, Sq, entry.block_q);
  const int64_t numSplits =
      chooseNumSplits(items, context.concurrency(), Skv, p.return_entropy != 0);
  if (numSplits > 1)
    launchSplitSoftmax(context, kernel, main, items, numSplits, args);
  else
    context.parallelFor(items, &SoftmaxCall::run, &main);
}

} // namespace attn::rt
