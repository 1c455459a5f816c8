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
      if (!isa<AttentionOp, LinearAttentionOp, MergeOp>(op))
        return WalkResult::advance();
      if (!cpu) {
        op->emitError() << "cannot configure: unknown target '" << target << "' (expected "
                        << CPUTargetInfo::kNames << ")";
        return WalkResult::interrupt();
      }
      if (op->hasAttr(kCPUConfigAttrName)) {
        // A configuration given by hand or by a tuner: its instruction sets must be the
        // target's (else LLVM's instruction selection aborts).
        FailureOr<CPUKernelConfig> given = getCPUConfig(op);
        if (succeeded(given) && given->amx && !cpu->hasAMX()) {
          op->emitError() << "cannot compile: #attn.cpu_config has amx = 1, but target '" << target
                          << "' has no AMX-BF16 tiles";
          return WalkResult::interrupt();
        }
        if (succeeded(given) && given->dpbf16 && !cpu->hasAVX512BF16()) {
          op->emitError() << "cannot compile: #attn.cpu_config has dpbf16 = 1, but target '"
                          << target << "' has no AVX512-BF16";
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      }
      if (!validWidth || width > cpu->vectorWidthF32()) {
        op->emitError() << "cannot configure: vector-width must be 4, 8 or 16 and at most the "
                        << "target's " << cpu->vectorWidthF32() << " (0 = the target's), got "
                        << requested;
        return WalkResult::interrupt();
      }
      setCPUConfig(op, chooseCPUConfig(op, width, cpu->hasAMX() && width == 16,
                                       cpu->hasAVX512BF16() && width == 16));
      op->setAttr(kConfigSourceAttrName, StringAttr::get(op->getContext(), "heuristic"));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
