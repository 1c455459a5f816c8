//===- CUDACompileTest.cpp - the plugin's CUDA compile path without a GPU -===//
//
// What the plugin does for a CUDA problem once the runtime has found a GPU, run here with a
// described one (no driver is needed to compile): the image kind (a cubin from the toolkit's
// ptxas when it is there and the architecture is exact, else PTX for the driver to JIT), the entry
// points and their CTA sizes and dynamic shared memory as the generators recorded them, the
// cache key's dependence on the device, and the disk-cache container round trip.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/CUDACompiler.h"

#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::attn;

namespace {

attn_jit_cuda_device gpu(int32_t cc) {
  attn_jit_cuda_device d{};
  d.name = "described GPU";
  d.compute_capability = cc;
  d.driver_version = 13000;
  d.max_shared_bytes = cc == 90 ? 232448 : 166912;
  d.multiprocessors = 132;
  return d;
}

attn_problem bf16Problem() {
  attn_problem p =
      ::attn::rttest::makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_BF16, 8, 2, 128, 128);
  p.target = ATTN_TARGET_CUDA;
  p.causal = 1;
  return p;
}

struct Compiled {
  std::string key;
  CUDAImage image;
};

Compiled compile(const attn_problem &problem, const attn_jit_cuda_device &device,
                 const std::string &toolkit) {
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  std::string error;
  auto module = buildProblemModule(ctx, problem, error);
  EXPECT_TRUE(succeeded(module)) << error;
  FailureOr<CUDATargetInfo> target = cudaTargetFrom(device, error);
  EXPECT_TRUE(succeeded(target)) << error;
  CUDACodegen codegen = cudaCodegenFor(*target, toolkit);
  FailureOr<std::string> key = prepareCUDAModule(**module, *target, codegen, error);
  EXPECT_TRUE(succeeded(key)) << error;
  FailureOr<CUDAImage> image = describeCUDAModule(**module, codegen, error);
  EXPECT_TRUE(succeeded(image)) << error;
  EXPECT_TRUE(succeeded(compileCUDAModule(**module, *target, codegen, *image, error))) << error;
  return {*key, *image};
}

bool haveToolkit() { return llvm::sys::fs::can_execute("/usr/local/cuda/bin/ptxas"); }

TEST(CUDACompile, PtxWithoutToolkit) {
  Compiled c = compile(bf16Problem(), gpu(80), "");
  const auto &h = c.image.header;
  EXPECT_EQ(h.imageKind, uint32_t(ATTN_IMAGE_PTX));
  EXPECT_EQ(h.layout, uint32_t(ATTN_GPU_LAYOUT_PACKED_ROWS));
  EXPECT_NE(c.image.code.find(".target sm_80"), std::string::npos);
  EXPECT_NE(c.image.code.find(".entry attn_main("), std::string::npos);
  EXPECT_NE(c.image.code.find("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32"),
            std::string::npos);
  EXPECT_NE(c.image.code.back(), '\0') << "no trailing NUL in the image";
  EXPECT_EQ(h.entryMask, (1u << ATTN_GPU_ENTRY_MAIN) | (1u << ATTN_GPU_ENTRY_DECODE) |
                             (1u << ATTN_GPU_ENTRY_MERGE));
  // 4 warps of 16 packed rows; decode: one warp; the merge: 4 teams of 32.
  EXPECT_EQ(h.entryThreads[ATTN_GPU_ENTRY_MAIN], 128);
  EXPECT_EQ(h.entryThreads[ATTN_GPU_ENTRY_DECODE], 32);
  EXPECT_EQ(h.entryThreads[ATTN_GPU_ENTRY_MERGE], 128);
  // Q (64 rows) and two stages of K and V (64 keys), every row padded by 8 halves.
  EXPECT_EQ(h.entrySharedBytes[ATTN_GPU_ENTRY_MAIN], 2 * (64 * 136 + 2 * 64 * (128 + 128 + 16)));
  EXPECT_EQ(h.entrySharedBytes[ATTN_GPU_ENTRY_DECODE], 2 * (16 * 136 + 2 * 64 * (128 + 128 + 16)));
  EXPECT_EQ(h.manifest.block_q, 64u);
  EXPECT_EQ(h.manifest.block_k, 64u);
}

TEST(CUDACompile, CubinFromToolkit) {
  if (!haveToolkit())
    GTEST_SKIP() << "no CUDA toolkit (ptxas) in /usr/local/cuda";
  Compiled c = compile(bf16Problem(), gpu(80), "/usr/local/cuda");
  EXPECT_EQ(c.image.header.imageKind, uint32_t(ATTN_IMAGE_CUBIN));
  ASSERT_GE(c.image.code.size(), 4u);
  EXPECT_EQ(c.image.code.substr(0, 4), std::string("\x7f"
                                                   "ELF"));
  // An architecture NVVM does not know exactly (a newer GPU) gets PTX the driver can JIT.
  Compiled newer = compile(bf16Problem(), gpu(100), "/usr/local/cuda");
  EXPECT_EQ(newer.image.header.imageKind, uint32_t(ATTN_IMAGE_PTX));
  EXPECT_NE(newer.image.code.find(".target sm_90"), std::string::npos);
}

TEST(CUDACompile, KeyNamesTheDevice) {
  std::string a = compile(bf16Problem(), gpu(80), "").key;
  std::string b = compile(bf16Problem(), gpu(90), "").key;
  attn_jit_cuda_device otherDriver = gpu(80);
  otherDriver.driver_version = 12080;
  std::string c = compile(bf16Problem(), otherDriver, "").key;
  EXPECT_NE(a, b);
  EXPECT_NE(a, c);
}

TEST(CUDACompile, OldGpuIsRefused) {
  std::string error;
  EXPECT_TRUE(failed(cudaTargetFrom(gpu(75), error)));
  EXPECT_NE(error.find("compute capability 7.5"), std::string::npos) << error;
}

TEST(CUDACompile, SimtForF32AndLinear) {
  attn_problem f32 = bf16Problem();
  f32.dtype = ATTN_DTYPE_F32;
  Compiled c = compile(f32, gpu(80), "");
  EXPECT_EQ(c.image.header.layout, uint32_t(ATTN_GPU_LAYOUT_TEAMS));
  EXPECT_EQ(c.image.code.find("mma.sync"), std::string::npos) << "f32 stays off TF32";
  attn_problem linear =
      ::attn::rttest::makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F16, 4, 4, 64, 64);
  linear.target = ATTN_TARGET_CUDA;
  Compiled l = compile(linear, gpu(80), "");
  EXPECT_EQ(l.image.header.entryMask, 1u << ATTN_GPU_ENTRY_LINEAR);
  EXPECT_NE(l.image.code.find(".entry attn_linear("), std::string::npos);
}

TEST(CUDACompile, StoredImageRoundTrip) {
  Compiled c = compile(bf16Problem(), gpu(80), "");
  std::string bytes = c.image.encode();
  CUDAImage fresh;
  fresh.header = c.image.header;
  fresh.code.clear();
  std::string why;
  ASSERT_TRUE(adoptStoredCUDAImage(bytes, fresh, why)) << why;
  EXPECT_EQ(fresh.code, c.image.code);
  EXPECT_FALSE(adoptStoredCUDAImage(bytes.substr(0, bytes.size() - 1), fresh, why));
  CUDAImage other;
  other.header = c.image.header;
  other.header.manifest.block_k = 32;
  EXPECT_FALSE(adoptStoredCUDAImage(bytes, other, why));
  EXPECT_NE(why.find("another problem"), std::string::npos) << why;
}

} // namespace
