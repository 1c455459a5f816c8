//===- AttnCanonicalize.cpp - one canonical form per meaning --------------===//
//
// The canonical form of the score/mask attributes (documented on attn.attention):
//  - a band's right bound of 0 is written `causal`, and `causal` carries no right bound (it already
//    implies j <= p_i <= p_i + right);
//  - `window` never holds [-1, -1] (an unbounded band is dense);
//  - `global_tokens` is absent when 0 or when no finite band remains for it to widen (globals only
//    add keys a band hides; causality still applies to them);
//  - `scale` is absent when it equals the default 1/sqrt(D).
// Two descriptions with one meaning thus compare equal, which the JIT cache key relies on.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/IR/PatternMatch.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

namespace {
struct CanonicalScoreAttrs {
  bool causal;
  std::optional<std::array<int64_t, 2>> window;
  std::optional<int64_t> globalTokens;
  bool dropScale;
};
} // namespace

CanonicalMask mlir::attn::canonicalMask(bool causal, int64_t left, int64_t right,
                                        int64_t globalTokens) {
  CanonicalMask m{causal || right == 0, left, right, globalTokens};
  if (m.causal)
    m.right = -1;
  if (!m.finiteBand() || m.globalTokens < 0)
    m.globalTokens = 0;
  return m;
}

template <typename OpTy> static CanonicalScoreAttrs canonicalScoreAttrs(OpTy op) {
  CanonicalScoreAttrs c;
  int64_t left = -1, right = -1;
  if (std::optional<ArrayRef<int64_t>> window = op.getWindow()) {
    left = (*window)[0];
    right = (*window)[1];
  }
  CanonicalMask m =
      canonicalMask(op.getCausal(), left, right, op.getGlobalTokens().value_or(0));
  c.causal = m.causal;
  if (m.finiteBand())
    c.window = std::array<int64_t, 2>{m.left, m.right};
  if (m.globalTokens > 0)
    c.globalTokens = m.globalTokens;
  double defaultScale =
      1.0 /
      std::sqrt(static_cast<double>(cast<RankedTensorType>(op.getQuery().getType()).getDimSize(3)));
  c.dropScale = op.getScale() && op.getScale()->convertToDouble() == defaultScale;
  return c;
}

/// Rewrites `op`'s score attributes into the canonical form; fails when already canonical.
template <typename OpTy>
static LogicalResult canonicalizeScoreAttrs(OpTy op, PatternRewriter &rewriter) {
  CanonicalScoreAttrs c = canonicalScoreAttrs(op);
  std::optional<ArrayRef<int64_t>> window = op.getWindow();
  bool sameWindow = window.has_value() == c.window.has_value() &&
                    (!window || ArrayRef<int64_t>(*c.window) == *window);
  if (c.causal == op.getCausal() && sameWindow && c.globalTokens == op.getGlobalTokens() &&
      !c.dropScale)
    return failure();
  rewriter.modifyOpInPlace(op, [&] {
    op.setCausal(c.causal);
    if (c.window)
      op.setWindowAttr(rewriter.getDenseI64ArrayAttr(*c.window));
    else
      op.removeWindowAttr();
    if (c.globalTokens)
      op.setGlobalTokensAttr(rewriter.getI64IntegerAttr(*c.globalTokens));
    else
      op.removeGlobalTokensAttr();
    if (c.dropScale)
      op.removeScaleAttr();
  });
  return success();
}

LogicalResult AttentionOp::canonicalize(AttentionOp op, PatternRewriter &rewriter) {
  return canonicalizeScoreAttrs(op, rewriter);
}

LogicalResult OnlineAttentionOp::canonicalize(OnlineAttentionOp op, PatternRewriter &rewriter) {
  return canonicalizeScoreAttrs(op, rewriter);
}

LogicalResult LinearAttentionOp::canonicalize(LinearAttentionOp op, PatternRewriter &rewriter) {
  // Linear attention's default scale is 1 (SPEC §3).
  if (!op.getScale() || op.getScale()->convertToDouble() != 1.0)
    return failure();
  rewriter.modifyOpInPlace(op, [&] { op.removeScaleAttr(); });
  return success();
}
