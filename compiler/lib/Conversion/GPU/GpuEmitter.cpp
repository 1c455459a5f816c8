//===- GpuEmitter.cpp - target-independent GPU micro-operations -----------===//

#include "attn/Conversion/GPU/GpuKernels.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;

Type mlir::attn::storageType(Type type) {
  return type.isBF16() ? IntegerType::get(type.getContext(), 16) : type;
}

ProblemDims ProblemDims::of(Operation *op) {
  auto q = cast<RankedTensorType>(op->getOperand(0).getType());
  auto v = cast<RankedTensorType>(op->getOperand(2).getType());
  return {q.getElementType(), q.getDimSize(3), v.getDimSize(3)};
}

SimtWorkgroupShape SimtWorkgroupShape::get(const SimtConfig &config, int64_t group) {
  int64_t heads = std::min(group, config.teams);
  return {heads, config.teams / heads, int64_t(llvm::divideCeil(group, heads))};
}

Value GpuEmitter::batchLength(int64_t flag, int64_t offset, Value lens, Value batchIndex,
                              Value full) {
  Value has = e.cmpi(arith::CmpIPredicate::ne, param(flag), e.index(0));
  return e.ifThenElse(
      has, b.getIndexType(),
      [&] {
        Value at = e.add(param(offset), batchIndex);
        Value length = e.indexCast(b.create<memref::LoadOp>(lens, ValueRange{at}));
        return SmallVector<Value>{e.mins(e.maxs(length, e.index(0)), full)};
      },
      [&] { return SmallVector<Value>{full}; })[0];
}

Value GpuEmitter::queryLength(Value lens, Value batchIndex, Value full) {
  return batchLength(ATTN_GPU_PARAM_HAS_SEQLENS_Q, ATTN_GPU_PARAM_SEQLENS_Q, lens, batchIndex,
                     full);
}

Value GpuEmitter::keyLength(Value lens, Value batchIndex, Value full) {
  return batchLength(ATTN_GPU_PARAM_HAS_SEQLENS_KV, ATTN_GPU_PARAM_SEQLENS_KV, lens, batchIndex,
                     full);
}

Value GpuEmitter::launchScale() {
  Value bits = b.create<arith::IndexCastOp>(b.getI32Type(), param(ATTN_GPU_PARAM_SCALE));
  return b.create<arith::BitcastOp>(b.getF32Type(), bits);
}

TensorAddress GpuEmitter::tensorAddress(int64_t first) {
  return {param(first), param(first + 1), param(first + 2), param(first + 3)};
}

Value GpuEmitter::loadF32(Value buf, Value i, Type type) {
  Value x = b.create<memref::LoadOp>(buf, ValueRange{i});
  if (type.isF32())
    return x;
  if (type.isF16())
    return b.create<arith::ExtFOp>(b.getF32Type(), x);
  // bf16: the upper half of an f32.
  Value bits = b.create<arith::ExtUIOp>(b.getI32Type(), x);
  return b.create<arith::BitcastOp>(b.getF32Type(), b.create<arith::ShLIOp>(bits, e.i32(16)));
}

void GpuEmitter::storeF32(Value x, Value buf, Value i, Type type) {
  if (type.isF16()) {
    x = b.create<arith::TruncFOp>(b.getF16Type(), x);
  } else if (type.isBF16()) {
    Value bits = b.create<arith::BitcastOp>(b.getI32Type(), x);
    Value lsb = b.create<arith::AndIOp>(b.create<arith::ShRUIOp>(bits, e.i32(16)), e.i32(1));
    Value rounded = b.create<arith::AddIOp>(bits, b.create<arith::AddIOp>(lsb, e.i32(0x7fff)));
    Value nan = e.cmpf(CmpFPredicate::UNO, x, x);
    Value quiet = b.create<arith::OrIOp>(bits, e.i32(0x400000));
    Value high = b.create<arith::ShRUIOp>(e.select(nan, quiet, rounded), e.i32(16));
    x = b.create<arith::TruncIOp>(b.getIntegerType(16), high);
  }
  b.create<memref::StoreOp>(x, buf, ValueRange{i});
}

Value GpuEmitter::broadcastLane(Value x, Value src, int64_t lanes) {
  Value srcLane = b.create<arith::IndexCastOp>(b.getI32Type(), src);
  return b.create<gpu::ShuffleOp>(x, srcLane, e.i32(lanes), gpu::ShuffleMode::IDX).getResult(0);
}
