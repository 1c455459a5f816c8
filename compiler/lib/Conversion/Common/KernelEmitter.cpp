//===- KernelEmitter.cpp - small builder helpers for kernel bodies --------===//

#include "attn/Conversion/Common/KernelEmitter.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::attn;

SmallVector<Value> KernelEmitter::loop(Value lo, Value hi, Value step, ValueRange inits,
                                       const LoopBody &body) {
  if (guardEmptyLoops && !inits.empty()) {
    std::optional<int64_t> first = getConstantIntValue(lo), last = getConstantIntValue(hi);
    if (!first || !last || *first >= *last)
      return ifThenElse(
          cmpi(arith::CmpIPredicate::slt, lo, hi), TypeRange(inits),
          [&] { return forLoop(lo, hi, step, inits, body); },
          [&] { return SmallVector<Value>(inits); });
  }
  return forLoop(lo, hi, step, inits, body);
}

SmallVector<Value> KernelEmitter::forLoop(Value lo, Value hi, Value step, ValueRange inits,
                                          const LoopBody &body) {
  auto forOp = b.create<scf::ForOp>(lo, hi, step, inits);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forOp.getBody());
  SmallVector<Value> next = body(forOp.getInductionVar(), forOp.getRegionIterArgs());
  if (!inits.empty())
    b.create<scf::YieldOp>(next);
  return SmallVector<Value>(forOp.getResults().begin(), forOp.getResults().end());
}

void KernelEmitter::loop(Value lo, Value hi, Value step, const std::function<void(Value)> &body) {
  loop(lo, hi, step, ValueRange{}, [&](Value iv, ValueRange) {
    body(iv);
    return SmallVector<Value>{};
  });
}

void KernelEmitter::ifThen(Value cond, const std::function<void()> &then) {
  auto ifOp = b.create<scf::IfOp>(cond, /*withElseRegion=*/false);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  then();
}

void KernelEmitter::ifThenElse(Value cond, const std::function<void()> &then,
                               const std::function<void()> &otherwise) {
  auto ifOp = b.create<scf::IfOp>(cond, /*withElseRegion=*/true);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(ifOp.thenBlock());
  then();
  b.setInsertionPointToStart(ifOp.elseBlock());
  otherwise();
}

SmallVector<Value> KernelEmitter::ifThenElse(Value cond, TypeRange types,
                                             const std::function<SmallVector<Value>()> &then,
                                             const std::function<SmallVector<Value>()> &otherwise) {
  auto ifOp = b.create<scf::IfOp>(types, cond, /*withElseRegion=*/true);
  {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(ifOp.thenBlock());
    b.create<scf::YieldOp>(then());
    b.setInsertionPointToStart(ifOp.elseBlock());
    b.create<scf::YieldOp>(otherwise());
  }
  return SmallVector<Value>(ifOp.getResults().begin(), ifOp.getResults().end());
}

KernelEmitter::LaunchParams KernelEmitter::loadParams(Value params) {
  auto param = [&](int64_t i) {
    return indexCast(b.create<memref::LoadOp>(params, ValueRange{index(i)}));
  };
  Value scaleBits = b.create<memref::LoadOp>(params, ValueRange{index(5)});
  Value scale = b.create<arith::BitcastOp>(b.getF32Type(),
                                           b.create<arith::TruncIOp>(b.getI32Type(), scaleBits));
  return {param(0),
          param(1),
          cmpi(arith::CmpIPredicate::ne, param(2), index(0)),
          cmpi(arith::CmpIPredicate::ne, param(3), index(0)),
          param(4),
          scale};
}

Value KernelEmitter::batchLength(Value lens, Value has, Value batchIndex, Value full) {
  return ifThenElse(
      has, b.getIndexType(),
      [&] {
        return SmallVector<Value>{
            indexCast(b.create<memref::LoadOp>(lens, ValueRange{batchIndex}))};
      },
      [&] { return SmallVector<Value>{full}; })[0];
}
