//===- CudaApiTest.cpp - the CUDA backend through the C API ---------------===//
//
// The error paths of a CUDA kernel where there is no driver (ctest 'runtime-cuda-no-driver'
// points ATTN_CUDA_DRIVER at a missing library; machines here have no libcuda.so.1 anyway):
// ATTN_STATUS_UNSUPPORTED with a message, every time, and the CPU backend keeps working in the
// same process; attn_kernel_launch_cuda refuses kernels of other targets and bad arguments
// before touching a device.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cstdlib>
#include <cstring>

namespace {

using namespace attn::rttest;

bool noDriverRun() {
  const char *driver = std::getenv("ATTN_CUDA_DRIVER");
  return driver && std::strstr(driver, "no-such-libcuda") != nullptr;
}

attn_problem cudaProblem() {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_BF16, 8, 2, 128, 128);
  p.target = ATTN_TARGET_CUDA;
  p.causal = 1;
  return p;
}

TEST(CudaApi, NoDriverIsUnsupported) {
  if (!noDriverRun())
    GTEST_SKIP() << "runs as ctest 'runtime-cuda-no-driver'";
  ContextPtr context = makeContext(1);
  attn_problem problem = cudaProblem();
  for (int attempt = 0; attempt < 2; ++attempt) {
    attn_kernel *kernel = reinterpret_cast<attn_kernel *>(0x1234);
    EXPECT_EQ(attn_kernel_create(context.get(), &problem, &kernel), ATTN_STATUS_UNSUPPORTED);
    EXPECT_EQ(kernel, reinterpret_cast<attn_kernel *>(0x1234)) << "out_kernel written";
    EXPECT_NE(std::strstr(attn_last_error(), "no CUDA driver"), nullptr) << attn_last_error();
    EXPECT_NE(std::strstr(attn_last_error(), "no-such-libcuda"), nullptr) << attn_last_error();
  }
  // The CPU backend does not depend on CUDA.
  attn_problem cpu = problem;
  cpu.target = ATTN_TARGET_CPU;
  cpu.dtype = ATTN_DTYPE_F32;
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

TEST(CudaApi, LaunchArgsInit) {
  attn_cuda_launch_args args;
  EXPECT_EQ(attn_cuda_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(args.struct_size, sizeof(args));
  EXPECT_EQ(args.stream, nullptr);
  EXPECT_EQ(attn_cuda_launch_args_init_sized(&args, 8), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "struct_size is 8"), nullptr) << attn_last_error();
  EXPECT_EQ(attn_cuda_launch_args_init(nullptr), ATTN_STATUS_INVALID_ARGUMENT);
}

TEST(CudaApi, LaunchRefusesOtherTargets) {
  ContextPtr context = makeContext(1);
  attn_problem cpu = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), cpu, kernel);
  attn_cuda_launch_args args;
  ASSERT_EQ(attn_cuda_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_launch_cuda(kernel.get(), &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "not a CUDA kernel"), nullptr) << attn_last_error();
  EXPECT_EQ(attn_kernel_launch_cuda(kernel.get(), nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_launch_cuda(nullptr, &args), ATTN_STATUS_INVALID_ARGUMENT);
}

} // namespace
