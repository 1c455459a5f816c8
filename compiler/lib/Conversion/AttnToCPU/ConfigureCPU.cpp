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
    if (vectorWidth != 0 && vectorWidth != 4 && vectorWidth != 8 && vectorWidth != 16) {
      getOperation().emitError() << "vector-width must be 4, 8 or 16 (0 = host), got "
                                 << vectorWidth;
      return signalPassFailure();
    }
    int64_t width = vectorWidth ? vectorWidth : CPUTargetInfo::host().vectorWidthF32();
    getOperation().walk([&](Operation *op) {
      if (!isa<AttentionOp, LinearAttentionOp>(op) || op->hasAttr(kCPUConfigAttrName))
        return;
      setCPUConfig(op, chooseCPUConfig(op, width));
    });
  }
};
} // namespace
