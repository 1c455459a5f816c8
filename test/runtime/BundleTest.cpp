//===- BundleTest.cpp - kernels loaded from attnc bundles ------------------===//
//
// The bundles are built by attnc before these tests run (the ctest fixture runtime-bundles-build)
// and the tests run with ATTN_JIT_PLUGIN pointing nowhere: loading a bundle needs no compiler.
// Every rejection path of a bundle has a test: not a bundle, truncated, corrupted, another
// format version, another attnc version, another target, a CPU level this machine lacks, and a
// launch that does not fit the bundle's kernel.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtil.h"

namespace {

using namespace attn::rttest;

TEST(Bundle, LoadsFromAFileAndRunsWithoutACompiler) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  ContextPtr context = makeContext(2);
  attn_kernel *raw = nullptr;
  ASSERT_EQ(attn_kernel_load_bundle_file(context.get(), bundlePath("gqa.attnb").c_str(), &raw),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  KernelPtr kernel(raw);
  // The kernel describes the problem it was built for.
  attn_problem loaded;
  loaded.struct_size = sizeof(loaded);
  ASSERT_EQ(attn_kernel_get_problem(kernel.get(), &loaded), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(loaded.heads_q, 8);
  EXPECT_EQ(loaded.heads_kv, 2);
  EXPECT_EQ(loaded.head_dim, 64);
  EXPECT_EQ(loaded.causal, 1);
  EXPECT_EQ(loaded.return_lse, 1);
  EXPECT_DOUBLE_EQ(loaded.scale, 0.125);
  loaded.struct_size = 8;
  EXPECT_EQ(attn_kernel_get_problem(kernel.get(), &loaded), ATTN_STATUS_INVALID_ARGUMENT);
  for (auto [sq, skv] : {std::pair<int64_t, int64_t>{37, 129}, {1, 3000}}) { // prefill, decode
    AttentionCase c;
    c.problem = gqaProblem();
    c.batch = 2;
    c.seqQ = sq;
    c.seqKv = skv;
    expectAccurate(runCase(kernel.get(), c), ATTN_DTYPE_F32);
  }
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(attn_context_get_stats(context.get(), &stats), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(stats.kernels_compiled, 0);
}

// A Vulkan bundle (built for lavapipe's 8-lane subgroups) loads without the compiler and runs on
// the default Vulkan device; a machine without Vulkan says so.
TEST(Bundle, VulkanLoadsAndRunsWithoutACompiler) {
  BUNDLE_OR_SKIP("gqa-vulkan.attnb", bytes);
  ContextPtr context = makeContext(1);
  attn_kernel *raw = nullptr;
  attn_status status = attn_kernel_load_bundle(context.get(), bytes.data(), bytes.size(), &raw);
  if (status == ATTN_STATUS_UNSUPPORTED && std::strstr(attn_last_error(), "Vulkan"))
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(raw);
  attn_problem loaded;
  loaded.struct_size = sizeof(loaded);
  ASSERT_EQ(attn_kernel_get_problem(kernel.get(), &loaded), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(loaded.target, ATTN_TARGET_VULKAN);
  attn_problem problem = gqaProblem();
  problem.target = ATTN_TARGET_VULKAN;
  for (auto [sq, skv] : {std::pair<int64_t, int64_t>{37, 129}, {1, 1500}}) { // prefill, decode
    AttentionCase c;
    c.problem = problem;
    c.batch = 2;
    c.seqQ = sq;
    c.seqKv = skv;
    expectAccurate(runCase(kernel.get(), c), ATTN_DTYPE_F32);
  }
  // An entry whose tiles are not its code's (the kernel image's manifest) is refused.
  std::string damaged = withEntry(bytes, [](bundle::BundleEntry &e) { e.blockK += 1; });
  expectRejected(damaged, ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle");
}

TEST(Bundle, LoadsFromMemory) {
  BUNDLE_OR_SKIP("linear.attnb", bytes);
  ContextPtr context = makeContext(1);
  attn_kernel *raw = nullptr;
  ASSERT_EQ(attn_kernel_load_bundle(context.get(), bytes.data(), bytes.size(), &raw),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  KernelPtr kernel(raw);
  bytes.assign(bytes.size(), '\0'); // the runtime keeps its own copy
  AttentionCase c;
  c.problem = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_BF16, 4, 4, 32, 32);
  c.problem.causal = 1;
  c.batch = 2;
  c.seqQ = 50;
  c.seqKv = 70;
  expectAccurate(runCase(kernel.get(), c), ATTN_DTYPE_BF16);
}

TEST(Bundle, RejectsWhatIsNotABundle) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected("definitely not a bundle, but long enough to hold a header........",
                 ATTN_STATUS_CORRUPT_DATA, "not a kernel bundle");
  expectRejected(bytes.substr(0, 10), ATTN_STATUS_CORRUPT_DATA, "too short");
}

TEST(Bundle, RejectsATruncatedBundle) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(bytes.substr(0, bytes.size() - 1), ATTN_STATUS_CORRUPT_DATA, "truncated");
}

TEST(Bundle, RejectsACorruptedBundle) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  bytes[bytes.size() - 200] ^= 0x40;
  expectRejected(bytes, ATTN_STATUS_CORRUPT_DATA, "checksum mismatch");
}

TEST(Bundle, RejectsAnotherFormatVersion) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(withHeader(bytes, [](bundle::BundleHeader &h) { h.formatVersion = 99; }),
                 ATTN_STATUS_UNSUPPORTED, "bundle format version 99 is not supported");
}

TEST(Bundle, RejectsAnotherAttncVersion) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(withHeader(bytes, [](bundle::BundleHeader &h) { h.attncMinor = 99; }),
                 ATTN_STATUS_UNSUPPORTED, "bundle built by attnc 0.99.0");
}

TEST(Bundle, RejectsAnotherTarget) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(
      withEntry(bytes,
                [](bundle::BundleEntry &e) { std::strncpy(e.target, "metal", sizeof(e.target)); }),
      ATTN_STATUS_UNSUPPORTED, "targets 'metal'");
}

// A CPU kernel's shared object relabeled as CUDA code is not a kernel image: damage.
TEST(Bundle, RejectsCpuCodeLabeledCuda) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(
      withEntry(bytes,
                [](bundle::BundleEntry &e) { std::strncpy(e.target, "cuda", sizeof(e.target)); }),
      ATTN_STATUS_CORRUPT_DATA, "not a kernel image");
}

TEST(Bundle, RejectsACpuWithoutTheKernelsFeatures) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  expectRejected(withEntry(bytes,
                           [](bundle::BundleEntry &e) {
                             std::strncpy(e.cpuLevel, "x86-64-v9", sizeof(e.cpuLevel));
                           }),
                 ATTN_STATUS_UNSUPPORTED, "built for x86-64-v9, which this CPU does not support");
}

TEST(Bundle, RejectsALaunchThatDoesNotFitTheKernel) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  ContextPtr context = makeContext(1);
  attn_kernel *raw = nullptr;
  ASSERT_EQ(attn_kernel_load_bundle(context.get(), bytes.data(), bytes.size(), &raw),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  KernelPtr kernel(raw);
  const attn_problem p = gqaProblem();
  Tensor q(ATTN_DTYPE_F32, {1, 4, p.heads_q, p.head_dim}), k(ATTN_DTYPE_F32, {1, 4, 2, 64}),
      v(ATTN_DTYPE_F32, {1, 4, 2, 64}), o(ATTN_DTYPE_F32, {1, 4, p.heads_q, p.head_dim_v});
  q.fillRandom(1);
  k.fillRandom(2);
  v.fillRandom(3);
  o.poison();
  std::vector<uint32_t> before = o.storage();
  attn_launch_args args;
  ASSERT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  args.batch = 1;
  args.seq_q = args.seq_kv = 4;
  args.q = q.view();
  args.k = k.view();
  args.v = v.view();
  args.o = o.view();
  // The bundle's kernel returns the LSE: a launch without an LSE buffer does not fit it.
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "lse"), nullptr) << attn_last_error();
  EXPECT_EQ(o.storage(), before) << "a rejected launch wrote the output";
}

} // namespace

// A bundle of a model's kernels at two CPU levels (Inputs/model.mlir): the loader picks one by
// its problem, at the best level this CPU runs; a bundle of many is not loaded without a problem.
TEST(Bundle, PicksAKernelOfAModelBundleByItsProblem) {
  BUNDLE_OR_SKIP("model.attnb", bytes);
  ContextPtr context = makeContext(2);
  attn_kernel *raw = reinterpret_cast<attn_kernel *>(0x1);
  EXPECT_EQ(attn_kernel_load_bundle(context.get(), bytes.data(), bytes.size(), &raw),
            ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(attn_last_error(), "the bundle holds 6 kernels"), nullptr)
      << attn_last_error();
  EXPECT_EQ(raw, reinterpret_cast<attn_kernel *>(0x1));

  const bool v4 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                  __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
                  __builtin_cpu_supports("avx512cd");
  attn_problem prefill = gqaProblem();
  attn_problem sinks = prefill;
  sinks.sinks = 1;
  attn_problem linear = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 4, 32, 32);
  linear.causal = 1;
  for (const attn_problem &p : {prefill, sinks, linear}) {
    raw = nullptr;
    ASSERT_EQ(
        attn_kernel_load_bundle_for_problem(context.get(), bytes.data(), bytes.size(), &p, &raw),
        ATTN_STATUS_SUCCESS)
        << attn_last_error();
    KernelPtr kernel(raw);
    attn_problem got;
    got.struct_size = sizeof(got);
    ASSERT_EQ(attn_kernel_get_problem(kernel.get(), &got), ATTN_STATUS_SUCCESS);
    EXPECT_EQ(got.variant, p.variant);
    EXPECT_EQ(got.sinks, p.sinks);
    EXPECT_EQ(got.heads_q, p.heads_q);
    attn_kernel_config config;
    config.struct_size = sizeof(config);
    ASSERT_EQ(attn_kernel_get_config(kernel.get(), &config), ATTN_STATUS_SUCCESS);
    EXPECT_EQ(config.vector_width, v4 ? 16 : 8) << "not the best level this CPU runs";
    if (p.variant == ATTN_VARIANT_SOFTMAX && !p.sinks) {
      AttentionCase c;
      c.problem = p;
      c.batch = 2;
      c.seqQ = 37;
      c.seqKv = 129;
      expectAccurate(runCase(kernel.get(), c), ATTN_DTYPE_F32);
    }
  }
  // From a file, and a problem the bundle does not hold.
  raw = nullptr;
  ASSERT_EQ(attn_kernel_load_bundle_file_for_problem(
                context.get(), bundlePath("model.attnb").c_str(), &prefill, &raw),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  KernelPtr fromFile(raw);
  attn_problem other = prefill;
  other.causal = 0;
  raw = reinterpret_cast<attn_kernel *>(0x1);
  EXPECT_EQ(
      attn_kernel_load_bundle_for_problem(context.get(), bytes.data(), bytes.size(), &other, &raw),
      ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(attn_last_error(), "holds 6 kernel(s), none for this problem"), nullptr)
      << attn_last_error();
  EXPECT_EQ(raw, reinterpret_cast<attn_kernel *>(0x1));
  EXPECT_EQ(
      attn_kernel_load_bundle_for_problem(context.get(), bytes.data(), bytes.size(), nullptr, &raw),
      ATTN_STATUS_INVALID_ARGUMENT);
  attn_problem bad = prefill;
  bad.heads_kv = 3; // validated as any problem is
  EXPECT_EQ(
      attn_kernel_load_bundle_for_problem(context.get(), bytes.data(), bytes.size(), &bad, &raw),
      ATTN_STATUS_INVALID_ARGUMENT);
}
