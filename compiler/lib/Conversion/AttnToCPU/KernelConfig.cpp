//===- KernelConfig.cpp - tile configuration and kernel ABI types ---------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/MathExtras.h"

using namespace mlir;
using namespace mlir::attn;

bool mlir::attn::amxFits(AttentionOp op) {
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  auto v = cast<RankedTensorType>(op.getValue().getType());
  return q.getElementType().isBF16() && q.getDimSize(3) % 32 == 0 && v.getDimSize(3) % 16 == 0;
}

bool mlir::attn::dpbf16Fits(AttentionOp op) {
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  return q.getElementType().isBF16() && q.getDimSize(3) % 32 == 0;
}

CPUKernelConfig mlir::attn::chooseCPUConfig(Operation *op, int64_t vectorWidth, bool amx,
                                            bool dpbf16) {
  CPUKernelConfig config;
  config.vectorWidth = vectorWidth;
  config.blockK = 64;
  auto attention = dyn_cast<AttentionOp>(op);
  config.dpbf16 = attention && dpbf16 && vectorWidth == 16 && dpbf16Fits(attention);
  if (attention && amx && vectorWidth == 16 && amxFits(attention)) {
    // AMX: the tiles multiply so fast that the per-tile work shared by all rows of an item
    // (packing K and V into tile layouts) must be spread over many rows: 128 per item.
    auto q = cast<RankedTensorType>(attention.getQuery().getType());
    auto k = cast<RankedTensorType>(attention.getKey().getType());
    int64_t group = q.getDimSize(2) / k.getDimSize(2);
    config.amx = 1;
    config.blockQ = std::max<int64_t>(1, 128 / group);
    return config;
  }
  if (attention) {
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
  // Linear attention's block_k is its scan chunk: the intra-chunk products (C x D and C x Dv per
  // query) grow with it and the state's load/store per chunk shrinks; 16 was the fastest of 16,
  // 32 and 64 at D = 64 and 128 (benchmarks/RESULTS.md).
  if (isa<LinearAttentionOp>(op))
    config.blockK = 16;
  return config;
}

FailureOr<CPUKernelConfig> mlir::attn::getCPUConfig(Operation *op) {
  auto attr = op->getAttrOfType<CPUConfigAttr>(kCPUConfigAttrName);
  if (!attr)
    return failure();
  return CPUKernelConfig{attr.getBlockQ(),     attr.getBlockK(),    attr.getVectorWidth(),
                         attr.getDecodeRows(), attr.getSplitKeys(), attr.getAmx(),
                         attr.getDpbf16()};
}

void mlir::attn::setCPUConfig(Operation *op, const CPUKernelConfig &config) {
  op->setAttr(kCPUConfigAttrName,
              CPUConfigAttr::get(op->getContext(), config.blockQ, config.blockK, config.vectorWidth,
                                 config.decodeRows, config.splitKeys, config.amx, config.dpbf16));
}

Value mlir::attn::scratchBuffer(ImplicitLocOpBuilder &b, MemRefType type) {
  return b.create<memref::AllocaOp>(type, b.getI64IntegerAttr(64));
}

void mlir::attn::placeScratch(func::FuncOp fn) {
  SmallVector<memref::AllocaOp> buffers;
  int64_t bytes = 0;
  fn.walk([&](memref::AllocaOp alloca) {
    MemRefType type = alloca.getType();
    Type element = type.getElementType();
    int64_t elementBytes =
        element.isIndex() ? 8 : llvm::divideCeil(element.getIntOrFloatBitWidth(), 8);
    bytes += type.getNumElements() * elementBytes;
    buffers.push_back(alloca);
  });
  if (bytes <= kMaxStackScratchBytes)
    return;
  OpBuilder b(fn.getContext());
  for (memref::AllocaOp alloca : buffers) {
    b.setInsertionPoint(alloca);
    Value heap =
        b.create<memref::AllocOp>(alloca.getLoc(), alloca.getType(), alloca.getAlignmentAttr());
    alloca.replaceAllUsesWith(heap);
    alloca.erase();
    fn.walk([&](func::ReturnOp ret) {
      b.setInsertionPoint(ret);
      b.create<memref::DeallocOp>(ret.getLoc(), heap);
    });
  }
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

MemRefType mlir::attn::blockTableMemRefType(MLIRContext *ctx) {
  int64_t dyn = ShapedType::kDynamic;
  auto layout = StridedLayoutAttr::get(ctx, dyn, {dyn, dyn});
  return MemRefType::get({dyn, dyn}, IntegerType::get(ctx, 32), layout);
}

KvRow mlir::attn::kvRow(KernelEmitter &e, const SoftmaxSpec &spec, Value table, Value batchIndex,
                        Value key) {
  if (!spec.pageSize)
    return {batchIndex, key};
  ImplicitLocOpBuilder &b = e.builder();
  Value pageOfKey = b.create<arith::ShRUIOp>(key, e.index(llvm::Log2_64(spec.pageSize)));
  Value page = e.indexCast(b.create<memref::LoadOp>(table, ValueRange{batchIndex, pageOfKey}));
  Value slot = b.create<arith::AndIOp>(key, e.index(spec.pageSize - 1));
  return {page, slot};
}

void mlir::attn::prefetchKvRow(KernelEmitter &e, const SoftmaxSpec &spec, Value key, Value value,
                               KvRow row, Value head) {
  int64_t perLine = 64 / (spec.elementType.getIntOrFloatBitWidth() / 8);
  for (auto [memref, dim] : {std::pair<Value, int64_t>{key, spec.headDim}, {value, spec.headDimV}})
    for (int64_t d = 0; d < dim; d += perLine)
      e.builder().create<memref::PrefetchOp>(memref,
                                             ValueRange{row.first, row.second, head, e.index(d)},
                                             /*isWrite=*/false, /*localityHint=*/3,
                                             /*isDataCache=*/true);
}

Value mlir::attn::dotBf16(KernelEmitter &e, Value acc, Value x, Value y) {
  ImplicitLocOpBuilder &b = e.builder();
  return b
      .create<LLVM::CallIntrinsicOp>(
          TypeRange{acc.getType()}, ValueRange{acc, x, y},
          ArrayRef<NamedAttribute>{
              b.getNamedAttr("intrin", b.getStringAttr("llvm.x86.avx512bf16.dpbf16ps.512"))})
      .getResult(0);
}

Value mlir::attn::broadcastBf16Pair(KernelEmitter &e, Value pair) {
  ImplicitLocOpBuilder &b = e.builder();
  Value wide = b.create<vector::BroadcastOp>(VectorType::get({16}, b.getI32Type()), pair);
  return b.create<vector::BitCastOp>(VectorType::get({32}, b.getBF16Type()), wide);
}

Value mlir::attn::pagedSeqKv(KernelEmitter &e, const SoftmaxSpec &spec, Value key, Value table) {
  ImplicitLocOpBuilder &b = e.builder();
  if (!spec.pageSize)
    return b.create<memref::DimOp>(key, 1);
  return e.mul(b.create<memref::DimOp>(table, 1), e.index(spec.pageSize));
}

func::FuncOp mlir::attn::createKernelFunction(OpBuilder &builder, Location loc, StringRef name,
                                              TypeRange args) {
  auto fn = builder.create<func::FuncOp>(loc, name, builder.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", builder.getUnitAttr());
  return fn;
}
