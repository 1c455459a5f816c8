//===- PluginCheckTest.cpp - which compiled kernels the runtime accepts ---===//
//
// kernelDefect is what Plugin::compile checks a plugin's kernel with: the
// entry points a launch of the problem may call, and the blocking.
//
//===----------------------------------------------------------------------===//

#include "core/plugin.h"

#include <gtest/gtest.h>

namespace {

using attn::rt::kernelDefect;

void softmaxMain(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref3 *,
                 attn_memref3 *, attn_memref1 *, attn_memref1 *, attn_memref1 *) {}
void softmaxDecode(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref3 *,
                   attn_memref1 *, attn_memref1 *, attn_memref1 *) {}
void merge(attn_memref4 *, attn_memref3 *, attn_memref4 *, attn_memref3 *, attn_memref1 *,
           attn_memref1 *) {}
void linear(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref1 *,
            attn_memref1 *, attn_memref1 *) {}

attn_jit_kernel softmaxKernel() {
  attn_jit_kernel kernel{};
  kernel.struct_size = sizeof(kernel);
  kernel.softmax_main = softmaxMain;
  kernel.softmax_decode = softmaxDecode;
  kernel.merge = merge;
  kernel.block_q = 16;
  kernel.block_k = 64;
  kernel.decode_max_rows = 16;
  return kernel;
}

attn_problem problem(bool entropy) {
  attn_problem p;
  EXPECT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.return_lse = entropy;
  p.return_entropy = entropy;
  return p;
}

TEST(PluginCheck, CompleteSoftmaxKernel) {
  EXPECT_EQ(kernelDefect(problem(false), softmaxKernel()), "");
  EXPECT_EQ(kernelDefect(problem(true), softmaxKernel()), "");
}

TEST(PluginCheck, SoftmaxMainIsAlwaysNeeded) {
  attn_jit_kernel kernel = softmaxKernel();
  kernel.softmax_main = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "without the softmax_main entry point");
  EXPECT_EQ(kernelDefect(problem(true), kernel), "without the softmax_main entry point");
}

// A problem asking for entropy never decodes, so it needs no decode, merge or decode_max_rows.
TEST(PluginCheck, DecodeIsNeededWithoutEntropy) {
  attn_jit_kernel noDecode = softmaxKernel();
  noDecode.softmax_decode = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), noDecode), "without the softmax_decode entry point");
  EXPECT_EQ(kernelDefect(problem(true), noDecode), "");

  attn_jit_kernel noMerge = softmaxKernel();
  noMerge.merge = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), noMerge), "without the merge entry point");
  EXPECT_EQ(kernelDefect(problem(true), noMerge), "");

  attn_jit_kernel noRows = softmaxKernel();
  noRows.decode_max_rows = 0;
  EXPECT_EQ(kernelDefect(problem(false), noRows), "with decode_max_rows = 0; it must be >= 1");
  EXPECT_EQ(kernelDefect(problem(true), noRows), "");
}

TEST(PluginCheck, SoftmaxBlocksArePositive) {
  attn_jit_kernel kernel = softmaxKernel();
  kernel.block_q = 0;
  EXPECT_EQ(kernelDefect(problem(true), kernel),
            "with block_q = 0 and block_k = 64; both must be >= 1");
  kernel = softmaxKernel();
  kernel.block_k = -1;
  EXPECT_EQ(kernelDefect(problem(false), kernel),
            "with block_q = 16 and block_k = -1; both must be >= 1");
}

TEST(PluginCheck, LinearNeedsOnlyItsEntry) {
  attn_problem p = problem(false);
  p.variant = ATTN_VARIANT_LINEAR;
  attn_jit_kernel kernel{};
  kernel.struct_size = sizeof(kernel);
  EXPECT_EQ(kernelDefect(p, kernel), "without the linear entry point");
  kernel.linear = linear;
  EXPECT_EQ(kernelDefect(p, kernel), "") << "linear uses neither blocks nor decode_max_rows";
}

} // namespace
