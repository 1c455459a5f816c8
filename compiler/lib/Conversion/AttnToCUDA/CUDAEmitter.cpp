//===- CUDAEmitter.cpp - CUDA micro-operations for the shared generators -===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

using namespace mlir;
using namespace mlir::attn;

MemRefType CUDAKernelTarget::buffer(Type element) const {
  // Any static size works: the bare-pointer convention passes only the pointer.
  return MemRefType::get({int64_t(1) << 40}, element);
}

gpu::GPUFuncOp CUDAKernelTarget::createKernel(OpBuilder &builder, Location loc, StringRef name,
                                              ArrayRef<Type> buffers, int64_t workgroupSize) const {
  MLIRContext *ctx = builder.getContext();
  SmallVector<Type> args(buffers);
  args.append(ATTN_GPU_PARAM_COUNT, IntegerType::get(ctx, 64));
  auto fn = builder.create<gpu::GPUFuncOp>(loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  fn->setAttr(NVVM::NVVMDialect::getMaxntidAttrName(),
              builder.getDenseI32ArrayAttr({int32_t(workgroupSize), 1, 1}));
  fn->setAttr(kDynamicSharedBytesAttrName, builder.getI64IntegerAttr(0));
  return fn;
}

Value mlir::attn::cudaSharedView(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn, int64_t offset,
                                 int64_t count, Type element) {
  auto space = gpu::AddressSpaceAttr::get(b.getContext(), gpu::AddressSpace::Workgroup);
  auto bytesType =
      MemRefType::get({ShapedType::kDynamic}, b.getI8Type(), MemRefLayoutAttrInterface(), space);
  Value base = b.create<gpu::DynamicSharedMemoryOp>(bytesType);
  auto viewType = MemRefType::get({count}, element, MemRefLayoutAttrInterface(), space);
  Value view = b.create<memref::ViewOp>(viewType, base, b.create<arith::ConstantIndexOp>(offset),
                                        ValueRange{});
  int64_t end = offset + count * int64_t(element.getIntOrFloatBitWidth() / 8);
  auto current = fn->getAttrOfType<IntegerAttr>(kDynamicSharedBytesAttrName);
  if (!current || current.getInt() < end)
    fn->setAttr(kDynamicSharedBytesAttrName, b.getI64IntegerAttr(end));
  return view;
}

namespace {
class CUDAEmitter : public GpuEmitter {
public:
  CUDAEmitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn, unsigned numBuffers)
      : GpuEmitter(b), fn(fn), numBuffers(numBuffers) {}

  Value param(int64_t index) override { return e.indexCast(fn.getArgument(numBuffers + index)); }
  Value shared(int64_t count) override {
    Value view = cudaSharedView(b, fn, next, count, b.getF32Type());
    next += 4 * count;
    next = (next + 15) / 16 * 16;
    return view;
  }
  Value subgroupMax(Value x) override {
    return butterfly(x, [&](Value a, Value c) { return e.maxf(a, c); });
  }
  Value subgroupSum(Value x) override {
    return butterfly(x, [&](Value a, Value c) { return e.addf(a, c); });
  }

private:
  Value butterfly(Value x, const std::function<Value(Value, Value)> &combine) {
    for (int64_t offset = kCUDAWarpSize / 2; offset >= 1; offset /= 2) {
      Value other =
          b.create<gpu::ShuffleOp>(x, e.i32(offset), e.i32(kCUDAWarpSize), gpu::ShuffleMode::XOR)
              .getResult(0);
      x = combine(x, other);
    }
    return x;
  }

  gpu::GPUFuncOp fn;
  unsigned numBuffers;
  int64_t next = 0;
};
} // namespace

std::unique_ptr<GpuEmitter> CUDAKernelTarget::emitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn,
                                                      unsigned numBuffers) const {
  return std::make_unique<CUDAEmitter>(b, fn, numBuffers);
}
