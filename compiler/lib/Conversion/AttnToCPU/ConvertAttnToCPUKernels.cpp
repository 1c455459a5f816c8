//===- ConvertAttnToCPUKernels.cpp - convert-attn-to-cpu-kernels ----------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Passes.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOCPUKERNELS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct ConvertAttnToCPUKernelsPass
    : attn::impl::ConvertAttnToCPUKernelsBase<ConvertAttnToCPUKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> problems;
    module.walk([&](Operation *op) {
      if (isa<AttentionOp, LinearAttentionOp>(op))
        problems.push_back(op);
    });
    if (problems.empty())
      return;
    if (problems.size() > 1) {
      problems[1]->emitError() << "a problem module holds one attention op; found "
                               << problems.size();
      return signalPassFailure();
    }
    Operation *op = problems.front();
    FailureOr<CPUKernelConfig> config = getCPUConfig(op);
    if (failed(config)) {
      op->emitError() << "has no valid '" << kCPUConfigAttrName
                      << "' attribute: run attn-configure-cpu first";
      return signalPassFailure();
    }
    if (failed(checkSupported(op, *config)))
      return signalPassFailure();

    auto problemFn = op->getParentOfType<func::FuncOp>();
    OpBuilder builder(problemFn);
    if (auto attention = dyn_cast<AttentionOp>(op)) {
      buildSoftmaxKernel(builder, attention, *config);
      buildDecodeKernel(builder, attention, *config);
      buildMergeKernel(builder, attention, *config);
    } else {
      buildLinearKernel(builder, cast<LinearAttentionOp>(op), *config);
    }
    problemFn.erase();
  }

  /// The kernels vectorize along the head dims.
  LogicalResult checkSupported(Operation *op, const CPUKernelConfig &config) {
    auto q = cast<RankedTensorType>(op->getOperand(0).getType());
    auto v = cast<RankedTensorType>(op->getOperand(2).getType());
    for (auto [name, dim] : {std::pair<StringRef, int64_t>{"head dim", q.getDimSize(3)},
                             {"value head dim", v.getDimSize(3)}}) {
      if (dim % config.vectorWidth != 0)
        return op->emitError() << "the CPU backend needs the " << name << " (" << dim
                               << ") to be a multiple of the vector width ("
                               << config.vectorWidth << ")";
    }
    return success();
  }
};
} // namespace
