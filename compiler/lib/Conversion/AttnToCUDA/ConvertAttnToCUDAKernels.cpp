//===- ConvertAttnToCUDAKernels.cpp - convert-attn-to-cuda-kernels --------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOCUDAKERNELS
#define GEN_PASS_DEF_ATTNEXTERNDYNAMICSHARED
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct ConvertAttnToCUDAKernelsPass
    : attn::impl::ConvertAttnToCUDAKernelsBase<ConvertAttnToCUDAKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Operation *> problem = findProblemOp(module);
    if (failed(problem))
      return signalPassFailure();
    if (!*problem)
      return;
    Operation *op = *problem;
    if (isa<MergeOp>(op)) {
      op->emitError() << "the CUDA backend lowers attn.merge only as part of attn.attention";
      return signalPassFailure();
    }
    std::optional<CUDAConfigAttr> config = getCUDAConfig(op);
    if (!config) {
      op->emitError() << "has no '" << kCUDAConfigAttrName
                      << "' attribute: run attn-configure-cuda first";
      return signalPassFailure();
    }
    if (config->getMma() && !cudaMmaFits(op)) {
      op->emitError() << "'" << kCUDAConfigAttrName
                      << "' has mma = 1, which needs f16 or bf16 softmax attention with head "
                         "dims that are multiples of 16 up to "
                      << kMaxCUDAMmaHeadDim;
      return signalPassFailure();
    }

    if (auto attention = dyn_cast<AttentionOp>(op); attention && attention.getBlockTable()) {
      op->emitError() << "the CUDA backend does not support a paged KV cache (block_table) yet";
      return signalPassFailure();
    }
    if (auto attention = dyn_cast<AttentionOp>(op);
        attention && (attention.getAlibiSlopes() || attention.getSinks())) {
      op->emitError() << "the CUDA backend does not support "
                      << (attention.getAlibiSlopes() ? "ALiBi (alibi_slopes)"
                                                     : "sink logits (sinks)")
                      << " yet";
      return signalPassFailure();
    }
    auto problemFn = op->getParentOfType<func::FuncOp>();
    OpBuilder builder(problemFn);
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), builder.getUnitAttr());
    auto kernels = builder.create<gpu::GPUModuleOp>(op->getLoc(), kGpuModuleName);
    builder.setInsertionPointToStart(kernels.getBody());
    CUDAKernelTarget target;
    SimtConfig simt = simtConfig(*config);
    if (auto linear = dyn_cast<LinearAttentionOp>(op)) {
      buildSimtLinearKernel(builder, target, linear, simt);
    } else {
      auto attention = cast<AttentionOp>(op);
      bool decode = !attention.getReturnEntropy(); // entropy does not merge (SPEC §3)
      if (config->getMma()) {
        buildCUDAFlashKernel(builder, attention, *config, /*decode=*/false);
        if (decode)
          buildCUDAFlashKernel(builder, attention, *config, /*decode=*/true);
      } else {
        buildSimtSoftmaxKernel(builder, target, attention, simt, /*decode=*/false);
        if (decode)
          buildSimtSoftmaxKernel(builder, target, attention, simt, /*decode=*/true);
      }
      if (decode)
        buildSimtMergeKernel(builder, target, attention, SimtConfig{kCUDAWarpSize, 4, 32, 512, 16});
    }
    problemFn.erase();
  }
};

struct AttnExternDynamicSharedPass
    : attn::impl::AttnExternDynamicSharedBase<AttnExternDynamicSharedPass> {
  void runOnOperation() override {
    getOperation().walk([](LLVM::GlobalOp global) {
      if (global.getSymName().starts_with("__dynamic_shmem_"))
        global.setLinkage(LLVM::Linkage::External);
    });
  }
};
} // namespace
