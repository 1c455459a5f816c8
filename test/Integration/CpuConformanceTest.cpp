//===- CpuConformanceTest.cpp - every variant on the CPU vs the float64 oracle ---===//
//
// The matrix of ISSUE "CPU backend" item 4, sized for a few minutes on 2 cores: each distinct
// problem compiles one kernel (~0.3 s), each case runs small shapes that are not multiples of any
// tile. Every case uses fresh random inputs and poisoned outputs (ConformanceHarness).
//
//===----------------------------------------------------------------------===//

#include "ConformanceCases.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>

using namespace attn::conformance;

namespace {

/// One context for the whole suite, with the on-disk cache off so every kernel is really built.
class CpuConformance : public ::testing::TestWithParam<Case> {
protected:
  static void SetUpTestSuite() {
    attn_context_options options;
    ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.disk_cache = 0;
    ASSERT_EQ(attn_context_create(&options, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
  }
  static void TearDownTestSuite() { (void)attn_context_destroy(context); }
  static attn_context *context;
};
attn_context *CpuConformance::context = nullptr;

/// Whether /proc/cpuinfo lists `flag` for this CPU (Linux's names: avx512f, avx512_bf16,
/// amx_bf16): which bf16 path a host kernel must take, and which tests can run here.
bool hostHasFlag(const std::string &flag) {
  static const std::string flags = [] {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("flags", 0) == 0)
        return line + " ";
    return std::string();
  }();
  return flags.find(" " + flag + " ") != std::string::npos;
}

/// The bf16 prefill cases (amxCases) on every path the host runs. On the host's own target a
/// kernel takes AMX tiles where the host has AMX-BF16 (VDPBF16PS if the kernel refused the tile
/// permission), else VDPBF16PS where it has AVX512-BF16, else the f32-converting vector kernel; the
/// kernel's feature bits say which it took. On x86-64-v4 (AVX-512 without BF16) every case runs
/// the vector kernel, which an AMX or AVX512-BF16 host otherwise never runs for these shapes.
class CpuBf16Paths : public ::testing::TestWithParam<Case> {
protected:
  static attn_context *create(const char *target) {
    attn_context_options options;
    EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.disk_cache = 0;
    options.cpu_target = target;
    attn_context *context = nullptr;
    EXPECT_EQ(attn_context_create(&options, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
    return context;
  }
  static void SetUpTestSuite() {
    host = create("host");
    if (hostHasFlag("avx512f"))
      v4 = create("x86-64-v4");
  }
  static void TearDownTestSuite() {
    (void)attn_context_destroy(host);
    (void)attn_context_destroy(v4);
    host = v4 = nullptr;
  }
  static attn_context *host, *v4;
};
attn_context *CpuBf16Paths::host = nullptr;
attn_context *CpuBf16Paths::v4 = nullptr;

TEST_P(CpuBf16Paths, HostPathMatchesOracle) {
  const Case &c = GetParam();
  const bool amx = hostHasFlag("amx_bf16"), dpbf16 = hostHasFlag("avx512_bf16");
  for (uint64_t seed : {11u, 4242u}) {
    Outcome outcome = run(host, c, seed);
    ASSERT_TRUE(outcome.ok) << c.name << " (seed " << seed << "): " << outcome.message;
    const uint32_t f = outcome.cpuFeatures;
    if (amx)
      EXPECT_NE(f & (ATTN_CPU_FEATURE_AMX | ATTN_CPU_FEATURE_AVX512BF16), 0u) << c.name;
    else if (dpbf16)
      EXPECT_EQ(f, ATTN_CPU_FEATURE_AVX512BF16) << c.name << ": expected the VDPBF16PS kernel";
    else
      EXPECT_EQ(f, 0u) << c.name << ": expected the vector kernel";
  }
  if (!amx && !dpbf16)
    std::cout << "[ note ] this host has neither AMX-BF16 (amx_bf16) nor AVX512-BF16 "
                 "(avx512_bf16): the vector bf16 kernel ran\n";
}

TEST_P(CpuBf16Paths, VectorAvx512MatchesOracle) {
  if (!v4)
    GTEST_SKIP() << "this host lacks AVX-512 (avx512f): the x86-64-v4 vector kernel cannot run";
  const Case &c = GetParam();
  for (uint64_t seed : {11u, 4242u}) {
    Outcome outcome = run(v4, c, seed);
    ASSERT_TRUE(outcome.ok) << c.name << " (seed " << seed << "): " << outcome.message;
    EXPECT_EQ(outcome.cpuFeatures, 0u) << c.name << ": x86-64-v4 has no AMX or AVX512-BF16";
  }
}

TEST_P(CpuConformance, MatchesOracle) {
  const Case &c = GetParam();
  // Two draws of fresh inputs per case.
  for (uint64_t seed : {11u, 4242u}) {
    Outcome outcome = run(context, c, seed);
    ASSERT_TRUE(outcome.ok) << c.name << " (seed " << seed << "): " << outcome.message;
  }
}

Case make(std::string name, attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv) {
  return makeCase(std::move(name), problem, batch, seqQ, seqKv);
}

std::vector<Case> denseDtypeAndHeadDimCases() {
  std::vector<Case> cases;
  for (attn_dtype dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_F16, ATTN_DTYPE_BF16})
    for (int64_t d : {32, 64, 80, 96, 128, 256}) {
      attn_problem p = softmaxProblem(dtype, 4, 2, d, d);
      p.return_lse = 1;
      cases.push_back(
          make(std::string("dense_") + dtypeName(dtype) + "_D" + std::to_string(d), p, 2, 37, 129));
    }
  return cases;
}

std::vector<Case> shapeCases() {
  std::vector<Case> cases;
  // Dv != D.
  for (auto [d, dv] : {std::pair<int64_t, int64_t>{64, 128}, {128, 64}, {96, 32}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F32, 2, 2, d, dv);
    cases.push_back(make("dv_" + std::to_string(d) + "_" + std::to_string(dv), p, 2, 7, 129));
  }
  // Lengths 1, 7, 129, 1000 in both positions, causal, with LSE and entropy (one kernel).
  attn_problem causal = softmaxProblem(ATTN_DTYPE_F32, 2, 1, 64, 64);
  causal.causal = 1;
  causal.return_lse = 1;
  causal.return_entropy = 1;
  for (int64_t sq : {1, 7, 129, 1000})
    for (int64_t skv : {1, 7, 129, 1000}) {
      if (sq * skv > 129 * 1000)
        continue;
      cases.push_back(make("causal_sq" + std::to_string(sq) + "_skv" + std::to_string(skv), causal,
                           1, sq, skv));
    }
  cases.push_back(make("causal_fully_masked_rows", causal, 2, 200, 70)); // Sq > Skv
  // Grouped-query ratios 1, 4, 8 and MQA.
  for (auto [hq, hkv] : {std::pair<int64_t, int64_t>{4, 4}, {8, 2}, {16, 2}, {8, 1}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_F16, hq, hkv, 64, 64);
    p.causal = 1;
    p.return_lse = 1;
    cases.push_back(make("gqa_" + std::to_string(hq) + "_" + std::to_string(hkv), p, 2, 33, 90));
  }
  // Non-contiguous inputs: BHSD storage passed as BSHD strides.
  attn_problem strided = softmaxProblem(ATTN_DTYPE_BF16, 4, 2, 64, 64);
  strided.causal = 1;
  Case bhsd = make("bhsd_strides", strided, 2, 65, 100);
  bhsd.bhsd = true;
  cases.push_back(bhsd);
  // Logits x100 stay finite and correct.
  attn_problem big = softmaxProblem(ATTN_DTYPE_F32, 2, 2, 64, 64);
  big.return_lse = 1;
  big.return_entropy = 1;
  Case large = make("logits_x100", big, 2, 50, 130);
  large.logitScale = 100.0;
  cases.push_back(large);
  // Explicit scale and softcap.
  attn_problem capped = softmaxProblem(ATTN_DTYPE_BF16, 4, 1, 128, 128);
  capped.causal = 1;
  capped.softcap = 5.0;
  capped.scale = 0.3;
  capped.return_entropy = 1;
  Case cap = make("softcap_scale", capped, 2, 70, 150);
  cap.logitScale = 10.0; // push scores into tanh's saturating range
  cases.push_back(cap);
  return cases;
}

std::vector<Case> decodeCases() {
  // Few query rows against a long KV cache: the runtime splits the KV axis and merges by LSE.
  std::vector<Case> cases;
  for (attn_dtype dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_BF16}) {
    attn_problem p = softmaxProblem(dtype, 8, 1, 128, 128);
    p.return_lse = 1;
    cases.push_back(make(std::string("decode_mqa_") + dtypeName(dtype), p, 1, 1, 5000));
    Case varlen = make(std::string("decode_varlen_") + dtypeName(dtype), p, 2, 2, 4100);
    varlen.seqlensKv = {4100, 2100};
    cases.push_back(varlen);
  }
  attn_problem causal = softmaxProblem(ATTN_DTYPE_F16, 8, 2, 64, 64);
  causal.causal = 1;
  causal.window_left = 1500;
  causal.global_tokens = 4;
  cases.push_back(make("decode_window_sinks", causal, 1, 3, 3000));
  return cases;
}

/// bf16 prefill cases the AMX and VDPBF16PS kernels take where the host has AMX-BF16 or
/// AVX512-BF16 (D a multiple of 32, Dv of 16, more query rows than a decode launch): every mask,
/// varlen, GQA, Dv != D, odd lengths and tails, LSE and entropy, large logits. CpuBf16Paths runs
/// them on every path the host has.
std::vector<Case> amxCases() {
  std::vector<Case> cases;
  auto add = [&](Case c) {
    c.problem.dtype = ATTN_DTYPE_BF16;
    c.name = "amx_" + c.name;
    cases.push_back(std::move(c));
  };
  for (Case c : maskCases(ATTN_TARGET_CPU, 150, 70, 300))
    if (c.problem.head_dim % 32 == 0 && c.problem.head_dim_v % 16 == 0)
      add(c);
  for (Case c : varlenCases(ATTN_TARGET_CPU))
    if (c.problem.variant == ATTN_VARIANT_SOFTMAX && c.problem.head_dim % 32 == 0 &&
        c.problem.head_dim_v % 16 == 0)
      add(c);
  for (auto [d, dv] : {std::pair<int64_t, int64_t>{64, 128}, {128, 80}, {96, 32}, {192, 256}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_BF16, 4, 2, d, dv);
    p.return_lse = 1;
    add(make("dv_" + std::to_string(d) + "_" + std::to_string(dv), p, 2, 45, 97));
  }
  for (auto [hq, hkv] : {std::pair<int64_t, int64_t>{8, 1}, {32, 8}, {12, 4}}) {
    attn_problem p = softmaxProblem(ATTN_DTYPE_BF16, hq, hkv, 128, 128);
    p.causal = 1;
    p.return_lse = 1;
    p.return_entropy = 1;
    add(make("gqa_" + std::to_string(hq) + "_" + std::to_string(hkv), p, 2, 133, 261));
  }
  attn_problem big = softmaxProblem(ATTN_DTYPE_BF16, 4, 2, 64, 64);
  big.return_lse = 1;
  big.return_entropy = 1;
  Case large = make("logits_x100", big, 2, 50, 130);
  large.logitScale = 100.0;
  add(large);
  attn_problem causal = softmaxProblem(ATTN_DTYPE_BF16, 4, 4, 64, 64);
  causal.causal = 1;
  add(make("causal_fully_masked_rows", causal, 2, 200, 70));
  return cases;
}

std::string caseName(const ::testing::TestParamInfo<Case> &info) { return info.param.name; }

} // namespace

INSTANTIATE_TEST_SUITE_P(DtypeHeadDim, CpuConformance,
                         ::testing::ValuesIn(denseDtypeAndHeadDimCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Shapes, CpuConformance, ::testing::ValuesIn(shapeCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Masks, CpuConformance,
                         ::testing::ValuesIn(maskCases(ATTN_TARGET_CPU, 300, 77, 260)), caseName);
INSTANTIATE_TEST_SUITE_P(Varlen, CpuConformance, ::testing::ValuesIn(varlenCases(ATTN_TARGET_CPU)),
                         caseName);
INSTANTIATE_TEST_SUITE_P(Decode, CpuConformance, ::testing::ValuesIn(decodeCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Linear, CpuConformance, ::testing::ValuesIn(linearCases(ATTN_TARGET_CPU)),
                         caseName);
INSTANTIATE_TEST_SUITE_P(Bf16Prefill, CpuBf16Paths, ::testing::ValuesIn(amxCases()), caseName);
INSTANTIATE_TEST_SUITE_P(Paged, CpuConformance, ::testing::ValuesIn(pagedCases(ATTN_TARGET_CPU)),
                         caseName);
INSTANTIATE_TEST_SUITE_P(LaunchScale, CpuConformance,
                         ::testing::ValuesIn(launchScaleCases(ATTN_TARGET_CPU)), caseName);
INSTANTIATE_TEST_SUITE_P(Packed, CpuConformance, ::testing::ValuesIn(packedCases(ATTN_TARGET_CPU)),
                         caseName);
INSTANTIATE_TEST_SUITE_P(HeadValues, CpuConformance,
                         ::testing::ValuesIn(headValueCases(ATTN_TARGET_CPU)), caseName);
