//===- Oracle.cpp - float64 reference for every attention variant ---------===//
//
// Deliberately naive: per output row, list the visible keys, then apply the
// textbook formula. Speed is irrelevant; a reader must be able to check each
// line against SPEC.md section 3.
//
//===----------------------------------------------------------------------===//
#include "attn/Oracle/Oracle.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace attn::oracle {
namespace {

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

void require(bool condition, const std::string &message) {
  if (!condition)
    throw std::invalid_argument("attn::oracle: " + message);
}

/// Checks the shape fields shared by both problem kinds.
void validateShape(int64_t batch, int64_t seqQ, int64_t seqKv, int64_t headsQ, int64_t headsKv,
                   int64_t headDim, int64_t headDimV, const std::vector<int64_t> &seqlensQ,
                   const std::vector<int64_t> &seqlensKv) {
  require(batch >= 1 && seqQ >= 1 && seqKv >= 1, "batch/seqQ/seqKv must be >= 1");
  require(headsQ >= 1 && headsKv >= 1, "head counts must be >= 1");
  require(headsQ % headsKv == 0, "headsQ must be a multiple of headsKv");
  require(headDim >= 1 && headDimV >= 1, "head dims must be >= 1");
  require(seqlensQ.empty() || int64_t(seqlensQ.size()) == batch,
          "seqlensQ must be empty or have one entry per batch");
  require(seqlensKv.empty() || int64_t(seqlensKv.size()) == batch,
          "seqlensKv must be empty or have one entry per batch");
  for (int64_t len : seqlensQ)
    require(len >= 0 && len <= seqQ, "seqlensQ entry out of [0, seqQ]");
  for (int64_t len : seqlensKv)
    require(len >= 0 && len <= seqKv, "seqlensKv entry out of [0, seqKv]");
}

void validate(const AttentionProblem &p) {
  validateShape(p.batch, p.seqQ, p.seqKv, p.headsQ, p.headsKv, p.headDim, p.headDimV, p.seqlensQ,
                p.seqlensKv);
  require(p.windowLeft >= -1 && p.windowRight >= -1, "window bounds must be >= -1");
  require(p.globalTokens >= 0, "globalTokens must be >= 0");
  require(p.softcap >= 0.0, "softcap must be >= 0");
  require(p.alibiSlopes.empty() || int64_t(p.alibiSlopes.size()) == p.headsQ,
          "alibiSlopes must hold one slope per query head");
  require(p.sinks.empty() || int64_t(p.sinks.size()) == p.headsQ,
          "sinks must hold one logit per query head");
}

void validate(const LinearProblem &p) {
  validateShape(p.batch, p.seqQ, p.seqKv, p.headsQ, p.headsKv, p.headDim, p.headDimV, p.seqlensQ,
                p.seqlensKv);
  require(p.eps >= 0.0, "eps must be >= 0");
}

int64_t lengthOf(const std::vector<int64_t> &seqlens, int64_t b, int64_t full) {
  return seqlens.empty() ? full : seqlens[size_t(b)];
}

// Flat offsets into the BSHD tensors and the [B,H,S] statistics.
int64_t bshd(int64_t b, int64_t s, int64_t h, int64_t S, int64_t H, int64_t D) {
  return ((b * S + s) * H + h) * D;
}
int64_t bhs(int64_t b, int64_t h, int64_t s, int64_t H, int64_t S) { return (b * H + h) * S + s; }

double dot(const double *a, const double *b, int64_t n) {
  double sum = 0.0;
  for (int64_t d = 0; d < n; ++d)
    sum += a[d] * b[d];
  return sum;
}

/// s = scale * <q, k>, then the optional logit softcap.
double logit(const AttentionProblem &p, double scale, const double *qRow, const double *kRow) {
  double s = scale * dot(qRow, kRow, p.headDim);
  if (p.softcap > 0.0)
    s = p.softcap * std::tanh(s / p.softcap);
  return s;
}

/// Grouped-query mapping g = h / (Hq / Hkv).
int64_t kvHeadOf(int64_t h, int64_t headsQ, int64_t headsKv) { return h / (headsQ / headsKv); }

} // namespace

bool isVisible(const AttentionProblem &p, int64_t lq, int64_t lkv, int64_t i, int64_t j) {
  if (j < 0 || j >= lkv)
    return false;
  const int64_t pos = i + (lkv - lq);
  if (p.causal && j > pos)
    return false;
  const bool inBand = (p.windowLeft == -1 || j >= pos - p.windowLeft) &&
                      (p.windowRight == -1 || j <= pos + p.windowRight);
  const bool global = j < p.globalTokens || pos < p.globalTokens;
  return inBand || global;
}

void attention(const AttentionProblem &p, const double *q, const double *k, const double *v,
               double *o, double *lse, double *entropy) {
  validate(p);
  const double scale = p.scale ? *p.scale : 1.0 / std::sqrt(double(p.headDim));
  std::vector<double> scores;
  std::vector<int64_t> keys;
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t lq = lengthOf(p.seqlensQ, b, p.seqQ);
    const int64_t lkv = lengthOf(p.seqlensKv, b, p.seqKv);
    for (int64_t h = 0; h < p.headsQ; ++h) {
      const int64_t g = kvHeadOf(h, p.headsQ, p.headsKv);
      for (int64_t i = 0; i < lq; ++i) {
        const double *qRow = q + bshd(b, i, h, p.seqQ, p.headsQ, p.headDim);
        double *oRow = o + bshd(b, i, h, p.seqQ, p.headsQ, p.headDimV);
        const int64_t stat = bhs(b, h, i, p.headsQ, p.seqQ);

        // Only visible keys are ever read (j < lkv is part of visibility).
        scores.clear();
        keys.clear();
        for (int64_t j = 0; j < lkv; ++j) {
          if (!isVisible(p, lq, lkv, i, j))
            continue;
          keys.push_back(j);
          double s = logit(p, scale, qRow, k + bshd(b, j, g, p.seqKv, p.headsKv, p.headDim));
          if (!p.alibiSlopes.empty())
            s -= p.alibiSlopes[h] * std::abs(double(i + (lkv - lq) - j));
          scores.push_back(s);
        }
        const bool sink = !p.sinks.empty();

        if (keys.empty()) {
          std::fill(oRow, oRow + p.headDimV, 0.0);
          if (lse)
            lse[stat] = sink ? p.sinks[h] : kNegInf;
          if (entropy)
            entropy[stat] = 0.0;
          continue;
        }

        // Subtract the max so exp never overflows; lse adds it back. The sink is one more term
        // of the denominator (and of the distribution whose entropy is taken), with no value.
        double maxScore = *std::max_element(scores.begin(), scores.end());
        if (sink)
          maxScore = std::max(maxScore, p.sinks[h]);
        double denom = sink ? std::exp(p.sinks[h] - maxScore) : 0.0;
        for (double s : scores)
          denom += std::exp(s - maxScore);

        std::fill(oRow, oRow + p.headDimV, 0.0);
        double rowEntropy = 0.0;
        for (size_t n = 0; n < keys.size(); ++n) {
          const double prob = std::exp(scores[n] - maxScore) / denom;
          const double *vRow = v + bshd(b, keys[n], g, p.seqKv, p.headsKv, p.headDimV);
          for (int64_t e = 0; e < p.headDimV; ++e)
            oRow[e] += prob * vRow[e];
          // Entropy straight from the probabilities (0 log 0 = 0), so it does
          // not share the online H = LSE - E_p[s] identity kernels use.
          if (prob > 0.0)
            rowEntropy -= prob * std::log(prob);
        }
        if (sink) {
          const double prob = std::exp(p.sinks[h] - maxScore) / denom;
          if (prob > 0.0)
            rowEntropy -= prob * std::log(prob);
        }
        if (lse)
          lse[stat] = maxScore + std::log(denom);
        if (entropy)
          entropy[stat] = rowEntropy;
      }
    }
  }
}

double featureMap(FeatureMap map, double x) {
  switch (map) {
  case FeatureMap::EluPlusOne:
    return x > 0.0 ? x + 1.0 : std::exp(x); // elu(x) + 1 = exp(x) for x <= 0
  case FeatureMap::Relu:
    return x > 0.0 ? x : 0.0;
  case FeatureMap::Identity:
    return x;
  }
  throw std::invalid_argument("attn::oracle: unknown feature map");
}

void linearAttention(const LinearProblem &p, const double *q, const double *k, const double *v,
                     double *o) {
  validate(p);
  std::vector<double> phiQ(size_t(p.headDim)), numer(size_t(p.headDimV));
  for (int64_t b = 0; b < p.batch; ++b) {
    const int64_t lq = lengthOf(p.seqlensQ, b, p.seqQ);
    const int64_t lkv = lengthOf(p.seqlensKv, b, p.seqKv);
    for (int64_t h = 0; h < p.headsQ; ++h) {
      const int64_t g = kvHeadOf(h, p.headsQ, p.headsKv);
      for (int64_t i = 0; i < lq; ++i) {
        const double *qRow = q + bshd(b, i, h, p.seqQ, p.headsQ, p.headDim);
        for (int64_t d = 0; d < p.headDim; ++d)
          phiQ[size_t(d)] = featureMap(p.featureMap, p.scale * qRow[d]);

        // phi(q)^T sum_j phi(k_j) v_j^T == sum_j (phi(q) . phi(k_j)) v_j:
        // the quadratic form is the easiest to check by eye.
        const int64_t pos = i + (lkv - lq);
        const int64_t lastKey = p.causal ? std::min(pos, lkv - 1) : lkv - 1;
        std::fill(numer.begin(), numer.end(), 0.0);
        double denom = 0.0;
        for (int64_t j = 0; j <= lastKey; ++j) {
          const double *kRow = k + bshd(b, j, g, p.seqKv, p.headsKv, p.headDim);
          const double *vRow = v + bshd(b, j, g, p.seqKv, p.headsKv, p.headDimV);
          double weight = 0.0;
          for (int64_t d = 0; d < p.headDim; ++d)
            weight += phiQ[size_t(d)] * featureMap(p.featureMap, kRow[d]);
          for (int64_t e = 0; e < p.headDimV; ++e)
            numer[size_t(e)] += weight * vRow[e];
          denom += weight;
        }

        double *oRow = o + bshd(b, i, h, p.seqQ, p.headsQ, p.headDimV);
        for (int64_t e = 0; e < p.headDimV; ++e)
          oRow[e] = p.normalize ? numer[size_t(e)] / (denom + p.eps) : numer[size_t(e)];
      }
    }
  }
}

void merge(int64_t parts, int64_t batch, int64_t seqQ, int64_t headsQ, int64_t headDimV,
           const double *oParts, const double *lseParts, double *o, double *lse) {
  require(parts >= 1 && batch >= 1 && seqQ >= 1 && headsQ >= 1 && headDimV >= 1,
          "merge sizes must be >= 1");
  const int64_t oPartSize = batch * seqQ * headsQ * headDimV;
  const int64_t lsePartSize = batch * headsQ * seqQ;
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t h = 0; h < headsQ; ++h) {
      for (int64_t i = 0; i < seqQ; ++i) {
        const int64_t stat = bhs(b, h, i, headsQ, seqQ);
        const int64_t row = bshd(b, i, h, seqQ, headsQ, headDimV);

        double maxLse = kNegInf;
        for (int64_t part = 0; part < parts; ++part)
          maxLse = std::max(maxLse, lseParts[part * lsePartSize + stat]);

        double *oRow = o + row;
        std::fill(oRow, oRow + headDimV, 0.0);
        if (maxLse == kNegInf) {
          lse[stat] = kNegInf;
          continue;
        }

        double total = 0.0;
        for (int64_t part = 0; part < parts; ++part) {
          const double partLse = lseParts[part * lsePartSize + stat];
          if (partLse != kNegInf)
            total += std::exp(partLse - maxLse);
        }
        const double mergedLse = maxLse + std::log(total);

        // Skipping -inf parts outright keeps their (possibly garbage) o out.
        for (int64_t part = 0; part < parts; ++part) {
          const double partLse = lseParts[part * lsePartSize + stat];
          if (partLse == kNegInf)
            continue;
          const double weight = std::exp(partLse - mergedLse);
          const double *partRow = oParts + part * oPartSize + row;
          for (int64_t e = 0; e < headDimV; ++e)
            oRow[e] += weight * partRow[e];
        }
        lse[stat] = mergedLse;
      }
    }
  }
}

} // namespace attn::oracle
