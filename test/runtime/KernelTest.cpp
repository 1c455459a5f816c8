//===- KernelTest.cpp - kernels through the C API against the oracle ------===//
//
// Compiles and launches real kernels (skipped when no compiler plugin is
// present) and compares with the float64 oracle on random inputs: each variant,
// dtype, layout, per-batch lengths, and the split-KV decode path.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <atomic>
#include <cstring>

namespace {

using namespace attn::rttest;

struct Shape {
  int64_t batch, seqQ, seqKv;
};

// Compiles `problem` and checks it on each shape.
void checkShapes(attn_context *context, const attn_problem &problem,
                 std::initializer_list<Shape> shapes, Layout layout = Layout::BSHD) {
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context, problem, kernel);
  uint64_t seed = 10;
  for (const Shape &shape : shapes) {
    SCOPED_TRACE(::testing::Message()
                 << "B=" << shape.batch << " Sq=" << shape.seqQ << " Skv=" << shape.seqKv);
    AttentionCase c;
    c.problem = problem;
    c.batch = shape.batch;
    c.seqQ = shape.seqQ;
    c.seqKv = shape.seqKv;
    c.layout = layout;
    c.seed = seed += 7;
    expectAccurate(runCase(kernel.get(), c), problem.dtype);
  }
}

attn_problem softmax(attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d, int64_t dv) {
  return makeProblem(ATTN_VARIANT_SOFTMAX, dtype, hq, hkv, d, dv);
}

TEST(Kernel, DenseF32) {
  ContextPtr context = makeContext(2);
  checkShapes(context.get(), softmax(ATTN_DTYPE_F32, 2, 2, 64, 64),
              {{1, 1, 1}, {2, 7, 7}, {1, 129, 33}, {2, 16, 200}});
}

TEST(Kernel, OddHeadDimsAndDvDiffersFromD) {
  ContextPtr context = makeContext(2);
  checkShapes(context.get(), softmax(ATTN_DTYPE_F32, 2, 1, 80, 96), {{1, 7, 13}, {2, 33, 65}});
  checkShapes(context.get(), softmax(ATTN_DTYPE_F32, 1, 1, 32, 128), {{1, 5, 40}});
}

TEST(Kernel, GroupedQueryCausalWithStatistics) {
  ContextPtr context = makeContext(2);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 6, 2, 64, 64);
  problem.causal = 1;
  problem.return_lse = 1;
  problem.return_entropy = 1;
  checkShapes(context.get(), problem, {{2, 7, 7}, {1, 20, 45}, {1, 1, 300}});
}

TEST(Kernel, SlidingWindowGlobalsSoftcapScale) {
  ContextPtr context = makeContext(2);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 1, 64, 64);
  problem.causal = 1;
  problem.window_left = 16;
  problem.global_tokens = 3;
  problem.softcap = 5.0;
  problem.scale = 0.3;
  problem.return_lse = 1;
  checkShapes(context.get(), problem, {{1, 70, 70}, {2, 9, 100}});
  attn_problem band = softmax(ATTN_DTYPE_F32, 2, 2, 64, 64);
  band.window_left = 5;
  band.window_right = 3;
  checkShapes(context.get(), band, {{1, 40, 40}});
}

TEST(Kernel, HalfAndBfloat16) {
  ContextPtr context = makeContext(2);
  for (attn_dtype dtype : {ATTN_DTYPE_F16, ATTN_DTYPE_BF16}) {
    SCOPED_TRACE(dtype == ATTN_DTYPE_F16 ? "f16" : "bf16");
    attn_problem problem = softmax(dtype, 4, 2, 128, 128);
    problem.causal = 1;
    problem.return_lse = 1;
    checkShapes(context.get(), problem, {{1, 17, 17}, {2, 3, 70}});
  }
}

TEST(Kernel, StridedLayouts) {
  ContextPtr context = makeContext(2);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  checkShapes(context.get(), problem, {{2, 9, 21}}, Layout::BHSD);
  checkShapes(context.get(), problem, {{2, 9, 21}}, Layout::PaddedBSHD);
}

// Rows i >= Lq of O, LSE and ENTROPY keep what the caller had there; keys j >= Lkv are ignored.
TEST(Kernel, SeqlensLeavePaddingRowsUntouched) {
  ContextPtr context = makeContext(2);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  problem.causal = 1;
  problem.return_lse = 1;
  problem.return_entropy = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
  AttentionCase c;
  c.problem = problem;
  c.batch = 3;
  c.seqQ = 20;
  c.seqKv = 40;
  c.seqlensQ = {20, 7, 1};
  c.seqlensKv = {40, 9, 30};
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  c.seqlensQ = {0, 13, 20}; // an empty batch entry writes nothing
  c.seqlensKv = {40, 20, 30};
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
}

// Decode: few query rows (Sq * Hq <= the kernel's decode_max_rows, which is >= 1) against a long
// KV cache take softmax_decode, split over the KV axis, then merge; they must match the oracle.
TEST(Kernel, SplitKvDecode) {
  ContextPtr context = makeContext(4);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 1, 64, 64);
  problem.return_lse = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
  AttentionCase c;
  c.problem = problem;
  c.batch = 2;
  c.seqQ = 1;
  c.seqKv = 2048;
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  c.seqlensKv = {1500, 3}; // one split of the second batch entry sees no key at all
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  c.seqQ = 3;
  c.seqlensQ = {3, 2};
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  c.seqlensQ = {0, 1}; // an empty batch entry: merge writes none of its rows
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
}

// A context may compile for a named x86-64 level instead of this host (portable code, or AVX2
// code measured on an AVX-512 machine); every variant path still computes the same.
TEST(Kernel, CompiledForAnX86Level) {
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 2;
  options.cpu_target = "x86-64-v3";
  ContextPtr context = makeContext(&options);
  attn_problem problem = softmax(ATTN_DTYPE_BF16, 8, 2, 128, 128);
  problem.causal = 1;
  problem.return_lse = 1;
  checkShapes(context.get(), problem, {{2, 77, 130}, {2, 1, 700}, {1, 3, 3}});
  attn_problem linear = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 4, 64, 64);
  checkShapes(context.get(), linear, {{2, 100, 100}});
}

// Window bounds no sequence reaches mean "unbounded": window = (-1, 2^63 - 1) returned zeros (the
// bound overflowed position arithmetic), and huge global token counts mean "every key".
TEST(Kernel, HugeWindowBoundsAreUnbounded) {
  ContextPtr context = makeContext(2);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  problem.window_right = INT64_MAX;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
  AttentionCase c;
  c.problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64); // what it means: dense
  c.batch = 2;
  c.seqQ = 77;
  c.seqKv = 300;
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  c.seqQ = 1; // decode
  expectAccurate(runCase(kernel.get(), c), problem.dtype);

  problem.window_right = -1;
  problem.causal = 1;
  problem.window_left = INT64_MAX - 1;
  problem.global_tokens = INT64_MAX;
  KernelPtr causal;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, causal);
  c.problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  c.problem.causal = 1;
  c.seqQ = 77;
  expectAccurate(runCase(causal.get(), c), problem.dtype);
}

// One query row of two heads (Sq * Hq = 2) always decodes: split, unsplit (short KV) and unsplit
// (enough batch entries for the threads).
TEST(Kernel, DecodeOneRowPerHead) {
  ContextPtr context = makeContext(4);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 2, 2, 64, 64);
  problem.return_lse = 1;
  checkShapes(context.get(), problem, {{1, 1, 3000}, {1, 1, 100}, {8, 1, 700}});
  problem.dtype = ATTN_DTYPE_F16;
  checkShapes(context.get(), problem, {{2, 1, 1100}});
}

TEST(Kernel, DecodeWindowGlobalsSoftcap) {
  ContextPtr context = makeContext(4);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 1, 64, 64);
  problem.causal = 1;
  problem.window_left = 100;
  problem.global_tokens = 3;
  problem.softcap = 5.0;
  problem.return_lse = 1;
  checkShapes(context.get(), problem, {{2, 1, 2000}, {1, 2, 600}});
}

TEST(Kernel, SplitKvDecodeCausalBf16) {
  ContextPtr context = makeContext(4);
  attn_problem problem = softmax(ATTN_DTYPE_BF16, 8, 2, 128, 128);
  problem.causal = 1;
  problem.return_lse = 1;
  checkShapes(context.get(), problem, {{1, 2, 1100}});
}

// A decode item covers every head of a batch entry: many heads and groups, up to Sq * Hq = 64 (the
// plugin's decode_max_rows) and one query row past it (softmax_main), must all match the oracle.
TEST(Kernel, DecodeEveryHeadOfTheBatchEntry) {
  ContextPtr context = makeContext(4);
  attn_problem grouped = softmax(ATTN_DTYPE_F32, 16, 4, 64, 64);
  grouped.causal = 1;
  grouped.return_lse = 1;
  checkShapes(context.get(), grouped, {{1, 4, 1100}, {2, 1, 2000}, {1, 5, 600}});
  attn_problem manyHeads = softmax(ATTN_DTYPE_F16, 32, 32, 64, 64);
  manyHeads.return_lse = 1;
  checkShapes(context.get(), manyHeads, {{2, 2, 900}, {1, 3, 300}});
}

// Entropy never takes the decode path (its partial results carry none): softmax_main serves it.
TEST(Kernel, DecodeWithEntropy) {
  ContextPtr context = makeContext(4);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 2, 1, 64, 64);
  problem.return_lse = 1;
  problem.return_entropy = 1;
  checkShapes(context.get(), problem, {{1, 1, 1500}});
}

TEST(Kernel, Linear) {
  ContextPtr context = makeContext(2);
  attn_problem problem = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 2, 64, 32);
  checkShapes(context.get(), problem, {{2, 7, 11}, {1, 1, 1}});
  problem.causal = 1;
  checkShapes(context.get(), problem, {{1, 33, 33}, {2, 5, 9}});
  problem.feature_map = ATTN_FEATURE_MAP_RELU;
  problem.normalize = 0;
  problem.scale = 0.5;
  checkShapes(context.get(), problem, {{1, 16, 16}});
}

TEST(Kernel, LinearWithSeqlens) {
  ContextPtr context = makeContext(2);
  attn_problem problem = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F16, 2, 1, 64, 64);
  problem.causal = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
  AttentionCase c;
  c.problem = problem;
  c.batch = 2;
  c.seqQ = 12;
  c.seqKv = 12;
  c.seqlensQ = {5, 12};
  c.seqlensKv = {8, 12};
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
}

// Kernels keep their context's pool alive: destroying the context first is safe.
TEST(Kernel, OutlivesItsContext) {
  attn_context *context = nullptr;
  ASSERT_EQ(attn_context_create(nullptr, &context), ATTN_STATUS_SUCCESS);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 2, 2, 64, 64);
  attn_kernel *raw = nullptr;
  attn_status status = attn_kernel_create(context, &problem, &raw);
  EXPECT_EQ(attn_context_destroy(context), ATTN_STATUS_SUCCESS);
  if (isNoPluginError(status, attn_last_error()))
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(raw);
  AttentionCase c;
  c.problem = problem;
  c.batch = 2;
  c.seqQ = 40;
  c.seqKv = 40;
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
}

// attn_kernel_get_config: the configuration a JIT kernel was built with, from its code; without a
// tuning database (the option set to "", whatever ATTN_TUNING_DB says) it is the heuristic's.
TEST(Kernel, ConfigSaysHowItWasChosen) {
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.tuning_db = "";
  ContextPtr context = makeContext(&options);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  attn_kernel *raw = nullptr;
  attn_status status = attn_kernel_create(context.get(), &problem, &raw);
  if (isNoPluginError(status, attn_last_error()))
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(raw);
  attn_kernel_config config;
  std::memset(&config, 0xab, sizeof(config));
  config.struct_size = sizeof(config);
  ASSERT_EQ(attn_kernel_get_config(kernel.get(), &config), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  EXPECT_EQ(config.source, ATTN_CONFIG_HEURISTIC);
  EXPECT_TRUE(config.vector_width == 4 || config.vector_width == 8 || config.vector_width == 16);
  EXPECT_GE(config.block_q, 1);
  EXPECT_EQ(config.block_k % config.vector_width, 0);
  EXPECT_GE(config.split_keys, config.block_k);
  EXPECT_EQ(std::string(config.text).rfind("cpu heuristic block_q=", 0), 0u) << config.text;

  attn_kernel_config small;
  small.struct_size = sizeof(small) - 1;
  EXPECT_EQ(attn_kernel_get_config(kernel.get(), &small), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("sizeof(attn_kernel_config)"), std::string::npos);
  EXPECT_EQ(attn_kernel_get_config(kernel.get(), nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_get_config(nullptr, &config), ATTN_STATUS_INVALID_ARGUMENT);
}

attn_context_stats stats(attn_context *context) {
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(attn_context_get_stats(context, &stats), ATTN_STATUS_SUCCESS);
  return stats;
}

// Two spellings of one problem (default vs explicit scale, a larger struct_size, fields of the
// other variant) share one compiled kernel.
TEST(Context, ReportsItsDevice) {
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.cpu_target = "x86-64-v3";
  ContextPtr context = makeContext(&options);
  attn_device_info info;
  std::memset(&info, 0xab, sizeof(info));
  info.struct_size = sizeof(info);
  ASSERT_EQ(attn_context_get_device(context.get(), ATTN_TARGET_CPU, &info), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  EXPECT_EQ(info.target, ATTN_TARGET_CPU);
  EXPECT_STREQ(info.name, "x86-64-v3");
  EXPECT_EQ(info.subgroup_size, 0);
  EXPECT_EQ(info.vendor_id, 0u);

  attn_device_info small;
  small.struct_size = sizeof(small) - 1;
  EXPECT_EQ(attn_context_get_device(context.get(), ATTN_TARGET_CPU, &small),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("sizeof(attn_device_info)"), std::string::npos);
  // A target that is none of attn_target's values: runtime-c99 (only C can pass one).
  EXPECT_EQ(attn_context_get_device(nullptr, ATTN_TARGET_CPU, &info), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_context_get_device(context.get(), ATTN_TARGET_CPU, nullptr),
            ATTN_STATUS_INVALID_ARGUMENT);
  // A GPU target this machine cannot run: unsupported, with the backend's reason.
  attn_status cuda = attn_context_get_device(context.get(), ATTN_TARGET_CUDA, &info);
  if (cuda != ATTN_STATUS_SUCCESS) {
    EXPECT_EQ(cuda, ATTN_STATUS_UNSUPPORTED);
    EXPECT_NE(std::string(attn_last_error()).find("CUDA"), std::string::npos) << attn_last_error();
  } else {
    EXPECT_GE(info.compute_capability, 50);
  }
}

TEST(Kernel, MemoryCacheNormalizesTheProblem) {
  ContextPtr context = makeContext(1);
  attn_problem problem = softmax(ATTN_DTYPE_F32, 2, 2, 64, 64);
  KernelPtr first;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, first);
  struct {
    attn_problem problem;
    char futureFields[16];
  } respelled;
  std::memset(&respelled, 0x7E, sizeof(respelled));
  respelled.problem = problem;
  respelled.problem.struct_size = sizeof(respelled);
  respelled.problem.scale = 0.125;                       // 1/sqrt(64), the default
  respelled.problem.feature_map = ATTN_FEATURE_MAP_RELU; // linear only
  respelled.problem.normalize = 0;
  KernelPtr second;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), respelled.problem, second);
  attn_context_stats now = stats(context.get());
  EXPECT_EQ(now.kernels_compiled + now.disk_cache_hits, 1);
  EXPECT_EQ(now.memory_cache_hits, 1);

  attn_problem other = problem;
  other.causal = 1;
  KernelPtr third;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), other, third);
  now = stats(context.get());
  EXPECT_EQ(now.kernels_compiled + now.disk_cache_hits, 2);
  EXPECT_EQ(now.memory_cache_hits, 1);
}

struct HookCounter {
  std::atomic<int64_t> calls{0};
  std::atomic<int64_t> items{0};
};

// An engine's parallel_for: runs the items in a few uneven chunks on the calling thread.
void engineParallelFor(void *user, int64_t n, attn_parallel_task_fn task, void *taskCtx) {
  auto *counter = static_cast<HookCounter *>(user);
  counter->calls.fetch_add(1);
  counter->items.fetch_add(n);
  for (int64_t begin = 0; begin < n;) {
    int64_t end = std::min(n, begin + 3);
    task(taskCtx, begin, end);
    begin = end;
  }
}

TEST(Kernel, EngineParallelForIsUsed) {
  HookCounter counter;
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.parallel_for = engineParallelFor;
  options.parallel_for_user = &counter;
  options.num_threads = 4; // the engine's width: lets decode split the KV axis
  options.disk_cache = 0;
  ContextPtr context = makeContext(&options);
  // Entropy always runs softmax_main: one parallel-for.
  attn_problem problem = softmax(ATTN_DTYPE_F32, 4, 2, 64, 64);
  problem.return_lse = 1;
  problem.return_entropy = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
  AttentionCase c;
  c.problem = problem;
  c.batch = 2;
  c.seqQ = 37;
  c.seqKv = 50;
  expectAccurate(runCase(kernel.get(), c), problem.dtype);
  EXPECT_EQ(counter.calls.load(), 1);
  EXPECT_GE(counter.items.load(), 2 * 2); // at least one item per (batch, kv head)

  // Sq * Hq = 2 always decodes: softmax_decode then merge, both through the engine.
  attn_problem decode = softmax(ATTN_DTYPE_F32, 2, 2, 64, 64);
  decode.return_lse = 1;
  KernelPtr decodeKernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), decode, decodeKernel);
  c.problem = decode;
  c.seqQ = 1;
  c.seqKv = 512;
  const int64_t itemsBefore = counter.items.load();
  expectAccurate(runCase(decodeKernel.get(), c), decode.dtype);
  EXPECT_EQ(counter.calls.load(), 3);
  // clamp(ceil(2 * 4 / B), 1, ceil(512 / 256)) = 2 splits: 2 * B (split, batch) decode items,
  // then B * Sq merge items.
  EXPECT_EQ(counter.items.load() - itemsBefore, 2 * 2 + 2 * 1);
}

} // namespace
