//===- VulkanEmitter.cpp - Vulkan micro-operations ------------------------===//

#include "VulkanEmitter.h"

#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"

using namespace mlir;
using namespace mlir::attn;

MemRefType mlir::attn::buffer(Type element) {
  return MemRefType::get({ShapedType::kDynamic}, element);
}

gpu::GPUFuncOp VulkanKernelTarget::createKernel(OpBuilder &builder, Location loc, StringRef name,
                                                ArrayRef<Type> buffers,
                                                int64_t workgroupSize) const {
  MLIRContext *ctx = builder.getContext();
  SmallVector<Type> args(buffers);
  args.push_back(buffer(IntegerType::get(ctx, 32)));
  auto fn = builder.create<gpu::GPUFuncOp>(loc, name, FunctionType::get(ctx, args, {}));
  fn->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), builder.getUnitAttr());
  int32_t size[3] = {int32_t(workgroupSize), 1, 1};
  fn->setAttr(spirv::getEntryPointABIAttrName(), spirv::getEntryPointABIAttr(ctx, size));
  return fn;
}

namespace {
class VulkanEmitter : public GpuEmitter {
public:
  VulkanEmitter(ImplicitLocOpBuilder &b, Value params) : GpuEmitter(b), params(params) {}

  Value param(int64_t index) override {
    return e.indexCast(b.create<memref::LoadOp>(params, ValueRange{e.index(index)}));
  }
  Value shared(int64_t count) override {
    auto type = MemRefType::get({count}, b.getF32Type(), MemRefLayoutAttrInterface(),
                                b.getI64IntegerAttr(3));
    return b.create<memref::AllocOp>(type);
  }
  Value subgroupMax(Value x) override {
    return b.create<gpu::SubgroupReduceOp>(x, gpu::AllReduceOperation::MAXIMUMF,
                                           /*uniform=*/false);
  }
  Value subgroupSum(Value x) override {
    return b.create<gpu::SubgroupReduceOp>(x, gpu::AllReduceOperation::ADD, /*uniform=*/false);
  }

private:
  Value params;
};
} // namespace

std::unique_ptr<GpuEmitter> VulkanKernelTarget::emitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn,
                                                        unsigned numBuffers) const {
  return std::make_unique<VulkanEmitter>(b, fn.getArgument(numBuffers));
}
