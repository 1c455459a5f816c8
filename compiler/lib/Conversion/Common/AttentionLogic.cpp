//===- AttentionLogic.cpp - attention logic every target shares -----------===//

#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

FailureOr<Operation *> mlir::attn::findProblemOp(ModuleOp module) {
  SmallVector<Operation *> problems;
  module.walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
      problems.push_back(op);
  });
  if (problems.size() > 1) {
    problems[1]->emitError() << "a problem module holds one attention op; found "
                             << problems.size();
    return failure();
  }
  return problems.empty() ? nullptr : problems.front();
}

SoftmaxSpec::SoftmaxSpec(AttentionOp op) {
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto k = cast<RankedTensorType>(op.getKey().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  elementType = q.getElementType();
  headsKv = k.getDimSize(2);
  group = q.getDimSize(2) / headsKv;
  headDim = q.getDimSize(3);
  headDimV = v.getDimSize(3);
  scale = op.getEffectiveScale();
  mask.causal = op.getCausal();
  if (std::optional<ArrayRef<int64_t>> window = op.getWindow()) {
    mask.left = (*window)[0];
    mask.right = (*window)[1];
  }
  mask.globals = op.getGlobalTokens().value_or(0);
  if (op.getSoftcap())
    softcap = op.getSoftcap()->convertToDouble();
  lse = op.getReturnLse();
  entropy = op.getReturnEntropy();
  pageSize = op.getPageSize();
  alibi = op.getAlibiSlopes() != nullptr;
  sinks = op.getSinks() != nullptr;
}

KeyRange mlir::attn::visibleKeys(KernelEmitter &e, const MaskSpec &mask, Value pmin, Value pmax,
                                 Value kvBegin, Value kvEnd) {
  Value lo = kvBegin, hi = kvEnd;
  if (mask.causal)
    hi = e.mins(hi, e.add(pmax, e.index(1)));
  if (mask.right >= 0)
    hi = e.mins(hi, e.add(pmax, e.index(mask.right + 1)));
  if (mask.left >= 0)
    lo = e.maxs(lo, e.sub(pmin, e.index(mask.left)));
  KeyRange range{kvBegin, kvBegin, lo, hi};
  if (mask.globals > 0 && mask.masked()) {
    Value G = e.index(mask.globals);
    Value globalRow = e.cmpi(CmpIPredicate::slt, pmin, G);
    Value fullHi = mask.causal ? e.mins(kvEnd, e.add(pmax, e.index(1))) : kvEnd;
    lo = e.select(globalRow, kvBegin, lo);
    hi = e.select(globalRow, fullHi, hi);
    range.globalsEnd = e.maxs(kvBegin, e.mins(e.mins(G, lo), hi));
    range.lo = e.maxs(lo, range.globalsEnd);
    range.hi = hi;
  }
  return range;
}

void mlir::attn::forEachTile(KernelEmitter &e, const KeyRange &range, int64_t blockK,
                             const std::function<void(Value, Value)> &tile) {
  forEachTile(e, range, blockK, ValueRange{}, [&](Value j0, Value n, ValueRange) {
    tile(j0, n);
    return SmallVector<Value>{};
  });
}

TileSchedule mlir::attn::tileSchedule(KernelEmitter &e, const KeyRange &range, int64_t blockK) {
  Value block = e.index(blockK), zero = e.index(0);
  auto tiles = [&](Value lo, Value hi) { return e.ceildiv(e.maxs(e.sub(hi, lo), zero), block); };
  TileSchedule schedule;
  schedule.range = range;
  schedule.blockK = blockK;
  schedule.globalTiles = tiles(range.globalsBegin, range.globalsEnd);
  schedule.count = e.add(schedule.globalTiles, tiles(range.lo, range.hi));
  return schedule;
}

std::pair<Value, Value> TileSchedule::tile(KernelEmitter &e, Value t) const {
  Value block = e.index(blockK);
  Value global = e.cmpi(CmpIPredicate::slt, t, globalTiles);
  Value j0 = e.select(global, e.add(range.globalsBegin, e.mul(t, block)),
                      e.add(range.lo, e.mul(e.sub(t, globalTiles), block)));
  Value end = e.select(global, range.globalsEnd, range.hi);
  return {j0, e.mins(block, e.sub(end, j0))};
}

SmallVector<Value>
mlir::attn::forEachTile(KernelEmitter &e, const KeyRange &range, int64_t blockK, ValueRange inits,
                        const std::function<SmallVector<Value>(Value, Value, ValueRange)> &tile) {
  TileSchedule schedule = tileSchedule(e, range, blockK);
  return e.loop(e.index(0), schedule.count, e.index(1), inits, [&](Value t, ValueRange carried) {
    auto [j0, n] = schedule.tile(e, t);
    return tile(j0, n, carried);
  });
}

Value mlir::attn::tileFullyVisible(KernelEmitter &e, const MaskSpec &mask, Value j0, Value n,
                                   Value pmin, Value pmax) {
  ImplicitLocOpBuilder &b = e.builder();
  Value jmax = e.sub(e.add(j0, n), e.index(1));
  Value yes = b.create<arith::ConstantOp>(b.getBoolAttr(true));
  Value causalAll = mask.causal ? e.cmpi(CmpIPredicate::sle, jmax, pmin) : yes;
  Value bandAll = yes;
  if (mask.left >= 0)
    bandAll = e.andi(bandAll, e.cmpi(CmpIPredicate::sge, j0, e.sub(pmax, e.index(mask.left))));
  if (mask.right >= 0)
    bandAll = e.andi(bandAll, e.cmpi(CmpIPredicate::sle, jmax, e.add(pmin, e.index(mask.right))));
  if (mask.globals > 0) {
    Value G = e.index(mask.globals);
    bandAll = e.ori(
        bandAll, e.ori(e.cmpi(CmpIPredicate::slt, jmax, G), e.cmpi(CmpIPredicate::slt, pmax, G)));
  }
  return e.andi(causalAll, bandAll);
}

Value mlir::attn::keyVisible(KernelEmitter &e, const MaskSpec &mask, Value key, Value pos,
                             const std::function<Value(int64_t)> &constant) {
  ImplicitLocOpBuilder &b = e.builder();
  Value visible;
  auto both = [&](Value a, Value x) { return a ? e.andi(a, x) : x; };
  if (mask.left >= 0)
    visible = both(visible, e.cmpi(CmpIPredicate::sge, key,
                                   b.create<arith::SubIOp>(pos, constant(mask.left))));
  if (mask.right >= 0)
    visible = both(visible, e.cmpi(CmpIPredicate::sle, key,
                                   b.create<arith::AddIOp>(pos, constant(mask.right))));
  if (visible && mask.globals > 0) {
    Value G = constant(mask.globals);
    visible = e.ori(visible,
                    e.ori(e.cmpi(CmpIPredicate::slt, key, G), e.cmpi(CmpIPredicate::slt, pos, G)));
  }
  if (mask.causal)
    visible = both(visible, e.cmpi(CmpIPredicate::sle, key, pos));
  return visible;
}

OnlineStep mlir::attn::onlineSoftmaxStep(KernelEmitter &e, Value oldMax, Value tileMax,
                                         Value negInf, Value zero, bool base2, double slack) {
  Value newMax = e.maxf(oldMax, tileMax);
  if (slack > 0.0) {
    // -inf + slack is -inf: the first visible key always sets the max.
    Value slackConst = e.builder().create<arith::ConstantOp>(
        e.builder().getFloatAttr(getElementTypeOrSelf(oldMax), slack));
    if (auto vec = dyn_cast<VectorType>(oldMax.getType()))
      slackConst = e.splat(vec, slackConst);
    Value moved = e.cmpf(CmpFPredicate::OGT, tileMax, e.addf(oldMax, slackConst));
    newMax = e.select(moved, newMax, oldMax);
  }
  Value shift = e.select(e.cmpf(CmpFPredicate::OEQ, newMax, negInf), zero, newMax);
  Value rescale = base2 ? e.builder().create<math::Exp2Op>(e.subf(oldMax, shift)).getResult()
                        : e.builder().create<math::ExpOp>(e.subf(oldMax, shift)).getResult();
  return {newMax, shift, rescale};
}

RowResult mlir::attn::finalizeRow(KernelEmitter &e, Value m, Value l, Value t) {
  Value zero = e.f32(0.0), one = e.f32(1.0);
  Value seen = e.cmpf(CmpFPredicate::OGT, l, zero);
  RowResult result;
  result.inverseSum = e.select(seen, e.divf(one, l), zero);
  Value logSum = e.addf(m, e.builder().create<math::LogOp>(e.select(seen, l, one)));
  result.lse = e.select(seen, logSum, e.f32(-std::numeric_limits<double>::infinity()));
  if (t)
    result.entropy = e.select(seen, e.subf(result.lse, e.mulf(t, result.inverseSum)), zero);
  return result;
}

RowState mlir::attn::foldSink(KernelEmitter &e, Value m, Value l, Value t, Value sink) {
  Value zero = e.f32(0.0), negInf = e.f32(-std::numeric_limits<double>::infinity());
  Value newMax = e.maxf(m, sink);
  // Relative to 0 when both are -inf, so that no -inf - -inf makes a NaN.
  Value shift = e.select(e.cmpf(CmpFPredicate::OEQ, newMax, negInf), zero, newMax);
  Value keep = e.builder().create<math::ExpOp>(e.subf(m, shift));
  Value weight = e.builder().create<math::ExpOp>(e.subf(sink, shift));
  RowState state{newMax, e.addf(e.mulf(keep, l), weight), Value(), keep};
  if (t) {
    Value finiteSink = e.select(e.cmpf(CmpFPredicate::OEQ, sink, negInf), zero, sink);
    state.t = e.addf(e.mulf(keep, t), e.mulf(weight, finiteSink));
  }
  return state;
}

Value mlir::attn::alibiBias(KernelEmitter &e, Value negSlope, Value key, Value pos) {
  auto &b = e.builder();
  Value distance = b.create<arith::MaxSIOp>(e.sub(pos, key), e.sub(key, pos));
  return e.mulf(negSlope, b.create<arith::SIToFPOp>(negSlope.getType(), distance));
}

MergeShift mlir::attn::mergeShift(KernelEmitter &e, Value maxLse) {
  Value any = e.cmpf(CmpFPredicate::ONE, maxLse, e.f32(-std::numeric_limits<double>::infinity()));
  return {any, e.select(any, maxLse, e.f32(0.0))};
}

Value mlir::attn::mergedLse(KernelEmitter &e, const MergeShift &shift, Value weightSum) {
  Value log = e.builder().create<math::LogOp>(e.select(shift.any, weightSum, e.f32(1.0)));
  return e.select(shift.any, e.addf(shift.shift, log),
                  e.f32(-std::numeric_limits<double>::infinity()));
}

Value mlir::attn::applyFeatureMap(KernelEmitter &e, FeatureMap map, Value x,
                                  const std::function<Value(double)> &constant) {
  switch (map) {
  case FeatureMap::elu_plus_one: // elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise
    return e.select(e.cmpf(CmpFPredicate::OGT, x, constant(0.0)), e.addf(x, constant(1.0)),
                    e.builder().create<math::ExpOp>(x));
  case FeatureMap::relu:
    return e.maxf(x, constant(0.0));
  case FeatureMap::identity:
    return x;
  }
  llvm_unreachable("unknown feature map");
}
