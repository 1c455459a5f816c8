//===- OracleTest.cpp - hand-computed checks of the float64 reference -----===//
//
// Every expected value here is written out by hand (literal scores, explicit
// std::exp), never obtained from the oracle's own helpers, so a wrong oracle
// fails these tests.
//
//===----------------------------------------------------------------------===//
#include "attn/Oracle/Oracle.h"
#include "attn/Oracle/TestUtil.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <vector>

using namespace attn::oracle;
using namespace attn::testutil;

namespace {

constexpr double kTol = 1e-12;
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kSentinel = 12345.0;

float floatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

bool isHalfNaN(uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }
bool isBf16NaN(uint16_t b) { return (b & 0x7F80) == 0x7F80 && (b & 0x007F) != 0; }

/// Softmax of literal scores over literal values (Dv = 1), for expectations.
struct Row {
  double o, lse, entropy;
};
Row softmaxRow(const std::vector<double> &scores, const std::vector<double> &values) {
  double z = 0.0;
  for (double s : scores)
    z += std::exp(s);
  Row row{0.0, std::log(z), 0.0};
  for (size_t j = 0; j < scores.size(); ++j) {
    const double p = std::exp(scores[j]) / z;
    row.o += p * values[j];
    row.entropy -= p * std::log(p);
  }
  return row;
}

/// Keys [begin, end) of a [B,S,H,D] tensor as a new [B,end-begin,H,D] tensor.
std::vector<double> sliceSeq(const std::vector<double> &t, int64_t batch, int64_t seq,
                             int64_t heads, int64_t dim, int64_t begin, int64_t end) {
  std::vector<double> out;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = begin; s < end; ++s)
      for (int64_t x = 0; x < heads * dim; ++x)
        out.push_back(t[size_t((b * seq + s) * heads * dim + x)]);
  return out;
}

} // namespace

//===--------------------------------------------------------------------===//
// Softmax attention
//===--------------------------------------------------------------------===//

TEST(Attention, HandComputed2x3OutputLseEntropy) {
  AttentionProblem p;
  p.seqQ = 2, p.seqKv = 3, p.headDim = 2, p.headDimV = 2, p.scale = 0.5;
  const std::vector<double> q = {1, 0, /**/ 0, 2};
  const std::vector<double> k = {1, 1, /**/ 2, 0, /**/ 0, -1};
  const std::vector<double> v = {1, 2, /**/ 3, -1, /**/ 0, 4};
  std::vector<double> o(4, kNaN), lse(2, kNaN), ent(2, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), ent.data());

  // Row 0: <q0,k> = 1, 2, 0 -> scores 0.5, 1.0, 0.0.
  const double z0 = std::exp(0.5) + std::exp(1.0) + std::exp(0.0);
  const double a0 = std::exp(0.5) / z0, a1 = std::exp(1.0) / z0, a2 = std::exp(0.0) / z0;
  EXPECT_NEAR(o[0], a0 * 1 + a1 * 3 + a2 * 0, kTol);
  EXPECT_NEAR(o[1], a0 * 2 + a1 * -1 + a2 * 4, kTol);
  EXPECT_NEAR(lse[0], std::log(z0), kTol);
  EXPECT_NEAR(ent[0], -(a0 * std::log(a0) + a1 * std::log(a1) + a2 * std::log(a2)), kTol);
  // Row 1: <q1,k> = 2, 0, -2 -> scores 1.0, 0.0, -1.0.
  const double z1 = std::exp(1.0) + std::exp(0.0) + std::exp(-1.0);
  const double b0 = std::exp(1.0) / z1, b1 = std::exp(0.0) / z1, b2 = std::exp(-1.0) / z1;
  EXPECT_NEAR(o[2], b0 * 1 + b1 * 3 + b2 * 0, kTol);
  EXPECT_NEAR(o[3], b0 * 2 + b1 * -1 + b2 * 4, kTol);
  EXPECT_NEAR(lse[1], std::log(z1), kTol);
  EXPECT_NEAR(ent[1], -(b0 * std::log(b0) + b1 * std::log(b1) + b2 * std::log(b2)), kTol);
  // The same numbers as decimal literals (computed independently in Python).
  EXPECT_NEAR(lse[0], 1.6802696706417346, 1e-12);
  EXPECT_NEAR(o[0], 1.8266370588854606, 1e-12);
  EXPECT_NEAR(ent[1], 0.8323955818399389, 1e-12);

  // Statistics are optional.
  std::vector<double> o2(4, kNaN);
  attention(p, q.data(), k.data(), v.data(), o2.data(), nullptr, nullptr);
  EXPECT_EQ(o2, o);
}

TEST(Attention, DefaultScaleIsInverseSqrtHeadDim) {
  AttentionProblem p;
  p.seqKv = 2, p.headDim = 4;
  const std::vector<double> q = {1, 1, 1, 1};
  const std::vector<double> k = {1, 0, 0, 0, /**/ 0, 0, 0, 0};
  const std::vector<double> v = {3, 5};
  double o = kNaN, lse = kNaN;
  attention(p, q.data(), k.data(), v.data(), &o, &lse, nullptr);
  // scale = 1/sqrt(4) = 0.5 -> scores 0.5, 0.
  EXPECT_NEAR(lse, std::log(std::exp(0.5) + std::exp(0.0)), kTol);
  EXPECT_NEAR(o, (3 * std::exp(0.5) + 5 * std::exp(0.0)) / (std::exp(0.5) + 1.0), kTol);
}

TEST(Attention, CausalBottomRightAlignmentShortQuery) {
  AttentionProblem p;
  p.seqQ = 2, p.seqKv = 4, p.causal = true;
  // p_i = i + 2: row 0 sees keys 0..2, row 1 sees keys 0..3.
  EXPECT_TRUE(isVisible(p, 2, 4, 0, 2));
  EXPECT_FALSE(isVisible(p, 2, 4, 0, 3));
  EXPECT_TRUE(isVisible(p, 2, 4, 1, 3));
  EXPECT_FALSE(isVisible(p, 2, 4, 1, 4)); // beyond Lkv

  // q = 0 makes every visible weight equal, so o is a plain mean.
  const std::vector<double> q = {0, 0}, k = {1, 2, 3, 4}, v = {1, 2, 4, 8};
  std::vector<double> o(2, kNaN), lse(2, kNaN), ent(2, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), ent.data());
  EXPECT_NEAR(o[0], 7.0 / 3.0, kTol);
  EXPECT_NEAR(o[1], 15.0 / 4.0, kTol);
  EXPECT_NEAR(lse[0], std::log(3.0), kTol);
  EXPECT_NEAR(lse[1], std::log(4.0), kTol);
  EXPECT_NEAR(ent[0], std::log(3.0), kTol);
  EXPECT_NEAR(ent[1], std::log(4.0), kTol);
}

TEST(Attention, CausalLongQueryHasFullyMaskedRow) {
  AttentionProblem p;
  p.seqQ = 3, p.seqKv = 2, p.causal = true, p.scale = 1.0;
  // p_i = i - 1: row 0 sees nothing, row 1 sees key 0, row 2 sees keys 0, 1.
  const std::vector<double> q = {1, 1, 1}, k = {0, 0}, v = {5, 9};
  std::vector<double> o(3, kNaN), lse(3, kNaN), ent(3, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), ent.data());
  EXPECT_EQ(o[0], 0.0);
  EXPECT_EQ(lse[0], -kInf);
  EXPECT_EQ(ent[0], 0.0);
  EXPECT_NEAR(o[1], 5.0, kTol);
  EXPECT_NEAR(lse[1], 0.0, kTol);
  EXPECT_NEAR(ent[1], 0.0, kTol);
  EXPECT_NEAR(o[2], 7.0, kTol);
  EXPECT_NEAR(lse[2], std::log(2.0), kTol);
  EXPECT_NEAR(ent[2], std::log(2.0), kTol);
}

TEST(Visibility, WindowEdges) {
  AttentionProblem p;
  p.windowLeft = 2, p.windowRight = 1;
  // Lq = Lkv = 10, row 5 (p = 5): keys 3..6.
  EXPECT_FALSE(isVisible(p, 10, 10, 5, 2));
  EXPECT_TRUE(isVisible(p, 10, 10, 5, 3));
  EXPECT_TRUE(isVisible(p, 10, 10, 5, 6));
  EXPECT_FALSE(isVisible(p, 10, 10, 5, 7));
  // Lq = 4, Lkv = 10, row 1 (p = 7): keys 5..8, bottom-right aligned.
  EXPECT_FALSE(isVisible(p, 4, 10, 1, 4));
  EXPECT_TRUE(isVisible(p, 4, 10, 1, 5));
  EXPECT_TRUE(isVisible(p, 4, 10, 1, 8));
  EXPECT_FALSE(isVisible(p, 4, 10, 1, 9));
  // Right bound near Lkv never admits keys >= Lkv.
  EXPECT_FALSE(isVisible(p, 10, 10, 9, 10));

  AttentionProblem leftOnly; // right = 0, left unbounded
  leftOnly.windowRight = 0;
  EXPECT_TRUE(isVisible(leftOnly, 10, 10, 9, 0));
  EXPECT_TRUE(isVisible(leftOnly, 10, 10, 4, 4));
  EXPECT_FALSE(isVisible(leftOnly, 10, 10, 4, 5));
  EXPECT_FALSE(isVisible(leftOnly, 10, 10, 0, -1));
}

TEST(Visibility, WindowWithCausal) {
  AttentionProblem p;
  p.causal = true, p.windowLeft = 1, p.windowRight = 3;
  // Causal clips the right side of the band to p.
  EXPECT_TRUE(isVisible(p, 8, 8, 4, 4));
  EXPECT_FALSE(isVisible(p, 8, 8, 4, 5));
  EXPECT_TRUE(isVisible(p, 8, 8, 4, 3));
  EXPECT_FALSE(isVisible(p, 8, 8, 4, 2));
}

TEST(Visibility, GlobalTokens) {
  AttentionProblem p;
  p.windowLeft = 1, p.windowRight = 1, p.globalTokens = 2;
  // Row 7: sinks 0, 1 and band 6..8.
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 0));
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 1));
  EXPECT_FALSE(isVisible(p, 10, 10, 7, 2));
  EXPECT_FALSE(isVisible(p, 10, 10, 7, 5));
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 6));
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 8));
  EXPECT_FALSE(isVisible(p, 10, 10, 7, 9));
  // Row 1 (p = 1 < G) is a global query: it sees every key below Lkv.
  for (int64_t j = 0; j < 10; ++j)
    EXPECT_TRUE(isVisible(p, 10, 10, 1, j)) << "j=" << j;
  EXPECT_FALSE(isVisible(p, 10, 10, 1, 10));
  // Row 2 (p = 2 = G) is not global: sinks plus band 1..3.
  EXPECT_TRUE(isVisible(p, 10, 10, 2, 3));
  EXPECT_FALSE(isVisible(p, 10, 10, 2, 4));
  // Global-ness uses the aligned position: Lq = 2, Lkv = 10, row 0 has p = 8.
  EXPECT_FALSE(isVisible(p, 2, 10, 0, 4));
}

TEST(Visibility, GlobalTokensRespectCausal) {
  AttentionProblem p;
  p.causal = true, p.windowLeft = 1, p.windowRight = 0, p.globalTokens = 2;
  // Global query row 1 still may not look ahead.
  EXPECT_TRUE(isVisible(p, 10, 10, 1, 0));
  EXPECT_TRUE(isVisible(p, 10, 10, 1, 1));
  EXPECT_FALSE(isVisible(p, 10, 10, 1, 2));
  // Row 7: sinks, band 6..7, nothing ahead.
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 0));
  EXPECT_FALSE(isVisible(p, 10, 10, 7, 5));
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 6));
  EXPECT_TRUE(isVisible(p, 10, 10, 7, 7));
  EXPECT_FALSE(isVisible(p, 10, 10, 7, 8));
}

TEST(Attention, WindowAndGlobalMaskApplied) {
  AttentionProblem p;
  p.seqQ = 4, p.seqKv = 4, p.windowLeft = 1, p.windowRight = 0, p.globalTokens = 1;
  const std::vector<double> q = {0, 0, 0, 0}, k = {1, 1, 1, 1}, v = {1, 10, 100, 1000};
  std::vector<double> o(4, kNaN), lse(4, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), nullptr);
  // Row 0 is global (p = 0 < G): all keys. Row 3: sink 0 and band 2..3.
  EXPECT_NEAR(o[0], 1111.0 / 4.0, kTol);
  EXPECT_NEAR(o[1], 11.0 / 2.0, kTol);
  EXPECT_NEAR(o[2], 111.0 / 3.0, kTol);
  EXPECT_NEAR(o[3], 1101.0 / 3.0, kTol);
  EXPECT_NEAR(lse[3], std::log(3.0), kTol);
}

TEST(Attention, SoftcapOnOneElement) {
  AttentionProblem p;
  p.seqKv = 2, p.scale = 1.0, p.softcap = 5.0;
  const std::vector<double> q = {3}, k = {2, -1}, v = {1, -1};
  double o = kNaN, lse = kNaN;
  attention(p, q.data(), k.data(), v.data(), &o, &lse, nullptr);
  const double s0 = 5.0 * std::tanh(6.0 / 5.0), s1 = 5.0 * std::tanh(-3.0 / 5.0);
  EXPECT_NEAR(lse, std::log(std::exp(s0) + std::exp(s1)), kTol);
  EXPECT_NEAR(lse, 4.1693282102137905, 1e-12);
  EXPECT_NEAR(o, (std::exp(s0) - std::exp(s1)) / (std::exp(s0) + std::exp(s1)), kTol);
  // Without the cap the answer is clearly different (the cap matters here).
  EXPECT_GT(std::abs(lse - std::log(std::exp(6.0) + std::exp(-3.0))), 1.0);
}

TEST(Attention, GroupedQueryHeadMapping) {
  AttentionProblem p;
  p.seqKv = 2, p.headsQ = 4, p.headsKv = 2, p.scale = 1.0;
  const std::vector<double> q = {1, 2, 3, 4}; // one scalar per query head
  // [Skv, Hkv]: kv head 0 has k = (1, 0), v = (10, 20); kv head 1 k = (0, 2), v = (-5, 7).
  const std::vector<double> k = {1, 0, /**/ 0, 2}, v = {10, -5, /**/ 20, 7};
  std::vector<double> o(4, kNaN), lse(4, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), nullptr);

  const double kvK[2][2] = {{1, 0}, {0, 2}}, kvV[2][2] = {{10, 20}, {-5, 7}};
  auto expected = [&](int h, int g) {
    const double e0 = std::exp(q[h] * kvK[g][0]), e1 = std::exp(q[h] * kvK[g][1]);
    return (e0 * kvV[g][0] + e1 * kvV[g][1]) / (e0 + e1);
  };
  for (int h = 0; h < 4; ++h)
    EXPECT_NEAR(o[h], expected(h, h / 2), kTol) << "head " << h;
  // The construction distinguishes h / 2 from h % 2.
  EXPECT_GT(std::abs(expected(1, 0) - expected(1, 1)), 1.0);
  EXPECT_GT(std::abs(expected(2, 1) - expected(2, 0)), 1.0);
}

TEST(Attention, VarlenLeavesPaddingRowsAndIgnoresPaddedKeys) {
  // B = 2, Sq = 3, Skv = 4; lengths (Lq, Lkv) = (2, 3) and (3, 1).
  AttentionProblem p;
  p.batch = 2, p.seqQ = 3, p.seqKv = 4, p.scale = 1.0;
  p.seqlensQ = {2, 3}, p.seqlensKv = {3, 1};
  const std::vector<double> q = {0.5, -1.0, kNaN, /**/ 0.25, 1.0, 2.0};
  // Keys at or past Lkv are NaN: reading one would poison the output.
  const std::vector<double> k = {1, 2, -1, kNaN, /**/ 3, kNaN, kNaN, kNaN};
  const std::vector<double> v = {4, 6, 8, kNaN, /**/ 7, kNaN, kNaN, kNaN};

  for (bool causal : {false, true}) {
    SCOPED_TRACE(causal ? "causal" : "non-causal");
    p.causal = causal;
    std::vector<double> o(6, kSentinel), lse(6, kSentinel), ent(6, kSentinel);
    attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), ent.data());
    // Batch 0 row 2 is padding: untouched ([B,Sq,1,1] and [B,1,Sq] coincide here).
    EXPECT_EQ(o[2], kSentinel);
    EXPECT_EQ(lse[2], kSentinel);
    EXPECT_EQ(ent[2], kSentinel);

    // Batch 0: non-causal rows see keys 0..2; causal p = 1, 2.
    const Row r0 = causal ? softmaxRow({0.5 * 1, 0.5 * 2}, {4, 6})
                          : softmaxRow({0.5 * 1, 0.5 * 2, 0.5 * -1}, {4, 6, 8});
    const Row r1 = softmaxRow({-1.0 * 1, -1.0 * 2, -1.0 * -1}, {4, 6, 8});
    EXPECT_NEAR(o[0], r0.o, kTol);
    EXPECT_NEAR(lse[0], r0.lse, kTol);
    EXPECT_NEAR(ent[0], r0.entropy, kTol);
    EXPECT_NEAR(o[1], r1.o, kTol);
    EXPECT_NEAR(lse[1], r1.lse, kTol);
    EXPECT_NEAR(ent[1], r1.entropy, kTol);

    // Batch 1: one key. Causal p_i = i - 2, so rows 0 and 1 are fully masked.
    for (int i = 0; i < 3; ++i) {
      const bool masked = causal && i < 2;
      EXPECT_EQ(o[3 + i], masked ? 0.0 : 7.0) << "row " << i;
      EXPECT_EQ(lse[3 + i], masked ? -kInf : q[size_t(3 + i)] * 3) << "row " << i;
      EXPECT_EQ(ent[3 + i], 0.0) << "row " << i;
    }
  }
}

TEST(Attention, LargeLogitsStayFinite) {
  AttentionProblem p;
  p.batch = 1, p.seqQ = 7, p.seqKv = 9, p.headsQ = 2, p.headsKv = 2, p.headDim = 8, p.headDimV = 3;
  std::vector<double> q(7 * 2 * 8), k(9 * 2 * 8), v(9 * 2 * 3);
  fillRandom(q, 1, -100, 100); // logits in the thousands
  fillRandom(k, 2, -100, 100);
  fillRandom(v, 3);
  std::vector<double> o(7 * 2 * 3, kNaN), lse(2 * 7, kNaN), ent(2 * 7, kNaN);
  attention(p, q.data(), k.data(), v.data(), o.data(), lse.data(), ent.data());
  for (double x : o) {
    EXPECT_TRUE(std::isfinite(x));
    EXPECT_LE(std::abs(x), 1.0); // a convex combination of values in [-1, 1)
  }
  for (size_t n = 0; n < lse.size(); ++n) {
    EXPECT_TRUE(std::isfinite(lse[n]));
    EXPECT_GT(lse[n], 100.0);
    EXPECT_GE(ent[n], 0.0);
    EXPECT_LE(ent[n], std::log(9.0) + kTol);
  }
}

TEST(Attention, RejectsInvalidProblems) {
  const std::vector<double> buf(64, 1.0);
  std::vector<double> out(64);
  auto run = [&](const AttentionProblem &p) {
    attention(p, buf.data(), buf.data(), buf.data(), out.data(), nullptr, nullptr);
  };
  AttentionProblem gqa;
  gqa.headsQ = 3, gqa.headsKv = 2;
  EXPECT_THROW(run(gqa), std::invalid_argument);
  AttentionProblem lens;
  lens.batch = 2, lens.seqlensQ = {1};
  EXPECT_THROW(run(lens), std::invalid_argument);
  AttentionProblem tooLong;
  tooLong.seqlensKv = {2};
  EXPECT_THROW(run(tooLong), std::invalid_argument);
}

//===--------------------------------------------------------------------===//
// Linear attention
//===--------------------------------------------------------------------===//

TEST(Linear, FeatureMapValues) {
  EXPECT_EQ(featureMap(FeatureMap::EluPlusOne, 2.0), 3.0);
  EXPECT_EQ(featureMap(FeatureMap::EluPlusOne, 0.0), 1.0);
  EXPECT_NEAR(featureMap(FeatureMap::EluPlusOne, -1.0), std::exp(-1.0), kTol);
  EXPECT_EQ(featureMap(FeatureMap::Relu, -3.0), 0.0);
  EXPECT_EQ(featureMap(FeatureMap::Relu, 2.5), 2.5);
  EXPECT_EQ(featureMap(FeatureMap::Identity, -3.0), -3.0);
}

TEST(Linear, EluPlusOneNormalizedNonCausal) {
  LinearProblem p;
  p.seqKv = 2, p.headDim = 2, p.headDimV = 1;
  const std::vector<double> q = {0.5, -1}, k = {0, 2, /**/ -2, 1}, v = {4, -2};
  double o = kNaN;
  linearAttention(p, q.data(), k.data(), v.data(), &o);
  // phi(q) = (1.5, e^-1); phi(k0) = (1, 3); phi(k1) = (e^-2, 2).
  double w0 = 1.5 * 1 + std::exp(-1.0) * 3, w1 = 1.5 * std::exp(-2.0) + std::exp(-1.0) * 2;
  EXPECT_NEAR(o, (4 * w0 - 2 * w1) / (w0 + w1 + 1e-6), kTol);

  // Scale multiplies q before phi: phi(2q) = (2, e^-2), not 2 phi(q).
  p.scale = 2.0;
  linearAttention(p, q.data(), k.data(), v.data(), &o);
  w0 = 2 * 1 + std::exp(-2.0) * 3, w1 = 2 * std::exp(-2.0) + std::exp(-2.0) * 2;
  EXPECT_NEAR(o, (4 * w0 - 2 * w1) / (w0 + w1 + 1e-6), kTol);
}

TEST(Linear, CausalBottomRightAlignment) {
  LinearProblem p;
  p.seqQ = 2, p.seqKv = 3, p.causal = true;
  // phi(q) = 1, 2; phi(k) = 1, 2, e^-1; p_i = i + 1.
  const std::vector<double> q = {0, 1}, k = {0, 1, -1}, v = {1, 2, 3};
  std::vector<double> o(2, kNaN);
  linearAttention(p, q.data(), k.data(), v.data(), o.data());
  EXPECT_NEAR(o[0], (1 * 1 + 2 * 2) / (3 + 1e-6), kTol);
  const double e = std::exp(-1.0);
  EXPECT_NEAR(o[1], (2 * 1 + 4 * 2 + 2 * e * 3) / (2 + 4 + 2 * e + 1e-6), kTol);
}

TEST(Linear, ReluUnnormalized) {
  LinearProblem p;
  p.seqKv = 3, p.headDim = 2, p.headDimV = 2, p.featureMap = FeatureMap::Relu, p.normalize = false;
  const std::vector<double> q = {1, -1}, k = {2, 3, /**/ -1, 5, /**/ 0.5, 0};
  const std::vector<double> v = {3, 1, /**/ 7, -2, /**/ 2, 2};
  std::vector<double> o(2, kNaN);
  linearAttention(p, q.data(), k.data(), v.data(), o.data());
  // phi(q) = (1, 0); weights 2, 0, 0.5.
  EXPECT_NEAR(o[0], 2 * 3 + 0 * 7 + 0.5 * 2, kTol);
  EXPECT_NEAR(o[1], 2 * 1 + 0 * -2 + 0.5 * 2, kTol);
}

TEST(Linear, IdentityUnnormalized) {
  LinearProblem p;
  p.seqKv = 2, p.headDim = 2, p.headDimV = 2, p.featureMap = FeatureMap::Identity,
  p.normalize = false;
  const std::vector<double> q = {1, -1}, k = {2, 3, /**/ -1, 5}, v = {3, 1, /**/ 7, -2};
  std::vector<double> o(2, kNaN);
  linearAttention(p, q.data(), k.data(), v.data(), o.data());
  // Weights 2 - 3 = -1 and -1 - 5 = -6.
  EXPECT_NEAR(o[0], -1 * 3 + -6 * 7, kTol);
  EXPECT_NEAR(o[1], -1 * 1 + -6 * -2, kTol);
}

TEST(Linear, GroupedQueryAndVarlen) {
  // B = 2, Sq = 2, Skv = 3, Hq = 2 sharing one kv head; lengths (1, 2), (2, 3).
  LinearProblem p;
  p.batch = 2, p.seqQ = 2, p.seqKv = 3, p.headsQ = 2, p.headsKv = 1,
  p.featureMap = FeatureMap::Identity, p.normalize = false;
  p.seqlensQ = {1, 2}, p.seqlensKv = {2, 3};
  const std::vector<double> q = {1, 2, /**/ 5, 6, /**/ 3, 4, /**/ -1, 0.5};
  const std::vector<double> k = {1, 2, kNaN, /**/ 1, -1, 2};
  const std::vector<double> v = {3, 5, kNaN, /**/ 2, 4, 8};
  std::vector<double> o(8, kSentinel);
  linearAttention(p, q.data(), k.data(), v.data(), o.data());
  // o = q * sum_j k_j v_j: batch 0 sum = 1*3 + 2*5 = 13; batch 1 = 2 - 4 + 16 = 14.
  EXPECT_NEAR(o[0], 13.0, kTol);
  EXPECT_NEAR(o[1], 26.0, kTol);
  EXPECT_EQ(o[2], kSentinel); // batch 0 row 1 is padding
  EXPECT_EQ(o[3], kSentinel);
  EXPECT_NEAR(o[4], 42.0, kTol);
  EXPECT_NEAR(o[5], 56.0, kTol);
  EXPECT_NEAR(o[6], -14.0, kTol);
  EXPECT_NEAR(o[7], 7.0, kTol);
}

//===--------------------------------------------------------------------===//
// Merge
//===--------------------------------------------------------------------===//

TEST(Merge, TwoKeySplitsEqualWhole) {
  const int64_t B = 2, Sq = 3, Skv = 5, Hq = 2, Hkv = 1, D = 4, Dv = 3, cut = 2;
  AttentionProblem whole;
  whole.batch = B, whole.seqQ = Sq, whole.seqKv = Skv, whole.headsQ = Hq, whole.headsKv = Hkv,
  whole.headDim = D, whole.headDimV = Dv;
  std::vector<double> q(B * Sq * Hq * D), k(B * Skv * Hkv * D), v(B * Skv * Hkv * Dv);
  fillRandom(q, 11, -2, 2);
  fillRandom(k, 12, -2, 2);
  fillRandom(v, 13);
  const size_t oSize = size_t(B * Sq * Hq * Dv), lseSize = size_t(B * Hq * Sq);
  std::vector<double> o(oSize), lse(lseSize);
  attention(whole, q.data(), k.data(), v.data(), o.data(), lse.data(), nullptr);

  // Parts stacked as [P, ...]: keys [0, cut) then [cut, Skv).
  std::vector<double> oParts(2 * oSize), lseParts(2 * lseSize);
  const int64_t bounds[3] = {0, cut, Skv};
  for (int part = 0; part < 2; ++part) {
    AttentionProblem sub = whole;
    sub.seqKv = bounds[part + 1] - bounds[part];
    const auto kPart = sliceSeq(k, B, Skv, Hkv, D, bounds[part], bounds[part + 1]);
    const auto vPart = sliceSeq(v, B, Skv, Hkv, Dv, bounds[part], bounds[part + 1]);
    attention(sub, q.data(), kPart.data(), vPart.data(), oParts.data() + part * oSize,
              lseParts.data() + part * lseSize, nullptr);
  }
  std::vector<double> oMerged(oSize, kNaN), lseMerged(lseSize, kNaN);
  merge(2, B, Sq, Hq, Dv, oParts.data(), lseParts.data(), oMerged.data(), lseMerged.data());
  for (size_t n = 0; n < oSize; ++n)
    EXPECT_NEAR(oMerged[n], o[n], kTol) << n;
  for (size_t n = 0; n < lseSize; ++n)
    EXPECT_NEAR(lseMerged[n], lse[n], kTol) << n;
  // The parts alone are not the answer (the test exercises the merge).
  EXPECT_GT(std::abs(oParts[0] - o[0]), 1e-6);
}

TEST(Merge, NegInfPartContributesNothing) {
  // One row, Dv = 2, three parts: the middle one is empty with garbage o.
  const std::vector<double> oParts = {1, 2, /**/ kNaN, kNaN, /**/ 5, -4};
  const std::vector<double> lseParts = {0.5, -kInf, 2.0};
  std::vector<double> o(2, kNaN);
  double lse = kNaN;
  merge(3, 1, 1, 1, 2, oParts.data(), lseParts.data(), o.data(), &lse);
  const double z = std::exp(0.5) + std::exp(2.0);
  EXPECT_NEAR(lse, std::log(z), kTol);
  EXPECT_NEAR(o[0], (std::exp(0.5) * 1 + std::exp(2.0) * 5) / z, kTol);
  EXPECT_NEAR(o[1], (std::exp(0.5) * 2 + std::exp(2.0) * -4) / z, kTol);
}

TEST(Merge, AllNegInfGivesZeroAndNegInf) {
  const std::vector<double> oParts = {kNaN, 3, /**/ 7, kNaN};
  const std::vector<double> lseParts = {-kInf, -kInf};
  std::vector<double> o(2, kNaN);
  double lse = kNaN;
  merge(2, 1, 1, 1, 2, oParts.data(), lseParts.data(), o.data(), &lse);
  EXPECT_EQ(o[0], 0.0);
  EXPECT_EQ(o[1], 0.0);
  EXPECT_EQ(lse, -kInf);
}

//===--------------------------------------------------------------------===//
// Half / bf16 conversions
//===--------------------------------------------------------------------===//

TEST(Half, KnownValues) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(0.5f), 0x3800);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(floatToHalf(0.0f), 0x0000);
  EXPECT_EQ(floatToHalf(-0.0f), 0x8000);
  EXPECT_TRUE(std::signbit(halfToFloat(0x8000)));
}

TEST(Half, SubnormalsInfNaN) {
  const float tiny = std::ldexp(1.0f, -24); // smallest subnormal
  EXPECT_EQ(floatToHalf(tiny), 0x0001);
  EXPECT_EQ(halfToFloat(0x0001), tiny);
  EXPECT_EQ(floatToHalf(-tiny), 0x8001);
  EXPECT_EQ(halfToFloat(0x03FF), 1023.0f * tiny); // largest subnormal
  EXPECT_EQ(floatToHalf(1023.0f * tiny), 0x03FF);
  EXPECT_EQ(halfToFloat(0x0400), std::ldexp(1.0f, -14)); // smallest normal
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(floatToHalf(1e-40f), 0x0000); // float subnormal
  EXPECT_EQ(floatToHalf(std::numeric_limits<float>::infinity()), 0x7C00);
  EXPECT_EQ(floatToHalf(-std::numeric_limits<float>::infinity()), 0xFC00);
  EXPECT_EQ(floatToHalf(1e10f), 0x7C00);
  EXPECT_EQ(halfToFloat(0x7C00), std::numeric_limits<float>::infinity());
  EXPECT_TRUE(isHalfNaN(floatToHalf(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(isHalfNaN(floatToHalf(floatFromBits(0x7F800001)))); // low payload only
  EXPECT_TRUE(std::isnan(halfToFloat(0x7E00)));
  EXPECT_TRUE(std::isnan(halfToFloat(0xFC01)));
}

TEST(Half, RoundsToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);     // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3C02); // tie -> even
  EXPECT_EQ(floatToHalf(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -20)), 0x3C01);
  EXPECT_EQ(floatToHalf(65519.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7C00);                  // tie between 0x7BFF and inf
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -25)), 0x0000);     // tie -> 0
  EXPECT_EQ(floatToHalf(3 * std::ldexp(1.0f, -26)), 0x0001); // 0.75 ulp
  EXPECT_EQ(floatToHalf(3 * std::ldexp(1.0f, -25)), 0x0002); // 1.5 ulp tie -> 2
  EXPECT_EQ(floatToHalf(5 * std::ldexp(1.0f, -25)), 0x0002); // 2.5 ulp tie -> 2
  // Every midpoint between adjacent finite halves (subnormal and normal, both
  // signs) ties to even, and one float ulp either side rounds to the nearer.
  for (uint16_t h = 0; h < 0x7BFF; ++h) {
    const float lo = halfToFloat(h), hi = halfToFloat(uint16_t(h + 1));
    const float mid = lo + (hi - lo) / 2; // exact, and no overflow
    const uint16_t even = (h & 1) ? uint16_t(h + 1) : h;
    ASSERT_EQ(floatToHalf(mid), even) << std::hex << h;
    ASSERT_EQ(floatToHalf(-mid), even | 0x8000) << std::hex << h;
    ASSERT_EQ(floatToHalf(std::nextafter(mid, 0.0f)), h) << std::hex << h;
    ASSERT_EQ(floatToHalf(std::nextafter(mid, 1e6f)), h + 1) << std::hex << h;
  }
}

TEST(Half, RoundTripsEveryValue) {
  for (uint32_t h = 0; h <= 0xFFFF; ++h) {
    const uint16_t bits = uint16_t(h);
    if (isHalfNaN(bits)) {
      ASSERT_TRUE(std::isnan(halfToFloat(bits))) << std::hex << h;
      ASSERT_TRUE(isHalfNaN(floatToHalf(halfToFloat(bits)))) << std::hex << h;
    } else {
      ASSERT_EQ(floatToHalf(halfToFloat(bits)), bits) << std::hex << h;
    }
  }
}

TEST(Bf16, KnownValuesAndRounding) {
  EXPECT_EQ(floatToBf16(1.0f), 0x3F80);
  EXPECT_EQ(bf16ToFloat(0x3F80), 1.0f);
  EXPECT_EQ(floatToBf16(-2.0f), 0xC000);
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3F80);     // tie -> even
  EXPECT_EQ(floatToBf16(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3F82); // tie -> even
  EXPECT_EQ(floatToBf16(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)), 0x3F81);
  EXPECT_EQ(floatToBf16(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(floatToBf16(-std::numeric_limits<float>::infinity()), 0xFF80);
  EXPECT_EQ(floatToBf16(FLT_MAX), 0x7F80); // rounds up past the largest bf16
  for (uint16_t b = 0; b < 0x7F7F; ++b) {
    const float lo = bf16ToFloat(b), hi = bf16ToFloat(uint16_t(b + 1));
    const float mid = lo + (hi - lo) / 2; // exact; a sum would overflow near FLT_MAX
    const uint16_t even = (b & 1) ? uint16_t(b + 1) : b;
    ASSERT_EQ(floatToBf16(mid), even) << std::hex << b;
    ASSERT_EQ(floatToBf16(-mid), even | 0x8000) << std::hex << b;
    ASSERT_EQ(floatToBf16(std::nextafter(mid, 0.0f)), b) << std::hex << b;
    ASSERT_EQ(floatToBf16(std::nextafter(mid, FLT_MAX)), b + 1) << std::hex << b;
  }
}

TEST(Bf16, NaNStaysNaNAndRoundTrips) {
  EXPECT_TRUE(isBf16NaN(floatToBf16(std::numeric_limits<float>::quiet_NaN())));
  EXPECT_TRUE(isBf16NaN(floatToBf16(floatFromBits(0x7F800001)))); // not inf
  EXPECT_TRUE(isBf16NaN(floatToBf16(floatFromBits(0xFFFFFFFF))));
  for (uint32_t b = 0; b <= 0xFFFF; ++b) {
    const uint16_t bits = uint16_t(b);
    if (isBf16NaN(bits))
      ASSERT_TRUE(std::isnan(bf16ToFloat(bits))) << std::hex << b;
    else
      ASSERT_EQ(floatToBf16(bf16ToFloat(bits)), bits) << std::hex << b;
  }
}

//===--------------------------------------------------------------------===//
// Test utilities
//===--------------------------------------------------------------------===//

TEST(TestUtil, RelativeFrobeniusError) {
  const std::vector<double> ref = {1, 1}, out = {1, 2};
  EXPECT_NEAR(relativeFrobeniusError(out.data(), ref.data(), 2), 1 / std::sqrt(2.0), kTol);
  EXPECT_EQ(relativeFrobeniusError(ref.data(), ref.data(), 2), 0.0);
  const std::vector<float> outF = {1.0f, 3.0f};
  EXPECT_NEAR(relativeFrobeniusError(outF.data(), ref.data(), 2), 2 / std::sqrt(2.0), kTol);
  const std::vector<double> withNaN = {1, kNaN}, withInf = {-kInf, 1};
  EXPECT_EQ(relativeFrobeniusError(withNaN.data(), ref.data(), 2), kInf);
  EXPECT_EQ(relativeFrobeniusError(withInf.data(), ref.data(), 2), kInf);
  const std::vector<float> nanF = {std::numeric_limits<float>::quiet_NaN(), 1.0f};
  EXPECT_EQ(relativeFrobeniusError(nanF.data(), ref.data(), 2), kInf);
}

TEST(TestUtil, FillRandomIsDeterministicAndInRange) {
  std::vector<double> a(1000), b(1000), c(1000);
  fillRandom(a, 42, -3, 5);
  fillRandom(b, 42, -3, 5);
  fillRandom(c, 43, -3, 5);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double sum = 0.0;
  size_t zeros = 0;
  for (double x : a) {
    EXPECT_GE(x, -3.0);
    EXPECT_LT(x, 5.0);
    sum += x;
    zeros += x == 0.0;
  }
  EXPECT_LT(zeros, a.size());
  EXPECT_NEAR(sum / double(a.size()), 1.0, 0.3); // roughly uniform
  EXPECT_THROW(fillRandom(a, 1, 1.0, 1.0), std::invalid_argument);
}

TEST(TestUtil, PoisonWritesNaN) {
  std::vector<float> f(5, 1.0f);
  poison(f.data(), f.size());
  for (float x : f)
    EXPECT_TRUE(std::isnan(x));
  std::vector<double> d(3, 1.0);
  poison(d.data(), d.size());
  for (double x : d)
    EXPECT_TRUE(std::isnan(x));
  std::vector<uint16_t> h(4, 0);
  poison(h.data(), h.size());
  for (uint16_t x : h) {
    EXPECT_TRUE(std::isnan(halfToFloat(x)));
    EXPECT_TRUE(std::isnan(bf16ToFloat(x)));
  }
}
