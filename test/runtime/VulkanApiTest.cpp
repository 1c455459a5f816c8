//===- VulkanApiTest.cpp - the Vulkan backend through the C API -----------===//
//
// The error paths of a Vulkan kernel: no driver (ctest 'runtime-vulkan-no-driver' points the
// loader at no ICD) is ATTN_STATUS_UNSUPPORTED with a message, and the CPU backend keeps working
// in the same process; a bad launch is refused before anything is copied to the device, with
// the output untouched. With a device (lavapipe in CI), the kernel reports its problem.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

using namespace attn::rttest;

bool noDriverRun() {
  const char *icd = std::getenv("VK_ICD_FILENAMES");
  return icd && std::strstr(icd, "no-such-icd") != nullptr;
}

attn_problem vulkanProblem() {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  p.target = ATTN_TARGET_VULKAN;
  p.causal = 1;
  return p;
}

TEST(VulkanApi, NoDriverIsUnsupported) {
  if (!noDriverRun())
    GTEST_SKIP() << "runs as ctest 'runtime-vulkan-no-driver'";
  ContextPtr context = makeContext(1);
  attn_problem problem = vulkanProblem();
  for (int attempt = 0; attempt < 2; ++attempt) {
    attn_kernel *kernel = reinterpret_cast<attn_kernel *>(0x1234);
    EXPECT_EQ(attn_kernel_create(context.get(), &problem, &kernel), ATTN_STATUS_UNSUPPORTED);
    EXPECT_EQ(kernel, reinterpret_cast<attn_kernel *>(0x1234)) << "out_kernel written";
    EXPECT_NE(std::strstr(attn_last_error(), "Vulkan is not available"), nullptr)
        << attn_last_error();
  }
  attn_device_info info{};
  info.struct_size = sizeof(info);
  EXPECT_EQ(attn_context_get_device(context.get(), ATTN_TARGET_VULKAN, &info),
            ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(attn_last_error(), "Vulkan is not available"), nullptr)
      << attn_last_error();
  // The CPU backend does not depend on Vulkan.
  attn_problem cpu = problem;
  cpu.target = ATTN_TARGET_CPU;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), cpu, kernel);
  AttentionCase c;
  c.problem = cpu;
  c.seqQ = 9;
  c.seqKv = 17;
  CaseResult result = runCase(kernel.get(), c);
  ASSERT_EQ(result.status, ATTN_STATUS_SUCCESS) << result.error;
  expectAccurate(result, ATTN_DTYPE_F32);
}

class VulkanKernelTest : public ::testing::Test {
protected:
  void SetUp() override {
    if (noDriverRun())
      GTEST_SKIP() << "no driver in this run";
    context = makeContext(1);
    attn_problem problem = vulkanProblem();
    attn_kernel *created = nullptr;
    attn_status status = attn_kernel_create(context.get(), &problem, &created);
    if (status == ATTN_STATUS_UNSUPPORTED || isNoPluginError(status, attn_last_error()))
      GTEST_SKIP() << attn_last_error();
    ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
    kernel.reset(created);
  }
  ContextPtr context;
  KernelPtr kernel;
};

// The device the context opened, as the compiler builds for it (what tuned entries are keyed
// by): the one the kernel runs on.
TEST_F(VulkanKernelTest, ContextReportsItsDevice) {
  attn_device_info info;
  std::memset(&info, 0xab, sizeof(info));
  info.struct_size = sizeof(info);
  ASSERT_EQ(attn_context_get_device(context.get(), ATTN_TARGET_VULKAN, &info), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  EXPECT_EQ(info.target, ATTN_TARGET_VULKAN);
  EXPECT_GT(std::strlen(info.name), 0u);
  EXPECT_LT(std::strlen(info.name), sizeof(info.name));
  EXPECT_GE(info.subgroup_size, 4);
  EXPECT_EQ(info.subgroup_size & (info.subgroup_size - 1), 0);
  EXPECT_GE(info.max_shared_bytes, 16384); // Vulkan's minimum maxComputeSharedMemorySize
  EXPECT_GE(info.max_workgroup_size, 128);
  EXPECT_EQ(info.compute_capability, 0);
  attn_kernel_config config{};
  config.struct_size = sizeof(config);
  ASSERT_EQ(attn_kernel_get_config(kernel.get(), &config), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(config.vector_width, info.subgroup_size) << config.text;
}

TEST_F(VulkanKernelTest, ReportsItsProblem) {
  attn_problem got;
  got.struct_size = sizeof(got);
  ASSERT_EQ(attn_kernel_get_problem(kernel.get(), &got), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(got.target, ATTN_TARGET_VULKAN);
  EXPECT_EQ(got.causal, 1);
  AttentionCase c;
  c.problem = vulkanProblem();
  c.batch = 2;
  c.seqQ = 33;
  c.seqKv = 65;
  c.seqlensKv = {65, 20};
  CaseResult result = runCase(kernel.get(), c);
  ASSERT_EQ(result.status, ATTN_STATUS_SUCCESS) << result.error;
  expectAccurate(result, ATTN_DTYPE_F32);
}

// Engine buffers belong to the engine's device: a kernel of a context without one refuses them.
TEST_F(VulkanKernelTest, EngineBuffersNeedTheEnginesDevice) {
  attn_vulkan_launch_args args;
  ASSERT_EQ(attn_vulkan_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_launch_vulkan(kernel.get(), &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "without attn_context_options.vulkan_device"), nullptr)
      << attn_last_error();
}

TEST_F(VulkanKernelTest, BadLaunchWritesNothing) {
  Tensor q(ATTN_DTYPE_F32, {1, 5, 4, 64}), k(ATTN_DTYPE_F32, {1, 7, 2, 64});
  Tensor v(ATTN_DTYPE_F32, {1, 7, 2, 64}), o(ATTN_DTYPE_F32, {1, 5, 4, 64});
  q.fillRandom(1);
  k.fillRandom(2);
  v.fillRandom(3);
  o.poison();
  std::vector<uint32_t> before = o.storage();
  attn_launch_args args;
  ASSERT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  args.batch = 1;
  args.seq_q = 5;
  args.seq_kv = 7;
  args.q = q.view();
  args.k = k.view();
  args.v = v.view();
  args.o = o.view();
  int32_t lens[1] = {9}; // longer than seq_kv
  args.seqlens_kv = lens;
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "seqlens_kv"), nullptr) << attn_last_error();
  EXPECT_EQ(o.storage(), before);
  // A stride past the Vulkan backend's int32 indexing: a clear UNSUPPORTED, nothing written.
  args.seqlens_kv = nullptr;
  args.k.strides[0] = int64_t(1) << 33;
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(attn_last_error(), "int32"), nullptr) << attn_last_error();
  EXPECT_EQ(o.storage(), before);
}

// Vulkan kernels go to the disk cache like CPU ones (keyed by content and the device's
// fingerprint): a second context loads the SPIR-V instead of compiling, and the result is right;
// an entry that is intact but not a SPIR-V module is rejected and rebuilt.
TEST(VulkanApiCache, SecondContextLoadsFromDisk) {
  if (noDriverRun())
    GTEST_SKIP() << "no driver in this run";
  TempDir dir;
  attn_problem problem = vulkanProblem();
  problem.softcap = 11.0; // a problem no other test compiles: the plugin holds no live copy
  auto once = [&](attn_context_stats &stats) {
    attn_context_options options;
    EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.num_threads = 1;
    options.cache_dir = dir.path().c_str();
    ContextPtr context = makeContext(&options);
    attn_kernel *created = nullptr;
    attn_status status = attn_kernel_create(context.get(), &problem, &created);
    if (status == ATTN_STATUS_UNSUPPORTED || isNoPluginError(status, attn_last_error()))
      return false;
    EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
    KernelPtr kernel(created);
    AttentionCase c;
    c.problem = problem;
    c.seqQ = 9;
    c.seqKv = 40;
    CaseResult result = runCase(kernel.get(), c);
    EXPECT_EQ(result.status, ATTN_STATUS_SUCCESS) << result.error;
    expectAccurate(result, ATTN_DTYPE_F32);
    stats.struct_size = sizeof(stats);
    EXPECT_EQ(attn_context_get_stats(context.get(), &stats), ATTN_STATUS_SUCCESS);
    return true;
  };
  attn_context_stats first{}, second{}, third{};
  if (!once(first))
    GTEST_SKIP() << attn_last_error();
  EXPECT_EQ(first.kernels_compiled, 1);
  ASSERT_TRUE(once(second));
  EXPECT_EQ(second.kernels_compiled, 0);
  EXPECT_EQ(second.disk_cache_hits, 1);
  // A file that is not an entry at all is rejected, rebuilt, and written back.
  for (const auto &file : std::filesystem::recursive_directory_iterator(dir.path()))
    if (file.is_regular_file())
      std::ofstream(file.path(), std::ios::binary | std::ios::trunc) << "not a kernel";
  ASSERT_TRUE(once(third));
  EXPECT_EQ(third.disk_cache_rejected, 1);
  EXPECT_EQ(third.kernels_compiled, 1);
}

} // namespace
