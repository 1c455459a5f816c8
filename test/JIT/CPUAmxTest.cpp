//===- CPUAmxTest.cpp - which CPU kernel the JIT picks for bf16 ---------------===//
//
// The AMX prefill kernel is chosen exactly where it can run: the host has AMX-TILE and AMX-BF16
// and Linux granted the tile state; x86-64 levels never get it. Its numerics are checked by the
// CPU conformance suite (the "Amx" cases), which runs it on such a host.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/Target/TargetInfo.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::attn;

namespace {

CPUKernelConfig configure(const attn_problem &problem, const CPUTargetInfo &target) {
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  std::string error;
  auto module = buildProblemModule(ctx, problem, error);
  EXPECT_TRUE(succeeded(module)) << error;
  CPUKernelConfig config;
  EXPECT_TRUE(succeeded(prepareProblemModule(**module, target, config, error))) << error;
  return config;
}

attn_problem problem(attn_dtype dtype, int64_t d, int64_t dv) {
  attn_problem p = ::attn::rttest::makeProblem(ATTN_VARIANT_SOFTMAX, dtype, 8, 2, d, dv);
  p.causal = 1;
  return p;
}

TEST(CPUAmx, ChosenOnlyWhereItRuns) {
  const CPUTargetInfo &host = CPUTargetInfo::host();
  CPUKernelConfig bf16 = configure(problem(ATTN_DTYPE_BF16, 128, 128), host);
  EXPECT_EQ(bf16.amx, host.hasAMX() ? 1 : 0);
  // Other dtypes, head dims that are not whole tiles, and x86-64 levels: the vector kernels.
  EXPECT_EQ(configure(problem(ATTN_DTYPE_F32, 128, 128), host).amx, 0);
  EXPECT_EQ(configure(problem(ATTN_DTYPE_F16, 128, 128), host).amx, 0);
  EXPECT_EQ(configure(problem(ATTN_DTYPE_BF16, 80, 80), host).amx, 0);
  EXPECT_EQ(configure(problem(ATTN_DTYPE_BF16, 64, 24), host).amx, 0);
  EXPECT_EQ(
      configure(problem(ATTN_DTYPE_BF16, 128, 128), *CPUTargetInfo::fromName("x86-64-v4")).amx, 0);
  // AVX512-BF16 decode dot products: bf16 with D a multiple of 32 on a host that has them.
  EXPECT_EQ(bf16.dpbf16, host.hasAVX512BF16() ? 1 : 0);
  EXPECT_EQ(configure(problem(ATTN_DTYPE_F32, 128, 128), host).dpbf16, 0);
  EXPECT_EQ(configure(problem(ATTN_DTYPE_BF16, 80, 80), host).dpbf16, 0);
  EXPECT_EQ(
      configure(problem(ATTN_DTYPE_BF16, 128, 128), *CPUTargetInfo::fromName("x86-64-v4")).dpbf16,
      0);
  if (!host.hasAMX())
    GTEST_SKIP() << "this host lacks AMX-BF16 (or Linux refused the tile state): only the "
                    "refusal was checked";
  EXPECT_EQ(bf16.vectorWidth, 16);
  EXPECT_EQ(bf16.blockK % 32, 0);
}

} // namespace
