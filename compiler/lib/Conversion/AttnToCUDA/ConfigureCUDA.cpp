//===- ConfigureCUDA.cpp - attn-configure-cuda ----------------------------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNCONFIGURECUDA
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct AttnConfigureCUDAPass : attn::impl::AttnConfigureCUDABase<AttnConfigureCUDAPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<CUDATargetInfo> cuda = CUDATargetInfo::fromName(arch);
    if (cuda && maxSharedBytes) {
      CUDATargetInfo::Device d = cuda->device();
      d.maxSharedBytes = maxSharedBytes;
      cuda = CUDATargetInfo::fromDevice(std::move(d));
    }
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<AttentionOp, LinearAttentionOp>(op))
        return WalkResult::advance();
      if (!cuda) {
        op->emitError() << "cannot configure: unknown CUDA architecture '" << arch << "' (expected "
                        << CUDATargetInfo::kNames << ")";
        return WalkResult::interrupt();
      }
      if (std::optional<CUDAConfigAttr> given = getCUDAConfig(op)) {
        std::string defect = cudaConfigDefect(op, *given, *cuda);
        if (!defect.empty()) {
          op->emitError() << "'" << kCUDAConfigAttrName << "' cannot run here: " << defect;
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      }
      std::string why;
      FailureOr<CUDAConfigAttr> config = chooseCUDAConfig(op, *cuda, why);
      if (failed(config)) {
        op->emitError() << "cannot configure for CUDA: " << why;
        return WalkResult::interrupt();
      }
      op->setAttr(kCUDAConfigAttrName, *config);
      op->setAttr(kConfigSourceAttrName, StringAttr::get(op->getContext(), "heuristic"));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
