//===- PluginCheckTest.cpp - which compiled kernels the runtime accepts ---===//
//
// kernelDefect is what every kernel's code is checked with before it becomes
// a kernel (the plugin's, a bundle's, linked code): the entry points a launch
// of the problem may call, and the code's manifest against the problem and
// the tiles.
//
//===----------------------------------------------------------------------===//

#include "core/plugin.h"
#include "core/problem.h"

#include "attn/attn_version.h"

#include <cstring>
#include <gtest/gtest.h>

namespace {

using attn::rt::kernelDefect;

void softmaxMain(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref3 *,
                 attn_memref3 *, attn_memref1 *, attn_memref1 *, attn_memref2 *, attn_memref1 *,
                 attn_memref1 *, attn_memref1 *) {}
void softmaxDecode(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref3 *,
                   attn_memref1 *, attn_memref1 *, attn_memref2 *, attn_memref1 *, attn_memref1 *,
                   attn_memref1 *) {}
void merge(attn_memref4 *, attn_memref3 *, attn_memref4 *, attn_memref3 *, attn_memref1 *,
           attn_memref1 *) {}
void linear(attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref4 *, attn_memref1 *,
            attn_memref1 *, attn_memref1 *) {}

// The manifest generated code would carry for `p` (normalized) with the given tiles.
attn_kernel_manifest manifestFor(const attn_problem &p, int64_t blockQ, int64_t blockK,
                                 int64_t decodeRows) {
  attn_kernel_manifest m{};
  std::memcpy(m.magic, ATTN_KERNEL_MANIFEST_MAGIC, sizeof(m.magic));
  m.manifest_version = ATTN_KERNEL_MANIFEST_VERSION;
  m.manifest_size = sizeof(m);
  m.attnc_major = ATTN_VERSION_MAJOR;
  m.attnc_minor = ATTN_VERSION_MINOR;
  m.attnc_patch = ATTN_VERSION_PATCH;
  m.vector_width = 16;
  m.variant = p.variant;
  m.dtype = p.dtype;
  m.causal = p.causal;
  m.return_lse = p.return_lse;
  m.return_entropy = p.return_entropy;
  m.feature_map = p.feature_map;
  m.normalize = p.normalize;
  m.heads_q = p.heads_q;
  m.heads_kv = p.heads_kv;
  m.head_dim = p.head_dim;
  m.head_dim_v = p.head_dim_v;
  m.window_left = p.window_left;
  m.window_right = p.window_right;
  m.global_tokens = p.global_tokens;
  m.scale = p.scale;
  m.softcap = p.softcap;
  m.block_q = blockQ;
  m.block_k = blockK;
  m.decode_max_rows = decodeRows;
  m.split_keys = 256;
  return m;
}

attn_problem problem(bool entropy) {
  attn_problem p;
  EXPECT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.return_lse = entropy;
  p.return_entropy = entropy;
  return attn::rt::validateProblem(&p);
}

/// A kernel whose code (manifest) is for `p`; the manifest lives in the fixture.
struct PluginCheck : ::testing::Test {
  attn_kernel_manifest manifest{};

  attn_jit_kernel softmaxKernel(const attn_problem &p) {
    manifest = manifestFor(p, 16, 64, 16);
    attn_jit_kernel kernel{};
    kernel.struct_size = sizeof(kernel);
    kernel.softmax_main = softmaxMain;
    kernel.softmax_decode = softmaxDecode;
    kernel.merge = merge;
    kernel.block_q = 16;
    kernel.block_k = 64;
    kernel.decode_max_rows = 16;
    kernel.split_keys = 256;
    kernel.manifest = &manifest;
    return kernel;
  }
};

TEST_F(PluginCheck, CompleteSoftmaxKernel) {
  for (bool entropy : {false, true})
    EXPECT_EQ(kernelDefect(problem(entropy), softmaxKernel(problem(entropy))), "");
}

TEST_F(PluginCheck, SoftmaxMainIsAlwaysNeeded) {
  for (bool entropy : {false, true}) {
    attn_jit_kernel kernel = softmaxKernel(problem(entropy));
    kernel.softmax_main = nullptr;
    EXPECT_EQ(kernelDefect(problem(entropy), kernel), "lacks the softmax_main entry point");
  }
}

// A problem asking for entropy never decodes, so it needs no decode or merge entry.
TEST_F(PluginCheck, DecodeIsNeededWithoutEntropy) {
  attn_jit_kernel noDecode = softmaxKernel(problem(false));
  noDecode.softmax_decode = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), noDecode), "lacks the softmax_decode entry point");
  noDecode = softmaxKernel(problem(true));
  noDecode.softmax_decode = nullptr;
  EXPECT_EQ(kernelDefect(problem(true), noDecode), "");

  attn_jit_kernel noMerge = softmaxKernel(problem(false));
  noMerge.merge = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), noMerge), "lacks the merge entry point");
}

TEST_F(PluginCheck, CodeWithoutManifestIsRefused) {
  attn_jit_kernel kernel = softmaxKernel(problem(false));
  kernel.manifest = nullptr;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "carries no manifest (attn_kernel_manifest)");
}

// Code built for one problem never runs another: every field of the problem is compared.
TEST_F(PluginCheck, ManifestMustBeTheProblems) {
  attn_problem p = problem(false);
  attn_jit_kernel kernel = softmaxKernel(p);
  attn_problem other = p;
  other.heads_q = 2;
  EXPECT_EQ(kernelDefect(other, kernel),
            "was built for heads_q = 1, but is asked to run heads_q = 2");
  other = p;
  other.causal = 1;
  EXPECT_EQ(kernelDefect(other, kernel),
            "was built for causal = 0, but is asked to run causal = 1");
  other = p;
  other.window_left = 7;
  EXPECT_EQ(kernelDefect(other, kernel),
            "was built for window_left = -1, but is asked to run window_left = 7");
  other = p;
  other.scale = 0.5;
  EXPECT_NE(kernelDefect(other, kernel).find("was built for scale = 0.125"), std::string::npos)
      << kernelDefect(other, kernel);
  other = p;
  other.dtype = ATTN_DTYPE_BF16;
  EXPECT_EQ(kernelDefect(other, kernel), "was built for dtype = 0, but is asked to run dtype = 2");
}

// The tiles a launch is split by are the code's: a container that says otherwise is refused.
TEST_F(PluginCheck, TilesMustBeTheManifests) {
  attn_jit_kernel kernel = softmaxKernel(problem(false));
  kernel.block_q = 64;
  EXPECT_EQ(kernelDefect(problem(false), kernel),
            "was generated with block_q = 16, but is described with block_q = 64");
  kernel = softmaxKernel(problem(false));
  kernel.decode_max_rows = 0;
  EXPECT_EQ(kernelDefect(problem(false), kernel),
            "was generated with decode_max_rows = 16, but is described with decode_max_rows = 0");
  kernel = softmaxKernel(problem(false));
  manifest.block_k = 0;
  kernel.block_k = 0;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "names block_k = 0 (expected 1..65536)");
  kernel = softmaxKernel(problem(false));
  manifest.block_q = kernel.block_q = int64_t(1) << 40;
  EXPECT_EQ(kernelDefect(problem(false), kernel),
            "names block_q = 1099511627776 (expected 1..65536)");
}

TEST_F(PluginCheck, ManifestOfAnotherFormatOrVersion) {
  attn_jit_kernel kernel = softmaxKernel(problem(false));
  manifest.magic[0] = 'X';
  EXPECT_NE(kernelDefect(problem(false), kernel).find("a manifest of another format"),
            std::string::npos);
  kernel = softmaxKernel(problem(false));
  manifest.attnc_minor += 1;
  EXPECT_NE(kernelDefect(problem(false), kernel).find("which this runtime"), std::string::npos)
      << kernelDefect(problem(false), kernel);
  kernel = softmaxKernel(problem(false));
  manifest.vector_width = 5;
  EXPECT_EQ(kernelDefect(problem(false), kernel),
            "names a vector width of 5 (expected 4, 8 or 16)");
}

TEST_F(PluginCheck, CpuFeatureBits) {
  // The instruction sets a manifest may name (AMX, AVX512-BF16) pass the structural check (the
  // CPU backend refuses them where the host lacks them); any other bit is a defect.
  attn_jit_kernel kernel = softmaxKernel(problem(false));
  manifest.cpu_features = ATTN_KERNEL_MANIFEST_CPU_AMX | ATTN_KERNEL_MANIFEST_CPU_AVX512BF16;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "");
  manifest.cpu_features = 4u;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "names unknown CPU features 0x4");
}

TEST_F(PluginCheck, ConfigSource) {
  // How the tiles were chosen: heuristic, tuned or given; anything else is a defect.
  attn_jit_kernel kernel = softmaxKernel(problem(false));
  for (uint32_t source : {ATTN_CONFIG_HEURISTIC, ATTN_CONFIG_TUNED, ATTN_CONFIG_GIVEN}) {
    manifest.config_source = source;
    EXPECT_EQ(kernelDefect(problem(false), kernel), "");
  }
  manifest.config_source = 3;
  EXPECT_EQ(kernelDefect(problem(false), kernel), "names an unknown configuration source 3");
}

TEST_F(PluginCheck, LinearNeedsOnlyItsEntry) {
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.variant = ATTN_VARIANT_LINEAR;
  p = attn::rt::validateProblem(&p);
  manifest = manifestFor(p, 1, 64, 64);
  attn_jit_kernel kernel{};
  kernel.struct_size = sizeof(kernel);
  kernel.manifest = &manifest;
  kernel.block_q = 1;
  kernel.block_k = 64;
  kernel.decode_max_rows = 64;
  kernel.split_keys = 256;
  EXPECT_EQ(kernelDefect(p, kernel), "lacks the linear entry point");
  kernel.linear = linear;
  EXPECT_EQ(kernelDefect(p, kernel), "");
}

} // namespace
