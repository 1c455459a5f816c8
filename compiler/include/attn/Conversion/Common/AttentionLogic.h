//===- AttentionLogic.h - attention logic every target shares --*- C++ -*-===//
//
// Written once for the CPU and GPU generators: the problem as they read it off attn.attention;
// the mask logic of SPEC §3 in the three forms kernels need (the key range a block of rows must
// visit, whether a whole tile is visible, per-element visibility); the online-softmax step and
// the finalize of a row; the LSE merge of partial results. Each works on f32 scalars or vectors
// alike (lane-wise), so a target only chooses the layout the values live in.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_COMMON_ATTENTIONLOGIC_H
#define ATTN_CONVERSION_COMMON_ATTENTIONLOGIC_H

#include "attn/Conversion/Common/KernelEmitter.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>

namespace mlir::attn {

/// The one attn.attention / attn.linear_attention / attn.merge of a problem module (nullptr when
/// there is none); failure, with an error on the second one, when there are several.
FailureOr<Operation *> findProblemOp(ModuleOp module);

struct MaskSpec {
  bool causal = false;
  int64_t left = -1, right = -1, globals = 0;
  /// Whether any key can be hidden from any row (a dense problem has no mask code at all).
  bool masked() const { return causal || left >= 0 || right >= 0; }
};

struct SoftmaxSpec {
  Type elementType;
  int64_t headsKv, group, headDim, headDimV;
  double scale;
  MaskSpec mask;
  std::optional<double> softcap;
  bool lse, entropy;
  int64_t pageSize;  // keys per page of a paged KV cache; 0: K/V are [B, Skv, Hkv, D]
  bool alibi, sinks; // per-head ALiBi slopes / sink logits (f32 [Hq] kernel arguments)

  explicit SoftmaxSpec(AttentionOp op);
};

/// The keys rows with positions [pmin, pmax] can see within [kvBegin, kvEnd): the global keys
/// [globalsBegin, globalsEnd) (visited as tiles of their own) and the band [lo, hi). A row that
/// is itself global (p < G) sees every key, so then nothing is clipped. Ranges may be empty.
struct KeyRange {
  Value globalsBegin, globalsEnd, lo, hi;
};
KeyRange visibleKeys(KernelEmitter &e, const MaskSpec &mask, Value pmin, Value pmax, Value kvBegin,
                     Value kvEnd);

/// The tiles of `blockK` keys of both ranges of `range` (global keys first), numbered 0 ..
/// count - 1: what forEachTile loops over, for kernels that fetch tile t + 1 while computing t.
struct TileSchedule {
  Value count, globalTiles;
  /// Tile t's first key and key count (at most blockK).
  std::pair<Value, Value> tile(KernelEmitter &e, Value t) const;

  KeyRange range;
  int64_t blockK;
};
TileSchedule tileSchedule(KernelEmitter &e, const KeyRange &range, int64_t blockK);

/// Calls `tile(j0, n)` inside one loop over the tiles of `blockK` keys of both ranges of `range`
/// (global keys first): one copy of the tile code, however many ranges.
void forEachTile(KernelEmitter &e, const KeyRange &range, int64_t blockK,
                 const std::function<void(Value j0, Value n)> &tile);
/// The same with values carried from tile to tile (a GPU keeps its online-softmax state in
/// registers): returns the values after the last tile. The loop bounds depend only on `range`,
/// so a workgroup whose threads share it may synchronize inside `tile`.
SmallVector<Value>
forEachTile(KernelEmitter &e, const KeyRange &range, int64_t blockK, ValueRange inits,
            const std::function<SmallVector<Value>(Value j0, Value n, ValueRange carried)> &tile);

/// i1: every key of [j0, j0 + n) is visible to every row with position in [pmin, pmax].
Value tileFullyVisible(KernelEmitter &e, const MaskSpec &mask, Value j0, Value n, Value pmin,
                       Value pmax);

/// Whether `key` is visible to a row at position `pos` (integers or integer vectors of one type;
/// `constant` makes a constant of that type). Requires mask.masked().
Value keyVisible(KernelEmitter &e, const MaskSpec &mask, Value key, Value pos,
                 const std::function<Value(int64_t)> &constant);

/// One online-softmax step after a tile whose (lane-wise) max score is `tileMax`: the new running
/// max, the max to subtract from the tile's scores (0 while no key has been seen, so that
/// -inf - -inf never makes a NaN) and the factor exp(oldMax - shift) by which the running sum, the
/// entropy sum and the output accumulator are rescaled. `negInf` and `zero` are constants of the
/// values' type.
struct OnlineStep {
  Value newMax, shift, rescale;
};
/// With `base2` the scores are in log2 units (multiplied by log2(e)) and the factor is exp2.
/// With `slack` > 0 the running max is "lazy": it moves only when the tile's max exceeds it by
/// more than `slack` (in the scores' units), so most tiles rescale nothing. Exact: every
/// exponent is relative to the same max, and exp(s - m) <= exp(slack) stays far from overflow.
OnlineStep onlineSoftmaxStep(KernelEmitter &e, Value oldMax, Value tileMax, Value negInf,
                             Value zero, bool base2 = false, double slack = 0.0);

/// A row's results from its final state: max m, sum l of exp(s - m), and t = sum of
/// exp(s - m) * s when entropy is wanted (else null). A row that saw no visible key (l = 0) has
/// output 0, LSE -inf and entropy 0 (SPEC §3): `inverseSum` is then 0.
struct RowResult {
  Value inverseSum, lse, entropy;
};
RowResult finalizeRow(KernelEmitter &e, Value m, Value l, Value t);

/// A row's final state (m, l and t as for finalizeRow; t may be null) with its sink logit folded
/// in (SPEC §3): one more term exp(sink - m) of the sum with no value, sink·exp(sink - m) of t.
/// A sink of -inf is none; a row that saw no key ends with m = sink, l = 1. The max may move:
/// the output accumulator (relative to the old max) is then multiplied by `rescale` too, which
/// finalizeRow's inverseSum does not include. f32 scalars.
struct RowState {
  Value m, l, t, rescale;
};
RowState foldSink(KernelEmitter &e, Value m, Value l, Value t, Value sink);

/// ALiBi's bias (SPEC §3) -slope·|p - j| for `key` j and row position `pos` (i32 scalars or i32
/// vectors of one shape; `negSlope` the matching f32 or f32 vector, -slope).
Value alibiBias(KernelEmitter &e, Value negSlope, Value key, Value pos);

/// The LSE merge of partial results (SPEC §3, merge): given the max of the parts' LSEs, the
/// shift to subtract before exponentiating (0 when every part is -inf) and whether any part
/// counts. weight(lse_p) = exp(lse_p - shift); the merged LSE is shift + log(sum of weights).
struct MergeShift {
  Value any, shift;
};
MergeShift mergeShift(KernelEmitter &e, Value maxLse);
/// The merged LSE from the sum of the parts' weights (-inf when no part counts).
Value mergedLse(KernelEmitter &e, const MergeShift &shift, Value weightSum);

/// Linear attention's feature map φ (SPEC §3) on f32 scalars or vectors; `constant` makes a
/// constant of x's type.
Value applyFeatureMap(KernelEmitter &e, FeatureMap map, Value x,
                      const std::function<Value(double)> &constant);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_COMMON_ATTENTIONLOGIC_H
