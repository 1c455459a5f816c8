//===- ProblemValidationTest.cpp - contexts and attn_problem errors -------===//
//
// Every bad context option and problem field is rejected with a status and a
// message naming it, and nothing is written to the out-parameter. None of this
// needs the compiler plugin: problems are validated before it is loaded.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <sched.h>

namespace {

using namespace attn::rttest;

attn_context *const kContextSentinel = reinterpret_cast<attn_context *>(0x1234);
attn_kernel *const kKernelSentinel = reinterpret_cast<attn_kernel *>(0x5678);

::testing::AssertionResult messageContains(const char *needle) {
  const char *message = attn_last_error();
  if (std::strstr(message, needle))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "attn_last_error() is \"" << message
                                       << "\", expected it to contain \"" << needle << "\"";
}

TEST(Context, CreateWithDefaults) {
  attn_context *context = nullptr;
  ASSERT_EQ(attn_context_create(nullptr, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
  ASSERT_NE(context, nullptr);
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(attn_context_get_stats(context, &stats), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(stats.struct_size, sizeof(stats));
  EXPECT_EQ(stats.kernels_compiled, 0);
  EXPECT_EQ(stats.memory_cache_hits, 0);
  EXPECT_EQ(stats.disk_cache_hits, 0);
  EXPECT_EQ(stats.disk_cache_rejected, 0);
  EXPECT_EQ(attn_context_destroy(context), ATTN_STATUS_SUCCESS);
}

TEST(Context, CreateWithOptions) {
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  for (int32_t threads : {1, 2, 5}) {
    options.num_threads = threads;
    options.disk_cache = threads % 2;
    options.cache_dir = "/nonexistent/attnc-cache"; // only used when something compiles
    ContextPtr context = makeContext(&options);
    EXPECT_NE(context, nullptr);
  }
}

// The default pool is as large as the CPUs this process may run on (its affinity mask), and the
// stats report what the context took.
TEST(Context, ThreadsFollowTheAffinityMask) {
  cpu_set_t saved;
  ASSERT_EQ(sched_getaffinity(0, sizeof(saved), &saved), 0);
  cpu_set_t one;
  CPU_ZERO(&one);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &saved)) {
      CPU_SET(cpu, &one);
      break;
    }
  ASSERT_EQ(sched_setaffinity(0, sizeof(one), &one), 0);
  attn_context *context = nullptr;
  attn_status status = attn_context_create(nullptr, &context);
  ASSERT_EQ(sched_setaffinity(0, sizeof(saved), &saved), 0);
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  attn_context_stats stats{};
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(attn_context_get_stats(context, &stats), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(stats.num_threads, 1);
  EXPECT_EQ(attn_context_destroy(context), ATTN_STATUS_SUCCESS);
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 3; // asked for: taken as given
  ContextPtr three = makeContext(&options);
  ASSERT_EQ(attn_context_get_stats(three.get(), &stats), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(stats.num_threads, 3);
  // A caller built before the field (40-byte stats) gets the first fields only.
  attn_context_stats older{};
  older.struct_size = offsetof(attn_context_stats, num_threads);
  older.num_threads = -7;
  ASSERT_EQ(attn_context_get_stats(three.get(), &older), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(older.num_threads, -7);
}

TEST(Context, DestroyNullIsFine) {
  EXPECT_EQ(attn_context_destroy(nullptr), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_destroy(nullptr), ATTN_STATUS_SUCCESS);
}

TEST(Context, CreateRejectsNullOut) {
  EXPECT_EQ(attn_context_create(nullptr, nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("out_context is NULL"));
}

TEST(Context, CreateRejectsBadOptions) {
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  attn_context *context = kContextSentinel;

  attn_context_options small = options;
  small.struct_size = offsetof(attn_context_options, disk_cache);
  EXPECT_EQ(attn_context_create(&small, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_options.struct_size is 40, expected at least 44"));

  attn_context_options negative = options;
  negative.num_threads = -3;
  EXPECT_EQ(attn_context_create(&negative, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_options.num_threads is -3"));

  attn_context_options badFlag = options;
  badFlag.disk_cache = 2;
  EXPECT_EQ(attn_context_create(&badFlag, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_options.disk_cache is 2, expected 0 or 1"));

  attn_context_options negativeBound = options;
  negativeBound.cache_max_bytes = -1;
  EXPECT_EQ(attn_context_create(&negativeBound, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_options.cache_max_bytes is -1, expected >= 0"));

  attn_context_options badTarget = options;
  badTarget.cpu_target = "skylake";
  EXPECT_EQ(attn_context_create(&badTarget, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_options.cpu_target is 'skylake', expected host, "
                              "x86-64-v3 or x86-64-v4"));
  EXPECT_EQ(context, kContextSentinel);
}

TEST(Context, StatsRejectsBadArguments) {
  ContextPtr context = makeContext(1);
  attn_context_stats stats;
  std::memset(&stats, 0x5A, sizeof(stats));
  attn_context_stats untouched = stats;
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(attn_context_get_stats(nullptr, &stats), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("context is NULL"));
  EXPECT_EQ(attn_context_get_stats(context.get(), nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("out_stats is NULL"));
  untouched.struct_size = 16;
  stats = untouched;
  EXPECT_EQ(attn_context_get_stats(context.get(), &stats), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("attn_context_stats.struct_size is 16, expected at least 40"));
  EXPECT_EQ(std::memcmp(&stats, &untouched, sizeof(stats)), 0);
}

attn_problem validProblem() {
  return makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 8, 2, 64, 64);
}

// Creates a kernel for problem and expects `expected` with `needle` in the message.
void expectCreateFails(const attn_problem &problem, attn_status expected, const char *needle) {
  ContextPtr context = makeContext(1);
  attn_kernel *kernel = kKernelSentinel;
  EXPECT_EQ(attn_kernel_create(context.get(), &problem, &kernel), expected) << attn_last_error();
  EXPECT_TRUE(messageContains(needle));
  EXPECT_EQ(kernel, kKernelSentinel) << "a failed create must not write out_kernel";
}

TEST(Problem, CreateRejectsNulls) {
  ContextPtr context = makeContext(1);
  attn_problem problem = validProblem();
  attn_kernel *kernel = kKernelSentinel;
  EXPECT_EQ(attn_kernel_create(nullptr, &problem, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("context is NULL"));
  EXPECT_EQ(attn_kernel_create(context.get(), nullptr, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("problem is NULL"));
  EXPECT_EQ(attn_kernel_create(context.get(), &problem, nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_TRUE(messageContains("out_kernel is NULL"));
  EXPECT_EQ(kernel, kKernelSentinel);
}

TEST(Problem, StructSizeTooSmall) {
  attn_problem problem = validProblem();
  problem.struct_size = offsetof(attn_problem, normalize);
  expectCreateFails(problem, ATTN_STATUS_INVALID_ARGUMENT,
                    "attn_problem.struct_size is 116, expected at least 120");
  problem.struct_size = 0;
  expectCreateFails(problem, ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.struct_size is 0");
}

// A field set to a bad value, and what the message must say.
struct BadField {
  const char *what;
  void (*apply)(attn_problem &);
  attn_status status;
  const char *needle;
};

const BadField kBadFields[] = {
    {"target", [](attn_problem &p) { p.target = static_cast<attn_target>(7); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.target is 7"},
    {"negative target", [](attn_problem &p) { p.target = static_cast<attn_target>(-1); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.target is -1"},
    {"variant", [](attn_problem &p) { p.variant = static_cast<attn_variant>(2); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.variant is 2"},
    {"dtype", [](attn_problem &p) { p.dtype = static_cast<attn_dtype>(3); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.dtype is 3"},
    {"feature map", [](attn_problem &p) { p.feature_map = static_cast<attn_feature_map>(9); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.feature_map is 9"},
    {"causal", [](attn_problem &p) { p.causal = 2; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.causal is 2, expected 0 or 1"},
    {"return_lse", [](attn_problem &p) { p.return_lse = -1; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.return_lse is -1, expected 0 or 1"},
    {"return_entropy", [](attn_problem &p) { p.return_entropy = 5; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.return_entropy is 5, expected 0 or 1"},
    {"normalize", [](attn_problem &p) { p.normalize = 3; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.normalize is 3, expected 0 or 1"},
    {"heads_q", [](attn_problem &p) { p.heads_q = 0; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.heads_q is 0, expected >= 1"},
    {"heads_kv", [](attn_problem &p) { p.heads_kv = -2; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.heads_kv is -2, expected >= 1"},
    {"GQA divisibility",
     [](attn_problem &p) {
       p.heads_q = 6;
       p.heads_kv = 4;
     },
     ATTN_STATUS_INVALID_ARGUMENT, "heads_q (6) must be a multiple of heads_kv (4)"},
    {"head_dim", [](attn_problem &p) { p.head_dim = 0; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.head_dim is 0"},
    {"head_dim_v", [](attn_problem &p) { p.head_dim_v = -64; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.head_dim_v is -64"},
    {"negative scale", [](attn_problem &p) { p.scale = -0.5; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.scale is -0.5"},
    {"NaN scale", [](attn_problem &p) { p.scale = std::nan(""); }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.scale is nan"},
    {"infinite scale", [](attn_problem &p) { p.scale = std::numeric_limits<double>::infinity(); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.scale is inf"},
    {"window_left", [](attn_problem &p) { p.window_left = -2; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.window_left is -2, expected >= 0, or -1 for unbounded"},
    {"window_right", [](attn_problem &p) { p.window_right = -7; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.window_right is -7"},
    {"global_tokens", [](attn_problem &p) { p.global_tokens = -1; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.global_tokens is -1, expected >= 0"},
    {"negative softcap", [](attn_problem &p) { p.softcap = -30; }, ATTN_STATUS_INVALID_ARGUMENT,
     "attn_problem.softcap is -30"},
    {"infinite softcap",
     [](attn_problem &p) { p.softcap = std::numeric_limits<double>::infinity(); },
     ATTN_STATUS_INVALID_ARGUMENT, "attn_problem.softcap is inf"},
#if !ATTN_HAVE_CUDA
    {"CUDA target", [](attn_problem &p) { p.target = ATTN_TARGET_CUDA; }, ATTN_STATUS_UNSUPPORTED,
     "this build has no CUDA backend"},
#endif
#if !ATTN_HAVE_VULKAN
    {"Vulkan target", [](attn_problem &p) { p.target = ATTN_TARGET_VULKAN; },
     ATTN_STATUS_UNSUPPORTED, "this build has no Vulkan backend"},
#endif
    {"head_dim 100", [](attn_problem &p) { p.head_dim = 100; }, ATTN_STATUS_UNSUPPORTED,
     "head_dim 100 is not supported (supported: 32, 64, 80, 96, 128, 192, 256)"},
    {"head_dim_v 48", [](attn_problem &p) { p.head_dim_v = 48; }, ATTN_STATUS_UNSUPPORTED,
     "head_dim_v 48 is not supported (supported: 32, 64, 80, 96, 128, 192, 256)"},
    {"head_dim 512", [](attn_problem &p) { p.head_dim = 512; }, ATTN_STATUS_UNSUPPORTED,
     "head_dim 512 is not supported"},
    // Limits: the heads_q = 2^40 with heads_kv = 1 aborted inside the kernel generator.
    {"heads_q 2^40",
     [](attn_problem &p) {
       p.heads_q = int64_t(1) << 40;
       p.heads_kv = 1;
     },
     ATTN_STATUS_INVALID_ARGUMENT, "at most 4096 heads are supported (ATTN_MAX_HEADS)"},
    {"heads_kv 2^32", [](attn_problem &p) { p.heads_q = p.heads_kv = int64_t(1) << 32; },
     ATTN_STATUS_INVALID_ARGUMENT, "at most 4096 heads are supported"},
    {"GQA group 512",
     [](attn_problem &p) {
       p.heads_q = 512;
       p.heads_kv = 1;
     },
     ATTN_STATUS_INVALID_ARGUMENT,
     "heads_q / heads_kv is 512 query heads per kv head; at most 256 are supported"},
};

TEST(Problem, EachBadFieldIsNamed) {
  for (const BadField &bad : kBadFields) {
    SCOPED_TRACE(bad.what);
    attn_problem problem = validProblem();
    bad.apply(problem);
    expectCreateFails(problem, bad.status, bad.needle);
  }
}

// A malformed problem is reported as such even when it also asks for something this build
// cannot do: the caller's mistake comes first.
TEST(Problem, InvalidBeforeUnsupported) {
  attn_problem problem = validProblem();
  problem.target = ATTN_TARGET_CUDA;
  problem.heads_kv = 3;
  expectCreateFails(problem, ATTN_STATUS_INVALID_ARGUMENT, "must be a multiple of heads_kv (3)");
}

const BadField kBadLinearFields[] = {
    {"return_lse", [](attn_problem &p) { p.return_lse = 1; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no softmax: it cannot return LSE"},
    {"return_entropy", [](attn_problem &p) { p.return_entropy = 1; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no softmax: it cannot return entropy"},
    {"window_left", [](attn_problem &p) { p.window_left = 128; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no sliding window"},
    {"window_right", [](attn_problem &p) { p.window_right = 0; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no sliding window"},
    {"global_tokens", [](attn_problem &p) { p.global_tokens = 4; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no global tokens"},
    {"softcap", [](attn_problem &p) { p.softcap = 30; }, ATTN_STATUS_INVALID_ARGUMENT,
     "linear attention has no logits to cap"},
};

TEST(Problem, LinearRejectsSoftmaxOnlyFields) {
  for (const BadField &bad : kBadLinearFields) {
    SCOPED_TRACE(bad.what);
    attn_problem problem = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 4, 64, 64);
    bad.apply(problem);
    expectCreateFails(problem, bad.status, bad.needle);
  }
}

// Valid problems get past validation: they compile, or fail only for want of a plugin.
void expectValid(const attn_problem &problem) {
  ContextPtr context = makeContext(1);
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context.get(), &problem, &kernel);
  if (isNoPluginError(status, attn_last_error()))
    return;
  EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  EXPECT_EQ(attn_kernel_destroy(kernel), ATTN_STATUS_SUCCESS);
}

TEST(Problem, ValidProblemsPassValidation) {
  attn_problem problem = validProblem();
  expectValid(problem);
  problem.causal = 1;
  problem.window_left = 128;
  problem.global_tokens = 4;
  problem.softcap = 30;
  problem.return_lse = 1;
  problem.return_entropy = 1;
  problem.dtype = ATTN_DTYPE_BF16;
  problem.head_dim = 192;
  problem.head_dim_v = 128;
  problem.scale = 0.25;
  expectValid(problem);
  attn_problem linear = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F16, 8, 1, 32, 80);
  linear.causal = 1;
  linear.feature_map = ATTN_FEATURE_MAP_RELU;
  linear.normalize = 0;
  expectValid(linear);
}

// attn_kernel_get_problem returns the normalized form, which is the dialect's canonical form.
std::optional<attn_problem> normalizedOf(attn_problem problem) {
  ContextPtr context = makeContext(1);
  attn_kernel *raw = nullptr;
  attn_status status = attn_kernel_create(context.get(), &problem, &raw);
  if (isNoPluginError(status, attn_last_error()))
    return std::nullopt;
  EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(raw);
  attn_problem out;
  out.struct_size = sizeof(out);
  EXPECT_EQ(attn_kernel_get_problem(kernel.get(), &out), ATTN_STATUS_SUCCESS);
  return out;
}

TEST(Problem, MaskIsNormalized) {
  // A bound no sequence can reach is unbounded (window = (-1, 2^63 - 1) masked every key).
  attn_problem p = validProblem();
  p.window_right = INT64_MAX;
  std::optional<attn_problem> n = normalizedOf(p);
  if (!n)
    GTEST_SKIP() << "needs the compiler plugin";
  EXPECT_EQ(n->window_left, -1);
  EXPECT_EQ(n->window_right, -1);
  p = validProblem();
  p.window_left = int64_t(1) << 31;
  p.window_right = 0; // right 0 is causal
  n = normalizedOf(p);
  EXPECT_EQ(n->causal, 1);
  EXPECT_EQ(n->window_left, -1);
  EXPECT_EQ(n->window_right, -1);
  // Global tokens only widen a finite band; more than any sequence holds are that many.
  p = validProblem();
  p.global_tokens = 4;
  EXPECT_EQ(normalizedOf(p)->global_tokens, 0);
  p.window_left = 16;
  p.global_tokens = INT64_MAX;
  n = normalizedOf(p);
  EXPECT_EQ(n->window_left, 16);
  EXPECT_EQ(n->global_tokens, ATTN_MAX_SEQUENCE_LENGTH);
}

// A caller compiled against a newer header passes a larger struct: its first fields are read.
TEST(Problem, LargerStructSizeIsAccepted) {
  struct {
    attn_problem problem;
    int64_t futureFields[4];
  } newer;
  newer.problem = validProblem();
  newer.problem.struct_size = sizeof(newer);
  for (int64_t &field : newer.futureFields)
    field = -1;
  expectValid(newer.problem);
}

} // namespace
