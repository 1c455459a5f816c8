//===- launch.cpp - running a compiled kernel on the CPU ------------------===//
//
// Builds the memref descriptors once per launch, then hands item ranges to the
// context's parallel-for. Each task call copies the descriptors and builds its
// own params memref on its stack: calls run concurrently, and the entry points
// take non-const descriptor pointers.
//
//===----------------------------------------------------------------------===//

#include "cpu/launch.h"

#include "core/backend.h"
#include "core/context.h"
#include "core/cpu_level.h"
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

// The launch's descriptors, shared by every call struct below.
struct Operands {
  attn_memref4 q, k, v, o;
  attn_memref3 lse, entropy;
  attn_memref1 seqlensQ, seqlensKv;
  attn_memref2 table;
  int64_t hasSeqlensQ, hasSeqlensKv;
};

// One parallel-for over softmax_main (never split).
struct SoftmaxCall {
  attn_softmax_fn fn;
  Operands x;

  static void run(void *self, int64_t begin, int64_t end) {
    SoftmaxCall c = *static_cast<const SoftmaxCall *>(self);
    Params params(begin, end, c.x.hasSeqlensQ, c.x.hasSeqlensKv, /*numSplits=*/1);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.x.o, &c.x.lse, &c.x.entropy, &c.x.seqlensQ, &c.x.seqlensKv,
         &c.x.table, &params.memref);
  }
};

// One parallel-for over softmax_decode: partial results into the workspace.
struct DecodeCall {
  attn_decode_fn fn;
  Operands x;
  attn_memref4 oParts;
  attn_memref3 lseParts;
  int64_t numSplits;

  static void run(void *self, int64_t begin, int64_t end) {
    DecodeCall c = *static_cast<const DecodeCall *>(self);
    Params params(begin, end, c.x.hasSeqlensQ, c.x.hasSeqlensKv, c.numSplits);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.oParts, &c.lseParts, &c.x.seqlensQ, &c.x.seqlensKv, &c.x.table,
         &params.memref);
  }
};

// One parallel-for over merge: partial results -> the caller's O and LSE.
struct MergeCall {
  attn_merge_fn fn;
  Operands x;
  attn_memref4 oParts;
  attn_memref3 lseParts;
  int64_t numSplits;

  static void run(void *self, int64_t begin, int64_t end) {
    MergeCall c = *static_cast<const MergeCall *>(self);
    Params params(begin, end, c.x.hasSeqlensQ, c.x.hasSeqlensKv, c.numSplits);
    c.fn(&c.oParts, &c.lseParts, &c.x.o, &c.x.lse, &c.x.seqlensQ, &params.memref);
  }
};

struct LinearCall {
  attn_linear_fn fn;
  Operands x;

  static void run(void *self, int64_t begin, int64_t end) {
    LinearCall c = *static_cast<const LinearCall *>(self);
    Params params(begin, end, c.x.hasSeqlensQ, c.x.hasSeqlensKv, /*numSplits=*/1);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.x.o, &c.x.seqlensQ, &c.x.seqlensKv, &params.memref);
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

// Split-KV (flash-decoding): f32 partial results per KV split into a
// workspace, then a merge by LSE into the caller's O and LSE. Runs even with
// one split (one thread, short KV): a decode item serves every head of a batch
// entry, and only merge writes O in the problem's dtype.
void launchDecode(ContextState &context, const CompiledKernel &kernel, const Operands &x,
                  const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const int64_t B = args.batch, Sq = args.seq_q;
  const int64_t numSplits =
      chooseDecodeSplits(B, context.concurrency(), args.seq_kv, kernel.entry().split_keys);
  // Workspace batch index and decode item alike: s * B + b.
  const int64_t partsBatch = numSplits * B;
  int64_t oCount, lseCount;
  if (__builtin_mul_overflow(partsBatch, Sq * p.heads_q * p.head_dim_v, &oCount) ||
      __builtin_mul_overflow(partsBatch, p.heads_q * Sq, &lseCount))
    fail(ATTN_STATUS_OUT_OF_MEMORY, "the split-KV workspace size overflows int64");
  AlignedFloats oParts = allocateFloats(oCount);
  AlignedFloats lseParts = allocateFloats(lseCount);
  // Counted in the context's metrics while the launch holds it.
  struct Held {
    Metrics *metrics;
    int64_t bytes;
    ~Held() {
      if (metrics)
        metrics->workspace(-bytes);
    }
  } held{context.metrics(), static_cast<int64_t>((oCount + lseCount) * sizeof(float))};
  if (held.metrics)
    held.metrics->workspace(held.bytes);

  DecodeCall decode{};
  decode.fn = kernel.entry().softmax_decode;
  decode.x = x;
  decode.oParts = contiguousMemref(oParts.get(), {partsBatch, Sq, p.heads_q, p.head_dim_v});
  decode.lseParts = statisticMemref(lseParts.get(), partsBatch, p.heads_q, Sq);
  decode.numSplits = numSplits;
  context.parallelFor(partsBatch, &DecodeCall::run, &decode);

  MergeCall merge{};
  merge.fn = kernel.entry().merge;
  merge.x = x;
  merge.oParts = decode.oParts;
  merge.lseParts = decode.lseParts;
  merge.numSplits = numSplits;
  context.parallelFor(B * Sq, &MergeCall::run, &merge);
}

} // namespace

void launchOnCpu(ContextState &context, const CompiledKernel &kernel,
                 const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const attn_jit_kernel &entry = kernel.entry();
  const int64_t B = args.batch, Sq = args.seq_q, Skv = args.seq_kv;
  const int32_t noSeqlens = 0; // what an absent seqlens descriptor (or block table) points at

  Operands x{};
  // K/V: [B, Skv, Hkv, D], or the pages [num_pages, page_size, Hkv, D] of a paged cache.
  const bool paged = p.page_size > 0;
  const int64_t kvDim0 = paged ? args.num_pages : B, kvDim1 = paged ? p.page_size : Skv;
  x.q = tensorMemref(args.q.data, {B, Sq, p.heads_q, p.head_dim}, args.q.strides);
  x.k = tensorMemref(args.k.data, {kvDim0, kvDim1, p.heads_kv, p.head_dim}, args.k.strides);
  x.v = tensorMemref(args.v.data, {kvDim0, kvDim1, p.heads_kv, p.head_dim_v}, args.v.strides);
  x.table = paged ? blockTableMemref(args.block_table, B, args.max_pages, args.block_table_stride)
                  : blockTableMemref(&noSeqlens, 1, 1, 1);
  x.o = tensorMemref(args.o.data, {B, Sq, p.heads_q, p.head_dim_v}, args.o.strides);
  x.lse = statisticMemref(args.lse, B, p.heads_q, Sq);
  x.entropy = statisticMemref(args.entropy, B, p.heads_q, Sq);
  x.seqlensQ = seqlensMemref(args.seqlens_q, B, &noSeqlens);
  x.seqlensKv = seqlensMemref(args.seqlens_kv, B, &noSeqlens);
  x.hasSeqlensQ = args.seqlens_q != nullptr;
  x.hasSeqlensKv = args.seqlens_kv != nullptr;

  if (p.variant == ATTN_VARIANT_LINEAR) {
    LinearCall call{entry.linear, x};
    context.parallelFor(B * p.heads_kv, &LinearCall::run, &call);
    return;
  }
  if (usesDecode(Sq, p.heads_q, entry.decode_max_rows, p.return_entropy != 0)) {
    launchDecode(context, kernel, x, args);
    return;
  }
  SoftmaxCall main{entry.softmax_main, x};
  context.parallelFor(softmaxItems(B, p.heads_kv, Sq, entry.block_q), &SoftmaxCall::run, &main);
}

} // namespace attn::rt

namespace attn::rt {

namespace {
/// Host code: the plugin's entry points are called directly, on the context's pool.
class CpuBackend final : public Backend {
public:
  void prepareCompile(ContextState &, CompileOptions &) const override {}
  std::shared_ptr<const void> createKernel(ContextState &, const attn_problem &,
                                           const attn_jit_kernel &kernel) const override {
    const uint32_t features = kernel.manifest ? kernel.manifest->cpu_features : 0u;
    if ((features & ATTN_KERNEL_MANIFEST_CPU_AMX) && !amxUsable())
      fail(ATTN_STATUS_UNSUPPORTED,
           "the kernel's code uses AMX tiles, which this CPU lacks or Linux refused this process "
           "(arch_prctl ARCH_REQ_XCOMP_PERM); build it for this machine or for an x86-64 level");
    if ((features & ATTN_KERNEL_MANIFEST_CPU_AVX512BF16) && !avx512Bf16Usable())
      fail(ATTN_STATUS_UNSUPPORTED,
           "the kernel's code uses AVX512-BF16 (VDPBF16PS), which this CPU lacks; build it for "
           "this machine or for an x86-64 level");
    return nullptr;
  }
  void launch(ContextState &context, const CompiledKernel &kernel,
              const attn_launch_args &args) const override {
    launchOnCpu(context, kernel, args);
  }
};
} // namespace

const Backend &cpuBackend() {
  static const CpuBackend backend;
  return backend;
}

} // namespace attn::rt
