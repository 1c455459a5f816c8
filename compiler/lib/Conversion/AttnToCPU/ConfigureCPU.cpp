//===- ConfigureCPU.cpp - attn-configure-cpu ------------------------------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Passes.h"
#include "attn/Target/TargetInfo.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNCONFIGURECPU
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct AttnConfigureCPUPass : attn::impl::AttnConfigureCPUBase<AttnConfigureCPUPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<CPUTargetInfo> cpu = CPUTargetInfo::fromName(target);
    int64_t requested = vectorWidth;
    bool validWidth = requested == 0 || requested == 4 || requested == 8 || requested == 16;
    int64_t width = requested ? requested : cpu ? cpu->vectorWidthF32() : 0;
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<AttentionOp, LinearAttentionOp, MergeOp>(op) || op->hasAttr(kCPUConfigAttrName))
        return WalkResult::advance();
      if (!cpu) {
        op->emitError() << "cannot configure: unknown target '" << target << "' (expected "
                        << CPUTargetInfo::kNames << ")";
        return WalkResult::interrupt();
      }
      if (!validWidth || width > cpu->vectorWidthF32()) {
        op->emitError() << "cannot configure: vector-width must be 4, 8 or 16 and at most the "
                        << "target's " << cpu->vectorWidthF32() << " (0 = the target's), got "
                        << requested;
        return WalkResult::interrupt();
      }
      setCPUConfig(op, chooseCPUConfig(op, width, cpu->hasAMX() && width == 16));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
