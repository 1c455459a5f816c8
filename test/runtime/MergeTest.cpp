//===- MergeTest.cpp - attn_kernel_merge: partial results merged by LSE ----===//
//
// Attention over keys [0, 25) and [25, 40) launched as two parts, then merged with the kernel's
// merge: the result is the launch over all 40 keys (f32 and bf16 parts, separate output and in
// place). Bad arguments are refused before anything is written.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "attn/Oracle/TestUtil.h"

#include <cmath>
#include <cstring>

using namespace attn::rttest;

namespace {

constexpr int64_t B = 2, Sq = 5, Skv = 40, Split = 25, Hq = 4, Hkv = 2, D = 64;

struct Merged {
  attn_kernel *kernel;
  attn_dtype dtype;
  Tensor q{dtype, {B, Sq, Hq, D}}, k{dtype, {B, Skv, Hkv, D}}, v{dtype, {B, Skv, Hkv, D}};
  Tensor whole{dtype, {B, Sq, Hq, D}};
  Tensor parts{dtype, {2 * B, Sq, Hq, D}}; // part p: batch entries [p * B, (p + 1) * B)
  Tensor out{dtype, {B, Sq, Hq, D}};
  std::vector<float> wholeLse = std::vector<float>(B * Hq * Sq);
  std::vector<float> partLse = std::vector<float>(2 * B * Hq * Sq);
  std::vector<float> outLse = std::vector<float>(B * Hq * Sq);
  const int64_t partElements = B * Sq * Hq * D;

  Merged(attn_kernel *kernel, attn_dtype dtype) : kernel(kernel), dtype(dtype) {
    q.fillRandom(1);
    k.fillRandom(2);
    v.fillRandom(3);
    out.poison();
    attn_launch_args a = launchArgs(q, k, v, whole);
    a.lse = wholeLse.data();
    EXPECT_EQ(attn_kernel_launch(kernel, &a), ATTN_STATUS_SUCCESS) << attn_last_error();
    for (int p = 0; p < 2; ++p) {
      attn_launch_args part = launchArgs(q, k, v, whole);
      const int64_t first = p ? Split : 0, keys = p ? Skv - Split : Split;
      const size_t es = dtype == ATTN_DTYPE_F32 ? 4 : 2;
      part.seq_kv = keys;
      part.k.data = static_cast<char *>(k.data()) + first * Hkv * D * es;
      part.v.data = static_cast<char *>(v.data()) + first * Hkv * D * es;
      part.o = parts.view();
      part.o.data = static_cast<char *>(parts.data()) + p * partElements * es;
      part.lse = partLse.data() + p * B * Hq * Sq;
      EXPECT_EQ(attn_kernel_launch(kernel, &part), ATTN_STATUS_SUCCESS) << attn_last_error();
    }
  }
  attn_merge_args args() {
    attn_merge_args a;
    EXPECT_EQ(attn_merge_args_init(&a), ATTN_STATUS_SUCCESS);
    a.num_parts = 2;
    a.batch = B;
    a.seq_q = Sq;
    a.o_parts = parts.view();
    a.o_part_stride = partElements;
    a.lse_parts = partLse.data();
    a.o = out.view();
    a.lse = outLse.data();
    return a;
  }
  /// Largest difference from the whole launch, of `o` (batch entries [0, B)) and its LSE.
  double error(const Tensor &o, const float *lse) const {
    double worst = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t s = 0; s < Sq; ++s)
        for (int64_t h = 0; h < Hq; ++h) {
          for (int64_t d = 0; d < D; ++d) {
            double e = std::fabs(o.get(b, s, h, d) - whole.get(b, s, h, d));
            worst = e > worst || std::isnan(e) ? e : worst;
          }
          size_t at = size_t((b * Hq + h) * Sq + s);
          double e = std::fabs(lse[at] - wholeLse[at]);
          worst = e > worst || std::isnan(e) ? e : worst;
        }
    return worst;
  }
};

class KernelMerge : public ::testing::TestWithParam<attn_dtype> {};

TEST_P(KernelMerge, PartsMergeIntoTheWhole) {
  ContextPtr context = makeContext(2);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, GetParam(), Hq, Hkv, D, D);
  p.return_lse = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, kernel);
  Merged m(kernel.get(), GetParam());
  // bf16 parts are rounded before the merge: the tolerance of one more rounding.
  const double tol = GetParam() == ATTN_DTYPE_F32 ? 1e-5 : 2e-2;
  attn_merge_args a = m.args();
  ASSERT_EQ(attn_kernel_merge(kernel.get(), &a), ATTN_STATUS_SUCCESS) << attn_last_error();
  EXPECT_LE(m.error(m.out, m.outLse.data()), tol);
  // In place: into part 0 and its LSE.
  a.o = m.parts.view();
  a.lse = m.partLse.data();
  ASSERT_EQ(attn_kernel_merge(kernel.get(), &a), ATTN_STATUS_SUCCESS) << attn_last_error();
  EXPECT_LE(m.error(m.parts, m.partLse.data()), tol);
}

INSTANTIATE_TEST_SUITE_P(Dtypes, KernelMerge, ::testing::Values(ATTN_DTYPE_F32, ATTN_DTYPE_BF16),
                         [](const ::testing::TestParamInfo<attn_dtype> &info) {
                           return info.param == ATTN_DTYPE_F32 ? "f32" : "bf16";
                         });

TEST(KernelMerge, BadArgumentsWriteNothing) {
  ContextPtr context = makeContext(1);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, Hq, Hkv, D, D);
  p.return_lse = 1;
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, kernel);
  Merged m(kernel.get(), ATTN_DTYPE_F32);
  const std::vector<uint32_t> before = m.out.storage();
  auto expectFails = [&](attn_merge_args a, const char *needle) {
    EXPECT_EQ(attn_kernel_merge(kernel.get(), &a), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), needle), nullptr)
        << attn_last_error() << " (expected " << needle << ")";
    EXPECT_EQ(m.out.storage(), before);
  };
  attn_merge_args a = m.args();
  a.num_parts = 0;
  expectFails(a, "attn_merge_args.num_parts is 0");
  a = m.args();
  a.o_part_stride = 0;
  expectFails(a, "attn_merge_args.o_part_stride is 0, expected > 0");
  a = m.args();
  a.lse_parts = nullptr;
  expectFails(a, "attn_merge_args.lse_parts is NULL");
  a = m.args();
  a.o.strides[3] = 2;
  expectFails(a, "attn_merge_args.o.strides[3] is 2");
  a = m.args();
  a.o = m.parts.view(); // part 1 as the output: overlaps the parts without being part 0
  a.o.data = static_cast<float *>(a.o.data) + m.partElements;
  expectFails(a, "attn_merge_args.o overlaps the parts without being part 0");
  a = m.args();
  a.struct_size = 8;
  expectFails(a, "attn_merge_args.struct_size is 8");
  EXPECT_EQ(attn_kernel_merge(kernel.get(), nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  attn_problem lin = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, Hq, Hkv, D, D);
  KernelPtr linear;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), lin, linear);
  a = m.args();
  EXPECT_EQ(attn_kernel_merge(linear.get(), &a), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "linear attention kernel"), nullptr);
}

} // namespace
