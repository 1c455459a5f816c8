//===- SoftmaxCommon.h - what the softmax kernels share --------*- C++ -*-===//
//
// The problem as the softmax generators read it off attn.attention, and the mask logic of SPEC §3
// in the three forms the kernels need: the key range an item must visit, whether a whole tile is
// visible, and per-element visibility (scalar or lane-wise).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_SOFTMAXCOMMON_H
#define ATTN_CONVERSION_ATTNTOCPU_SOFTMAXCOMMON_H

#include "attn/Conversion/AttnToCPU/KernelEmitter.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include <optional>

namespace mlir::attn {

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

/// Calls `tile(j0, n)` inside one loop over the tiles of `blockK` keys of both ranges of `range`
/// (global keys first): one copy of the tile code, however many ranges.
void forEachTile(KernelEmitter &e, const KeyRange &range, int64_t blockK,
                 const std::function<void(Value j0, Value n)> &tile);

/// i1: every key of [j0, j0 + n) is visible to every row with position in [pmin, pmax].
Value tileFullyVisible(KernelEmitter &e, const MaskSpec &mask, Value j0, Value n, Value pmin,
                       Value pmax);

/// Whether `key` is visible to a row at position `pos` (integers or integer vectors of one type;
/// `constant` makes a constant of that type). Requires mask.masked().
Value keyVisible(KernelEmitter &e, const MaskSpec &mask, Value key, Value pos,
                 const std::function<Value(int64_t)> &constant);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOCPU_SOFTMAXCOMMON_H
