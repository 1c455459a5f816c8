//===- KernelConfig.cpp - tile configuration and kernel ABI types ---------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"

#include "mlir/IR/BuiltinAttributes.h"

using namespace mlir;
using namespace mlir::attn;

CPUKernelConfig mlir::attn::chooseCPUConfig(Operation *op, int64_t vectorWidth) {
  CPUKernelConfig config;
  config.vectorWidth = vectorWidth;
  config.blockK = 64;
  if (auto attention = dyn_cast<AttentionOp>(op)) {
    auto q = cast<RankedTensorType>(attention.getQuery().getType());
    auto k = cast<RankedTensorType>(attention.getKey().getType());
    int64_t group = q.getDimSize(2) / k.getDimSize(2);
    // Four vectors of query rows per item: 4 x 6 accumulators fill the register file on AVX-512
    // and the K/V tile is reused 4 x width times per load. A GQA group shares the rows.
    int64_t rows = 4 * vectorWidth;
    config.blockQ = std::max<int64_t>(1, rows / group);
  } else { // linear attention and merge have no query blocks
    config.blockQ = 1;
  }
  return config;
}

FailureOr<CPUKernelConfig> mlir::attn::getCPUConfig(Operation *op) {
  auto dict = op->getAttrOfType<DictionaryAttr>(kCPUConfigAttrName);
  if (!dict)
    return failure();
  auto get = [&](StringRef name) -> int64_t {
    auto attr = dict.getAs<IntegerAttr>(name);
    return attr ? attr.getInt() : 0;
  };
  CPUKernelConfig config{get("block_q"), get("block_k"), get("vector_width")};
  if (config.blockQ <= 0 || config.blockK <= 0 || config.vectorWidth <= 0)
    return failure();
  return config;
}

void mlir::attn::setCPUConfig(Operation *op, const CPUKernelConfig &config) {
  Builder b(op->getContext());
  op->setAttr(kCPUConfigAttrName,
              b.getDictionaryAttr(
                  {b.getNamedAttr("block_q", b.getI64IntegerAttr(config.blockQ)),
                   b.getNamedAttr("block_k", b.getI64IntegerAttr(config.blockK)),
                   b.getNamedAttr("vector_width", b.getI64IntegerAttr(config.vectorWidth))}));
}

MemRefType mlir::attn::bshdMemRefType(Type elementType) {
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(elementType.getContext(), dyn, {dyn, dyn, dyn, 1});
  return MemRefType::get({dyn, dyn, dyn, dyn}, elementType, layout);
}

MemRefType mlir::attn::statMemRefType(MLIRContext *ctx) {
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dyn, {dyn, dyn, dyn});
  return MemRefType::get({dyn, dyn, dyn}, Float32Type::get(ctx), layout);
}

MemRefType mlir::attn::vectorMemRefType(Type elementType) {
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(elementType.getContext(), dyn, {dyn});
  return MemRefType::get({dyn}, elementType, layout);
}

func::FuncOp mlir::attn::createKernelFunction(OpBuilder &builder, Location loc, StringRef name,
                                              TypeRange args) {
  auto fn = builder.create<func::FuncOp>(loc, name, builder.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return fn;
}
