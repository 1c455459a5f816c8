//===- Oracle.h - float64 reference for every attention variant -*- C++ -*-===//
//
// The slow, obviously-correct reference that every backend's conformance tests
// compare against. It follows SPEC.md section 3 literally: direct loops over
// visible keys, no online softmax, no tiling. All buffers are double,
// contiguous and row-major in the layouts documented below.
//
// Invalid problems (Hq % Hkv != 0, lengths out of range, ...) throw
// std::invalid_argument; this is test code, so loud failure beats silence.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_ORACLE_ORACLE_H
#define ATTN_ORACLE_ORACLE_H

#include <cstdint>
#include <optional>
#include <vector>

namespace attn::oracle {

/// Softmax attention (dense, causal, windowed-sparse, grouped-query, softcap).
struct AttentionProblem {
  int64_t batch = 1, seqQ = 1, seqKv = 1, headsQ = 1, headsKv = 1, headDim = 1, headDimV = 1;
  std::optional<double> scale; // absent -> 1/sqrt(headDim)
  bool causal = false;
  int64_t windowLeft = -1, windowRight = -1; // -1 = unbounded on that side
  int64_t globalTokens = 0;
  double softcap = 0.0;                     // 0 = none; else s = c * tanh(s / c)
  std::vector<int64_t> seqlensQ, seqlensKv; // empty = seqQ / seqKv everywhere
  /// Per query head (empty = none): ALiBi slopes, s -= slope_h * |p_i - j| after the softcap,
  /// and sink logits, exp(sink_h) in every row's denominator with no value (SPEC section 3).
  std::vector<double> alibiSlopes, sinks;
};

/// Is key j visible to query row i of a batch whose lengths are lq, lkv?
/// Uses bottom-right alignment p_i = i + (lkv - lq) (SPEC section 3).
bool isVisible(const AttentionProblem &problem, int64_t lq, int64_t lkv, int64_t i, int64_t j);

/// q [B,Sq,Hq,D], k [B,Skv,Hkv,D], v [B,Skv,Hkv,Dv], o [B,Sq,Hq,Dv],
/// lse / entropy [B,Hq,Sq] (either may be nullptr).
/// Rows i >= Lq are not written; keys j >= Lkv are never read.
/// A fully masked row gets o = 0, lse = -inf (the sink's logit with sinks), entropy = 0.
void attention(const AttentionProblem &problem, const double *q, const double *k, const double *v,
               double *o, double *lse, double *entropy);

enum class FeatureMap { EluPlusOne, Relu, Identity };

/// Kernelized linear attention (Katharopoulos et al. 2020).
struct LinearProblem {
  int64_t batch = 1, seqQ = 1, seqKv = 1, headsQ = 1, headsKv = 1, headDim = 1, headDimV = 1;
  FeatureMap featureMap = FeatureMap::EluPlusOne;
  bool causal = false;
  bool normalize = true;
  double scale = 1.0; // applied to q before the feature map
  double eps = 1e-6;
  std::vector<int64_t> seqlensQ, seqlensKv;
};

/// phi(x) for the given feature map (elu(x)+1, max(x,0), or x).
double featureMap(FeatureMap map, double x);

/// Same layouts as attention(); rows i >= Lq are not written.
void linearAttention(const LinearProblem &problem, const double *q, const double *k,
                     const double *v, double *o);

/// Merge `parts` partial results over disjoint key sets.
/// oParts [P,B,Sq,Hq,Dv], lseParts [P,B,Hq,Sq] -> o [B,Sq,Hq,Dv], lse [B,Hq,Sq].
/// Parts with lse = -inf contribute nothing; all -inf gives o = 0, lse = -inf.
void merge(int64_t parts, int64_t batch, int64_t seqQ, int64_t headsQ, int64_t headDimV,
           const double *oParts, const double *lseParts, double *o, double *lse);

} // namespace attn::oracle

#endif // ATTN_ORACLE_ORACLE_H
