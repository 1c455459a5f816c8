//===- VulkanConformanceTest.cpp - the Vulkan backend vs the float64 oracle ===//
//
// The CPU suite's matrix on the Vulkan backend (the default device: Mesa's lavapipe in CI), sized
// for lavapipe's speed: every variant (softmax masks, softcap, LSE/entropy, linear attention with
// each feature map), the three dtypes, D in {32, 64, 96, 128, 256}, odd lengths, GQA, varlen,
// fully masked rows, split-KV decode. Fresh random inputs and poisoned
// outputs (ConformanceHarness). Without a Vulkan device the suite skips with the runtime's
// message, unless ATTN_REQUIRE_VULKAN=1 (scripts/test.sh sets it: CI must not skip silently).
//
//===----------------------------------------------------------------------===//

#include "ConformanceHarness.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

using namespace attn::conformance;

namespace {

const char *dtypeName(attn_dtype dtype) {
  return dtype == ATTN_DTYPE_F32 ? "f32" : dtype == ATTN_DTYPE_F16 ? "f16" : "bf16";
}

class VulkanConformance : public ::testing::TestWithParam<Case> {
protected:
  static void SetUpTestSuite() {
    attn_context_options options;
    ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.disk_cache = 0;
    ASSERT_EQ(attn_context_create(&options, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
    // Is there a device? A small problem answers (and says why not).
    attn_problem probe;
    ASSERT_EQ(attn_problem_init(&probe), ATTN_STATUS_SUCCESS);
    probe.target = ATTN_TARGET_VULKAN;
    attn_kernel *kernel = nullptr;
    attn_status status = attn_kernel_create(context, &probe, &kernel);
    if (status == ATTN_STATUS_UNSUPPORTED)
      unavailable = attn_last_error();
    else
      ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
    (void)attn_kernel_destroy(kernel);
  }
  static void TearDownTestSuite() { (void)attn_context_destroy(context); }
  void SetUp() override {
    if (unavailable.empty())
      return;
    const char *require = std::getenv("ATTN_REQUIRE_VULKAN");
    if (require && std::strcmp(require, "1") == 0)
      FAIL() << "ATTN_REQUIRE_VULKAN=1, but: " << unavailable;
    GTEST_SKIP() << unavailable;
  }
  static attn_context *context;
  static std::string unavailable;
};
attn_context *VulkanConformance::context = nullptr;
std::string VulkanConformance::unavailable;

TEST_P(VulkanConformance, MatchesOracle) {
  const Case &c = GetParam();
  for (uint64_t seed : {7u, 2027u}) {
    Outcome outcome = run(context, c, seed);
    ASSERT_TRUE(outcome.ok) << c.name << " (seed " << seed << "): " << outcome.message;
  }
}

attn_problem vulkan(attn_problem p) {
  p.target = ATTN_TARGET_VULKAN;
  return p;
}

Case make(std::string name, attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv) {
  Case c;
  c.name = std::move(name);
  c.problem = vulkan(problem);
  c.batch = batch;
  c.seqQ = seqQ;
  c.seqKv = seqKv;
  return c;
}

std::vector<Case> dtypeHeadDimCases() {
  std::vector<Case> cases;
  for (attn_dtype dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16})
    for (int64_t d : {32, 64, 96, 128, 256}) {
      attn_problem p = softmaxProblem(dtype, 4, 2, d, d);
      p.return_lse = 1;
      cases.push_back(
          make(std::string("dense_") + dtypeName(dtype) + "_D" + std::to_string(d), p, 2, 37, 77));
    }
  return cases;
}

std::vector<Case> shapeCases() {
  std::vector<Case> cases;
  for (auto [d, dv] : {std::pair<int64_t, int64_t>{64, 128}, {128, 64}, {96, 32}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 2, 2, d, dv);
    cases.push_back(make("dv_" + std::to_string(d) + "_" + std::to_string(dv), p, 2, 7, 129));
  }
  attn_problem causal = softmaxProblem(ATTN_DTYPE_F32, 2, 1, 64, 64);
  causal.causal = 1;
  causal.return_lse = 1;
  causal.return_entropy = 1;
  for (auto [sq, skv] : {std::pair<int64_t, int64_t>{1, 1}, {1, 129}, {7, 7}, {129, 7}, {129, 300}})
    cases.push_back(
        make("causal_sq" + std::to_string(sq) + "_skv" + std::to_string(skv), causal, 1, sq, skv));
  cases.push_back(make("causal_fully_masked_rows", causal, 2, 90, 40)); // Sq > Skv
  for (auto [hq, hkv] : {std::pair<int64_t, int64_t>{4, 4}, {8, 2}, {16, 2}, {8, 1}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F16, hq, hkv, 64, 64);
    p.causal = 1;
    p.return_lse = 1;
    cases.push_back(make("gqa_" + std::to_string(hq) + "_" + std::to_string(hkv), p, 2, 33, 90));
  }
  attn_problem wide =
      softmaxProblem(ATTN_DTYPE_F32, 64, 1, 32, 32); // a group wider than a workgroup
  cases.push_back(make("gqa_64_1", wide, 1, 5, 70));
  attn_problem strided = softmaxProblem(ATTN_DTYPE_BF16, 4, 2, 64, 64);
  strided.causal = 1;
  Case bhsd = make("bhsd_strides", strided, 2, 65, 100);
  bhsd.bhsd = true;
  cases.push_back(bhsd);
  attn_problem big = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 64, 64);
  big.return_lse = 1;
  big.return_entropy = 1;
  Case large = make("logits_x100", big, 2, 50, 130);
  large.logitScale = 100.0;
  cases.push_back(large);
  attn_problem capped = softmaxProblem(ATTN_DTYPE_BF16, 4, 1, 128, 128);
  capped.causal = 1;
  capped.softcap = 5.0;
  capped.scale = 0.3;
  capped.return_entropy = 1;
  Case cap = make("softcap_scale", capped, 2, 70, 150);
  cap.logitScale = 10.0;
  cases.push_back(cap);
  return cases;
}

std::vector<Case> maskCases() {
  std::vector<Case> cases;
  struct Mask {
    const char *name;
    int causal;
    int64_t left, right, globals;
  };
  for (Mask m :
       {Mask{"band_0_0", 0, 0, 0, 0}, Mask{"causal_window_1", 1, 1, -1, 0},
        Mask{"causal_window_16", 1, 16, -1, 0}, Mask{"band_64_64", 0, 64, 64, 0},
        Mask{"band_left_unbounded_right_5", 0, -1, 5, 0},
        Mask{"band_100_right_unbounded", 0, 100, -1, 0},
        Mask{"sink_1_causal_window_8", 1, 8, -1, 1}, Mask{"sinks_4_causal_window_63", 1, 63, -1, 4},
        Mask{"longformer_globals_70", 0, 16, 16, 70}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 32, 32);
    p.causal = m.causal;
    p.window_left = m.left;
    p.window_right = m.right;
    p.global_tokens = m.globals;
    p.return_lse = 1;
    p.return_entropy = 1;
    cases.push_back(make(m.name, p, 2, 150, 150));
    cases.push_back(make(std::string(m.name) + "_sq_lt_skv", p, 1, 37, 160));
  }
  return cases;
}

std::vector<Case> varlenCases() {
  std::vector<Case> cases;
  attn_problem p = softmaxProblem(ATTN_DTYPE_F16, 4, 2, 64, 64);
  p.causal = 1;
  p.return_lse = 1;
  p.return_entropy = 1;
  Case c = make("varlen_causal", p, 4, 100, 150);
  c.seqlensQ = {100, 37, 1, 0};
  c.seqlensKv = {150, 37, 90, 5};
  cases.push_back(c);
  Case kvOnly = make("varlen_kv_cache_empty_batch", p, 3, 5, 300);
  kvOnly.seqlensKv = {300, 0, 129};
  cases.push_back(kvOnly);
  attn_problem window = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  window.window_left = 20;
  window.window_right = 3;
  window.global_tokens = 2;
  Case w = make("varlen_window_globals", window, 3, 90, 120);
  w.seqlensQ = {90, 40, 13};
  w.seqlensKv = {120, 13, 40};
  cases.push_back(w);
  return cases;
}

std::vector<Case> decodeCases() {
  // Few query rows against a long KV: split-KV partials merged by LSE (attn_decode + attn_merge).
  std::vector<Case> cases;
  for (attn_dtype dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16}) {
    attn_problem p = softmaxProblem(dtype, 8, 1, 128, 128);
    p.return_lse = 1;
    cases.push_back(make(std::string("decode_mqa_") + dtypeName(dtype), p, 1, 1, 3000));
  }
  attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 64, 64);
  Case varlen = make("decode_varlen", p, 2, 2, 2100);
  varlen.seqlensKv = {2100, 700};
  cases.push_back(varlen);
  attn_problem causal = softmaxProblem(ATTN_DTYPE_F16, 8, 2, 64, 64);
  causal.causal = 1;
  causal.window_left = 1500;
  causal.global_tokens = 4;
  cases.push_back(make("decode_window_sinks", causal, 1, 3, 3000));
  return cases;
}

std::vector<Case> linearCases() {
  std::vector<Case> cases;
  struct Lin {
    attn_feature_map map;
    int causal, normalize;
    attn_dtype dtype;
    const char *name;
  };
  for (Lin l : {Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 0, 1, ATTN_DTYPE_F32, "linear_elu_noncausal"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 1, 1, ATTN_DTYPE_F32, "linear_elu_causal"},
                Lin{ATTN_FEATURE_MAP_RELU, 1, 0, ATTN_DTYPE_F32, "linear_relu_causal_raw"},
                Lin{ATTN_FEATURE_MAP_IDENTITY, 0, 0, ATTN_DTYPE_F32, "linear_identity_raw"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 1, 1, ATTN_DTYPE_BF16, "linear_elu_causal_bf16"},
                Lin{ATTN_FEATURE_MAP_ELU_PLUS_ONE, 0, 1, ATTN_DTYPE_F16, "linear_elu_f16"}}) {
    attn_problem p = linearProblem(l.dtype, 4, 2, 64, 32);
    p.feature_map = l.map;
    p.causal = l.causal;
    p.normalize = l.normalize;
    cases.push_back(make(l.name, p, 2, 129, 200));
  }
  attn_problem wide = linearProblem(ATTN_DTYPE_F32, 2, 2, 128, 256); // Dv past one workgroup
  wide.causal = 1;
  cases.push_back(make("linear_causal_dv256_sq_gt_skv", wide, 1, 90, 40));
  attn_problem scaled = linearProblem(ATTN_DTYPE_F32, 2, 2, 32, 32);
  scaled.scale = 0.25;
  scaled.causal = 1;
  Case varlen = make("linear_varlen_scaled", scaled, 3, 40, 50);
  varlen.seqlensQ = {40, 10, 0};
  varlen.seqlensKv = {50, 30, 7};
  cases.push_back(varlen);
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) { return info.param.name; }

} // namespace

INSTANTIATE_TEST_SUITE_P(DtypeHeadDim, VulkanConformance, ::testing::ValuesIn(dtypeHeadDimCases()),
                         caseName);
INSTANTIATE_TEST_SUITE_P(Shapes, VulkanConformance, ::testing::ValuesIn(shapeCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Masks, VulkanConformance, ::testing::ValuesIn(maskCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Varlen, VulkanConformance, ::testing::ValuesIn(varlenCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Decode, VulkanConformance, ::testing::ValuesIn(decodeCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Linear, VulkanConformance, ::testing::ValuesIn(linearCases()), caseName);
