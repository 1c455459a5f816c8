//===- KernelConfig.cpp - CUDA tile configurations ------------------------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

std::optional<CUDAConfigAttr> mlir::attn::getCUDAConfig(Operation *op) {
  if (auto config = op->getAttrOfType<CUDAConfigAttr>(kCUDAConfigAttrName))
    return config;
  return std::nullopt;
}

bool mlir::attn::cudaMmaFits(Operation *op) {
  ProblemDims dims = ProblemDims::of(op);
  auto fits = [](int64_t d) { return d % 16 == 0 && d <= kMaxCUDAMmaHeadDim; };
  return isa<AttentionOp>(op) && (dims.element.isF16() || dims.element.isBF16()) &&
         fits(dims.headDim) && fits(dims.headDimV);
}

int64_t mlir::attn::cudaSharedBytes(Operation *op, CUDAConfigAttr config) {
  ProblemDims dims = ProblemDims::of(op);
  if (isa<LinearAttentionOp>(op))
    return vulkanLinearSharedBytes(dims.headDim, config.getChunk());
  if (config.getMma())
    return cudaMmaSharedBytes(dims.headDim, dims.headDimV, config.getWarps(), config.getBlockN(),
                              config.getStages());
  return vulkanSharedBytes(dims.headDim, dims.headDimV, config.getWarps(), config.getBlockN());
}

std::string mlir::attn::cudaConfigDefect(Operation *op, CUDAConfigAttr config,
                                         const CUDATargetInfo &target) {
  std::string text;
  llvm::raw_string_ostream os(text);
  ProblemDims dims = ProblemDims::of(op);
  if (config.getMma() && !cudaMmaFits(op))
    os << "mma = 1 needs f16 or bf16 softmax attention with head dims that are multiples of 16 "
          "up to "
       << kMaxCUDAMmaHeadDim << " (this problem: " << dims.element << ", D = " << dims.headDim
       << ", Dv = " << dims.headDimV << "); use mma = 0";
  else if (int64_t bytes = cudaSharedBytes(op, config); bytes > target.device().maxSharedBytes)
    os << "the tiles need " << bytes << " bytes of shared memory; a CTA on " << target.chip()
       << " may use " << target.device().maxSharedBytes;
  return text;
}

FailureOr<CUDAConfigAttr> mlir::attn::chooseCUDAConfig(Operation *op, const CUDATargetInfo &target,
                                                       std::string &why) {
  ProblemDims dims = ProblemDims::of(op);
  int64_t warps = 4, blockN = 64, stages = 2, mma = 0, chunk = 16;
  int64_t maxShared = target.device().maxSharedBytes;
  if (cudaMmaFits(op)) {
    // FlashAttention-2's shape on sm_80+: 4 warps of 16 rows, K/V tiles of 64 keys in a
    // double-buffered ring; 32 keys for the largest head dims (registers and shared memory).
    mma = 1;
    blockN = std::max(dims.headDim, dims.headDimV) > 128 ? 32 : 64;
    while (blockN > 16 &&
           cudaMmaSharedBytes(dims.headDim, dims.headDimV, warps, blockN, stages) > maxShared)
      blockN /= 2;
    while (warps > 1 &&
           cudaMmaSharedBytes(dims.headDim, dims.headDimV, warps, blockN, stages) > maxShared)
      warps /= 2;
  } else if (isa<LinearAttentionOp>(op)) {
    blockN = 32;
    chunk = 1;
    for (int64_t candidate = 32; candidate > 1 && chunk == 1; candidate /= 2)
      if (vulkanLinearSharedBytes(dims.headDim, candidate) <= kCUDADefaultSharedBytes)
        chunk = candidate;
    warps = 8;
  } else {
    // SIMT: 8 warps (teams), the largest K/V tile up to 64 keys within the default 48 KiB.
    warps = 8;
    blockN = 32;
    if (vulkanSharedBytes(dims.headDim, dims.headDimV, warps, 64) <= kCUDADefaultSharedBytes)
      blockN = 64;
    while (warps > 1 && vulkanSharedBytes(dims.headDim, dims.headDimV, warps, blockN) > maxShared)
      warps /= 2;
  }
  auto config = CUDAConfigAttr::getChecked([&] { return op->emitError(); }, op->getContext(), warps,
                                           blockN, stages, mma,
                                           std::max<int64_t>(512, blockN) / blockN * blockN, chunk);
  if (!config) {
    why = "no valid CUDA configuration for this problem";
    return failure();
  }
  why = cudaConfigDefect(op, config, target);
  if (!why.empty())
    return failure();
  return config;
}
