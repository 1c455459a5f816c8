//===- VulkanEmitter.cpp - Vulkan micro-operations ------------------------===//

#include "VulkanEmitter.h"

#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;

Type mlir::attn::storageType(Type type) {
  return type.isBF16() ? IntegerType::get(type.getContext(), 16) : type;
}

MemRefType mlir::attn::buffer(Type element) {
  return MemRefType::get({ShapedType::kDynamic}, element);
}

gpu::GPUFuncOp mlir::attn::createVulkanKernel(OpBuilder &builder, Location loc, StringRef name,
                                              ArrayRef<Type> args, int64_t workgroupSize) {
  MLIRContext *ctx = builder.getContext();
  auto fn = builder.create<gpu::GPUFuncOp>(loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  int32_t size[3] = {int32_t(workgroupSize), 1, 1};
  fn->setAttr(spirv::getEntryPointABIAttrName(), spirv::getEntryPointABIAttr(ctx, size));
  return fn;
}

Value GpuEmitter::loadIndex(Value buf, Value i) {
  return e.indexCast(b.create<memref::LoadOp>(buf, ValueRange{i}));
}

Value GpuEmitter::batchLength(Value params, int64_t flag, int64_t offset, Value lens,
                              Value batchIndex, Value full) {
  Value has = e.cmpi(arith::CmpIPredicate::ne, loadIndex(params, e.index(flag)), e.index(0));
  return e.ifThenElse(
      has, b.getIndexType(),
      [&] {
        Value at = e.add(loadIndex(params, e.index(offset)), batchIndex);
        Value length = loadIndex(lens, at);
        return SmallVector<Value>{e.mins(e.maxs(length, e.index(0)), full)};
      },
      [&] { return SmallVector<Value>{full}; })[0];
}

Value GpuEmitter::queryLength(Value params, Value lens, Value batchIndex, Value full) {
  return batchLength(params, ATTN_VK_PARAM_HAS_SEQLENS_Q, ATTN_VK_PARAM_SEQLENS_Q, lens, batchIndex,
                     full);
}

Value GpuEmitter::keyLength(Value params, Value lens, Value batchIndex, Value full) {
  return batchLength(params, ATTN_VK_PARAM_HAS_SEQLENS_KV, ATTN_VK_PARAM_SEQLENS_KV, lens,
                     batchIndex, full);
}

TensorAddress GpuEmitter::tensorAddress(Value params, int64_t first) {
  auto at = [&](int64_t i) { return loadIndex(params, e.index(first + i)); };
  return {at(0), at(1), at(2), at(3)};
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

Value GpuEmitter::shared(int64_t count) {
  auto type =
      MemRefType::get({count}, b.getF32Type(), MemRefLayoutAttrInterface(), b.getI64IntegerAttr(3));
  return b.create<memref::AllocOp>(type);
}

Value GpuEmitter::subgroupMax(Value x) {
  return b.create<gpu::SubgroupReduceOp>(x, gpu::AllReduceOperation::MAXIMUMF,
                                         /*uniform=*/false);
}

Value GpuEmitter::subgroupSum(Value x) {
  return b.create<gpu::SubgroupReduceOp>(x, gpu::AllReduceOperation::ADD, /*uniform=*/false);
}

Value GpuEmitter::broadcastLane(Value x, Value src, int64_t lanes) {
  Value srcLane = b.create<arith::IndexCastOp>(b.getI32Type(), src);
  return b.create<gpu::ShuffleOp>(x, srcLane, e.i32(lanes), gpu::ShuffleMode::IDX).getResult(0);
}
