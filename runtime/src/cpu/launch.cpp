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
#include "core/launch_args.h"
#include "core/sequences.h"
#include "cpu/memref.h"
#include "cpu/work_split.h"

#include <algorithm>
#include <memory>
#include <new>

namespace attn::rt {

namespace {

// The launch's descriptors, shared by every call struct below.
struct Operands {
  attn_memref4 q, k, v, o;
  attn_memref3 lse, entropy;
  attn_memref1 seqlensQ, seqlensKv;
  attn_memref2 table;
  attn_memref1 alibi, sinks;
  int64_t hasSeqlensQ, hasSeqlensKv;
  int64_t scaleBits; // ATTN_PARAM_SCALE
};

struct Params {
  int64_t values[ATTN_PARAM_COUNT];
  attn_memref1 memref;

  Params(int64_t begin, int64_t end, const Operands &x, int64_t numSplits)
      : values{begin, end, x.hasSeqlensQ, x.hasSeqlensKv, numSplits, x.scaleBits}, memref{} {
    memref.allocated = memref.aligned = values;
    memref.sizes[0] = ATTN_PARAM_COUNT;
    memref.strides[0] = 1;
  }
};

// One parallel-for over softmax_main (never split).
struct SoftmaxCall {
  attn_softmax_fn fn;
  Operands x;

  static void run(void *self, int64_t begin, int64_t end) {
    SoftmaxCall c = *static_cast<const SoftmaxCall *>(self);
    Params params(begin, end, c.x, /*numSplits=*/1);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.x.o, &c.x.lse, &c.x.entropy, &c.x.seqlensQ, &c.x.seqlensKv,
         &c.x.table, &c.x.alibi, &c.x.sinks, &params.memref);
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
    Params params(begin, end, c.x, c.numSplits);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.oParts, &c.lseParts, &c.x.seqlensQ, &c.x.seqlensKv, &c.x.table,
         &c.x.alibi, &c.x.sinks, &params.memref);
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
    Params params(begin, end, c.x, c.numSplits);
    c.fn(&c.oParts, &c.lseParts, &c.x.o, &c.x.lse, &c.x.seqlensQ, &params.memref);
  }
};

struct LinearCall {
  attn_linear_fn fn;
  Operands x;

  static void run(void *self, int64_t begin, int64_t end) {
    LinearCall c = *static_cast<const LinearCall *>(self);
    Params params(begin, end, c.x, /*numSplits=*/1);
    c.fn(&c.x.q, &c.x.k, &c.x.v, &c.x.o, &c.x.seqlensQ, &c.x.seqlensKv, &params.memref);
  }
};

// What an absent seqlens descriptor (or block table) points at, and absent head values.
const int32_t kNoSeqlens = 0;
const float kNoHeadValues = 0.0f;

// The descriptors of a validated launch, or of one sequence's view of it (batch one; LSE and
// ENTROPY heads statHeadStride apart).
Operands operandsOf(const attn_problem &p, const attn_launch_args &args, int64_t statHeadStride) {
  const int64_t B = args.batch, Sq = args.seq_q, Skv = args.seq_kv;
  Operands x{};
  // K/V: [B, Skv, Hkv, D], or the pages [num_pages, page_size, Hkv, D] of a paged cache.
  const bool paged = p.page_size > 0;
  const int64_t kvDim0 = paged ? args.num_pages : B, kvDim1 = paged ? p.page_size : Skv;
  x.q = tensorMemref(args.q.data, {B, Sq, p.heads_q, p.head_dim}, args.q.strides);
  x.k = tensorMemref(args.k.data, {kvDim0, kvDim1, p.heads_kv, p.head_dim}, args.k.strides);
  x.v = tensorMemref(args.v.data, {kvDim0, kvDim1, p.heads_kv, p.head_dim_v}, args.v.strides);
  x.table = paged ? blockTableMemref(args.block_table, B, args.max_pages, args.block_table_stride)
                  : blockTableMemref(&kNoSeqlens, 1, 1, 1);
  x.o = tensorMemref(args.o.data, {B, Sq, p.heads_q, p.head_dim_v}, args.o.strides);
  x.lse = statisticMemref(args.lse, B, p.heads_q, Sq, statHeadStride);
  x.entropy = statisticMemref(args.entropy, B, p.heads_q, Sq, statHeadStride);
  x.seqlensQ = vectorMemref(args.seqlens_q, B, &kNoSeqlens);
  x.seqlensKv = vectorMemref(args.seqlens_kv, B, &kNoSeqlens);
  x.alibi = vectorMemref(args.alibi_slopes, p.heads_q, &kNoHeadValues);
  x.sinks = vectorMemref(args.sinks, p.heads_q, &kNoHeadValues);
  x.hasSeqlensQ = args.seqlens_q != nullptr;
  x.hasSeqlensKv = args.seqlens_kv != nullptr;
  x.scaleBits = launchScaleBits(p, args);
  return x;
}

// The rows of sequence b in the kernel's [B, Sq] view of a packed launch: its length with packed
// queries, Sq with padded ones.
int64_t viewRows(const attn_launch_args &a, int64_t b) {
  return a.cu_seqlens_q ? queryLength(a, b) : a.seq_q;
}

// Whether a softmax launch takes the split-KV decode and the shape of its partial results:
// numSplits KV splits of each of the B sequences, f32 O parts [numSplits * B, seqQ, Hq, Dv] and
// LSE parts [numSplits * B, Hq, seqQ] (batch index s * B + b; seqQ: the launch's, or its longest
// packed sequence's), the O parts first, each part 64-byte aligned.
struct DecodePlan {
  bool decode = false;
  int64_t numSplits = 1, seqQ = 0;
  size_t lseOffset = 0, bytes = 0;
};

DecodePlan planDecode(ContextState &context, const CompiledKernel &kernel,
                      const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const attn_jit_kernel &entry = kernel.entry();
  DecodePlan plan;
  if (p.variant != ATTN_VARIANT_SOFTMAX)
    return plan;
  int64_t seqQ = args.seq_q, seqKv = args.seq_kv;
  if (isPacked(args)) {
    seqQ = seqKv = 0;
    for (int64_t b = 0; b < args.batch; ++b) {
      seqQ = std::max(seqQ, viewRows(args, b));
      seqKv = std::max(seqKv, args.cu_seqlens_kv ? keyLength(args, b) : args.seq_kv);
    }
  }
  if (!usesDecode(seqQ, p.heads_q, entry.decode_max_rows, p.return_entropy != 0))
    return plan;
  plan.decode = true;
  plan.seqQ = seqQ;
  plan.numSplits = chooseDecodeSplits(args.batch, context.concurrency(), seqKv, entry.split_keys);
  const int64_t partsBatch = plan.numSplits * args.batch;
  int64_t oCount, lseCount, bytes;
  if (__builtin_mul_overflow(partsBatch, seqQ * p.heads_q * p.head_dim_v, &oCount) ||
      __builtin_mul_overflow(partsBatch, p.heads_q * seqQ, &lseCount) ||
      __builtin_mul_overflow(oCount + lseCount + 16, static_cast<int64_t>(sizeof(float)), &bytes))
    fail(ATTN_STATUS_OUT_OF_MEMORY, "the split-KV workspace size overflows int64");
  plan.lseOffset = (static_cast<size_t>(oCount) * sizeof(float) + 63) / 64 * 64;
  plan.bytes = plan.lseOffset + static_cast<size_t>(lseCount) * sizeof(float);
  return plan;
}

struct AlignedFree {
  void operator()(char *data) const { ::operator delete[](data, std::align_val_t(64)); }
};

// This thread's workspace: grown (cache-line aligned, so that the kernels' vector loads of
// partial rows never split lines) when a launch needs more than it holds, kept for the thread's
// life: a thread's launches allocate only when they outgrow it.
char *threadWorkspace(size_t bytes, Metrics *metrics) {
  struct Cache {
    std::unique_ptr<char[], AlignedFree> data;
    size_t bytes = 0;
  };
  thread_local Cache cache;
  if (bytes > cache.bytes) {
    cache.data.reset();
    cache.bytes = 0;
    try {
      cache.data.reset(static_cast<char *>(::operator new[](bytes, std::align_val_t(64))));
    } catch (const std::bad_alloc &) {
      fail(ATTN_STATUS_OUT_OF_MEMORY,
           format("out of memory allocating the %zu-byte split-KV workspace", bytes));
    }
    cache.bytes = bytes;
    if (metrics)
      metrics->workspaceAllocated();
  }
  return cache.data.get();
}

// Where a decode launch's partial results go: the caller's workspace (attn_launch_args.workspace,
// checked to hold them), else the launching thread's (threadWorkspace). Counted in the context's
// metrics while the launch holds it.
class DecodeWorkspace {
public:
  DecodeWorkspace(ContextState &context, const DecodePlan &plan, const attn_launch_args &args)
      : metrics_(context.metrics()), bytes_(static_cast<int64_t>(plan.bytes)) {
    char *base;
    if (args.workspace) {
      if (args.workspace_bytes < plan.bytes)
        failInvalid(format("attn_launch_args.workspace_bytes is %zu, but this launch needs %zu "
                           "(attn_kernel_workspace_size)",
                           args.workspace_bytes, plan.bytes));
      base = static_cast<char *>(args.workspace);
    } else {
      base = threadWorkspace(plan.bytes, metrics_);
    }
    oParts = reinterpret_cast<float *>(base);
    lseParts = reinterpret_cast<float *>(base + plan.lseOffset);
    if (metrics_)
      metrics_->workspaceInUse(bytes_);
  }
  ~DecodeWorkspace() {
    if (metrics_)
      metrics_->workspaceInUse(-bytes_);
  }
  DecodeWorkspace(const DecodeWorkspace &) = delete;
  DecodeWorkspace &operator=(const DecodeWorkspace &) = delete;

  float *oParts, *lseParts;

private:
  Metrics *metrics_;
  int64_t bytes_;
};

// Split-KV (flash-decoding): f32 partial results per KV split into a
// workspace, then a merge by LSE into the caller's O and LSE. Runs even with
// one split (one thread, short KV): a decode item serves every head of a batch
// entry, and only merge writes O in the problem's dtype.
void launchDecode(ContextState &context, const CompiledKernel &kernel, const Operands &x,
                  const attn_launch_args &args, const DecodePlan &plan) {
  const attn_problem &p = kernel.problem();
  const int64_t B = args.batch, Sq = args.seq_q;
  const int64_t numSplits = plan.numSplits;
  // Workspace batch index and decode item alike: s * B + b.
  const int64_t partsBatch = numSplits * B;
  DecodeWorkspace work(context, plan, args);

  DecodeCall decode{};
  decode.fn = kernel.entry().softmax_decode;
  decode.x = x;
  decode.oParts = contiguousMemref(work.oParts, {partsBatch, Sq, p.heads_q, p.head_dim_v});
  decode.lseParts = statisticMemref(work.lseParts, partsBatch, p.heads_q, Sq);
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

// ---- Packed batches: each sequence on its own batch-of-one descriptors (core/sequences.h) ----

// A parallel-for's items counted per sequence: a prefix over the sequences (on the stack up to
// kStackSequences of them; beyond, the launch allocates it), and each run of items within one
// sequence handed to its descriptors with item indices local to it.
class SequenceItems {
public:
  static constexpr int64_t kStackSequences = 256;

  template <typename Count> SequenceItems(int64_t batch, Count &&count) : batch_(batch) {
    if (batch > kStackSequences) {
      try {
        heap_.reset(new int64_t[static_cast<size_t>(batch) + 1]);
      } catch (const std::bad_alloc &) {
        fail(ATTN_STATUS_OUT_OF_MEMORY, "out of memory counting the work of a packed batch");
      }
    }
    starts_ = heap_ ? heap_.get() : stack_;
    starts_[0] = 0;
    for (int64_t b = 0; b < batch; ++b)
      starts_[b + 1] = starts_[b] + count(b);
  }
  int64_t total() const { return starts_[batch_]; }
  /// Calls fn(b, begin, end) for sequence b's part of the items [begin, end), local to it.
  template <typename Fn> void forRuns(int64_t begin, int64_t end, Fn &&fn) const {
    while (begin < end) {
      // The last sequence starting at or before `begin` (empty ones share its start).
      const int64_t b = std::upper_bound(starts_, starts_ + batch_ + 1, begin) - starts_ - 1;
      const int64_t stop = std::min(end, starts_[b + 1]);
      fn(b, begin - starts_[b], stop - starts_[b]);
      begin = stop;
    }
  }

private:
  int64_t batch_;
  int64_t stack_[kStackSequences + 1];
  std::unique_ptr<int64_t[]> heap_;
  int64_t *starts_;
};

// A packed launch: its sequences' views and the decode workspace's layout.
struct Packed {
  const attn_problem *p;
  const attn_launch_args *args;
  const SequenceItems *items;
  // Split-KV decode: parts of sequence b at batch index s * B + b of [numSplits * B, maxSq, ...].
  float *oParts = nullptr, *lseParts = nullptr;
  int64_t numSplits = 1, maxSq = 0;

  Operands sequence(int64_t b) const {
    return operandsOf(*p, sequenceView(*p, *args, b), statHeadStride(*args));
  }
  void parts(int64_t b, int64_t rows, attn_memref4 &o, attn_memref3 &lse) const {
    const int64_t B = args->batch, hq = p->heads_q, dv = p->head_dim_v;
    const int64_t oStrides[4] = {B * maxSq * hq * dv, hq * dv, dv, 1};
    o = tensorMemref(oParts + b * maxSq * hq * dv, {numSplits, rows, hq, dv}, oStrides);
    lse = statisticMemref(lseParts + b * hq * maxSq, numSplits, hq, rows, maxSq);
    lse.strides[0] = B * hq * maxSq;
  }
};

template <typename Body> struct PackedCall {
  const Packed *packed;
  Body body; // (b, sequence's descriptors, local begin, local end)

  static void run(void *self, int64_t begin, int64_t end) {
    const PackedCall &c = *static_cast<const PackedCall *>(self);
    c.packed->items->forRuns(begin, end, [&](int64_t b, int64_t lb, int64_t le) {
      Operands x = c.packed->sequence(b);
      c.body(b, x, lb, le);
    });
  }
};

template <typename Count, typename Body>
void forSequences(ContextState &context, Packed &packed, Count &&count, Body body) {
  SequenceItems items(packed.args->batch, count);
  packed.items = &items;
  PackedCall<Body> call{&packed, std::move(body)};
  context.parallelFor(items.total(), &PackedCall<Body>::run, &call);
}

void launchPacked(ContextState &context, const CompiledKernel &kernel,
                  const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const attn_jit_kernel &entry = kernel.entry();
  Packed packed{&p, &args, nullptr};
  auto rows = [&](int64_t b) { return viewRows(args, b); };

  if (p.variant == ATTN_VARIANT_LINEAR) {
    forSequences(
        context, packed, [&](int64_t b) { return rows(b) > 0 ? p.heads_kv : 0; },
        [fn = entry.linear](int64_t, Operands &x, int64_t lb, int64_t le) {
          Params params(lb, le, x, 1);
          fn(&x.q, &x.k, &x.v, &x.o, &x.seqlensQ, &x.seqlensKv, &params.memref);
        });
    return;
  }
  const DecodePlan plan = planDecode(context, kernel, args);
  if (!plan.decode) {
    forSequences(
        context, packed,
        [&](int64_t b) {
          return rows(b) > 0 ? softmaxItems(1, p.heads_kv, rows(b), entry.block_q) : 0;
        },
        [fn = entry.softmax_main](int64_t, Operands &x, int64_t lb, int64_t le) {
          Params params(lb, le, x, 1);
          fn(&x.q, &x.k, &x.v, &x.o, &x.lse, &x.entropy, &x.seqlensQ, &x.seqlensKv, &x.table,
             &x.alibi, &x.sinks, &params.memref);
        });
    return;
  }
  // Split-KV decode + merge, as launchDecode, sequence by sequence.
  packed.numSplits = plan.numSplits;
  packed.maxSq = plan.seqQ;
  DecodeWorkspace work(context, plan, args);
  packed.oParts = work.oParts;
  packed.lseParts = work.lseParts;
  const Packed *pk = &packed;
  forSequences(
      context, packed, [&](int64_t b) { return rows(b) > 0 ? packed.numSplits : 0; },
      [pk, fn = entry.softmax_decode](int64_t b, Operands &x, int64_t lb, int64_t le) {
        attn_memref4 oParts;
        attn_memref3 lseParts;
        pk->parts(b, x.q.sizes[1], oParts, lseParts);
        Params params(lb, le, x, pk->numSplits);
        fn(&x.q, &x.k, &x.v, &oParts, &lseParts, &x.seqlensQ, &x.seqlensKv, &x.table, &x.alibi,
           &x.sinks, &params.memref);
      });
  forSequences(context, packed, rows,
               [pk, fn = entry.merge](int64_t b, Operands &x, int64_t lb, int64_t le) {
                 attn_memref4 oParts;
                 attn_memref3 lseParts;
                 pk->parts(b, x.q.sizes[1], oParts, lseParts);
                 Params params(lb, le, x, pk->numSplits);
                 fn(&oParts, &lseParts, &x.o, &x.lse, &x.seqlensQ, &params.memref);
               });
}

} // namespace

void launchOnCpu(ContextState &context, const CompiledKernel &kernel,
                 const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  const attn_jit_kernel &entry = kernel.entry();
  const int64_t B = args.batch, Sq = args.seq_q;
  if (isPacked(args)) {
    launchPacked(context, kernel, args);
    return;
  }
  const Operands x = operandsOf(p, args, /*statHeadStride=*/0);

  if (p.variant == ATTN_VARIANT_LINEAR) {
    LinearCall call{entry.linear, x};
    context.parallelFor(B * p.heads_kv, &LinearCall::run, &call);
    return;
  }
  if (const DecodePlan plan = planDecode(context, kernel, args); plan.decode) {
    launchDecode(context, kernel, x, args, plan);
    return;
  }
  SoftmaxCall main{entry.softmax_main, x};
  context.parallelFor(softmaxItems(B, p.heads_kv, Sq, entry.block_q), &SoftmaxCall::run, &main);
}

namespace {
// attn_kernel_merge: items B * Sq (a query row, all heads); each run of rows within one batch
// entry on that entry's views, the parts p * o_part_stride apart as the kernel's dim 0.
struct CallerMergeCall {
  attn_merge_fn fn;
  const attn_problem *p;
  const attn_merge_args *a;

  static void run(void *self, int64_t begin, int64_t end) {
    const CallerMergeCall &c = *static_cast<const CallerMergeCall *>(self);
    const attn_merge_args &a = *c.a;
    const attn_problem &p = *c.p;
    const int64_t Sq = a.seq_q, hq = p.heads_q, dv = p.head_dim_v;
    const size_t es = dtypeSize(p.dtype);
    while (begin < end) {
      const int64_t b = begin / Sq, stop = std::min(end, (b + 1) * Sq);
      const int64_t partStrides[4] = {a.o_part_stride, a.o_parts.strides[1], a.o_parts.strides[2],
                                      1};
      attn_memref4 parts =
          tensorMemref(static_cast<const char *>(a.o_parts.data) + b * a.o_parts.strides[0] * es,
                       {a.num_parts, Sq, hq, dv}, partStrides);
      attn_memref3 lseParts =
          statisticMemref(const_cast<float *>(a.lse_parts) + b * hq * Sq, a.num_parts, hq, Sq);
      lseParts.strides[0] = a.lse_part_stride;
      attn_memref4 o = tensorMemref(static_cast<char *>(a.o.data) + b * a.o.strides[0] * es,
                                    {1, Sq, hq, dv}, a.o.strides);
      attn_memref3 lse = statisticMemref(a.lse ? a.lse + b * hq * Sq : nullptr, 1, hq, Sq);
      attn_memref1 noLengths = vectorMemref<int32_t>(nullptr, 1, &kNoSeqlens);
      Operands flags{};
      Params params(begin - b * Sq, stop - b * Sq, flags, a.num_parts);
      c.fn(&parts, &lseParts, &o, &lse, &noLengths, &params.memref);
      begin = stop;
    }
  }
};
} // namespace

void mergeOnCpu(ContextState &context, const CompiledKernel &kernel, const attn_merge_args &args) {
  CallerMergeCall call{kernel.entry().merge_parts, &kernel.problem(), &args};
  context.parallelFor(args.batch * args.seq_q, &CallerMergeCall::run, &call);
}

size_t cpuWorkspaceBytes(ContextState &context, const CompiledKernel &kernel,
                         const attn_launch_args &args) {
  return planDecode(context, kernel, args).bytes;
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
  size_t workspaceBytes(ContextState &context, const CompiledKernel &kernel,
                        const attn_launch_args &args) const override {
    return cpuWorkspaceBytes(context, kernel, args);
  }
  void merge(ContextState &context, const CompiledKernel &kernel,
             const attn_merge_args &args) const override {
    mergeOnCpu(context, kernel, args);
  }
};
} // namespace

const Backend &cpuBackend() {
  static const CpuBackend backend;
  return backend;
}

} // namespace attn::rt
