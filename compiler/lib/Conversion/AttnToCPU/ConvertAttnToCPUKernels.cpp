//===- ConvertAttnToCPUKernels.cpp - convert-attn-to-cpu-kernels ----------===//

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"
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
    FailureOr<Operation *> problem = findProblemOp(module);
    if (failed(problem))
      return signalPassFailure();
    if (!*problem)
      return;
    Operation *op = *problem;
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
    if (auto merge = dyn_cast<MergeOp>(op)) {
      buildMergeKernel(builder, merge, *config);
    } else if (auto attention = dyn_cast<AttentionOp>(op)) {
      buildSoftmaxKernel(builder, attention, *config);
      buildDecodeKernel(builder, attention, *config);
      // The decode kernel's partials are combined by attn.merge, lowered like any other.
      Type f32 = builder.getF32Type();
      MergeOp merge = buildPartialsMerge(builder, attention, f32);
      buildMergeKernel(builder, merge, *config);
      merge->getParentOp()->erase();
      // And a caller's partial results in the problem's dtype (attn_kernel_merge).
      Type elt = cast<RankedTensorType>(attention.getOutput().getType()).getElementType();
      if (elt != f32) {
        MergeOp own = buildPartialsMerge(builder, attention, elt);
        buildMergeKernel(builder, own, *config, kMergePartsName);
        own->getParentOp()->erase();
      }
    } else {
      buildLinearKernel(builder, cast<LinearAttentionOp>(op), *config);
    }
    // The code carries what it was built for (KernelManifest.h); a merge is never loaded alone.
    if (FailureOr<attn_kernel_manifest> manifest = buildKernelManifest(op, *config);
        succeeded(manifest))
      emitKernelManifest(module, *manifest);
    problemFn.erase();
  }

  /// A function holding the attn.merge of `op`'s partial results: parts [P, B, Sq, Hq, Dv] of
  /// `partElt` and f32 LSEs [P, B, Hq, Sq] into `op`'s output type and LSE.
  MergeOp buildPartialsMerge(OpBuilder &builder, AttentionOp op, Type partElt) {
    auto out = cast<RankedTensorType>(op.getOutput().getType());
    int64_t dyn = ShapedType::kDynamic;
    Type f32 = builder.getF32Type();
    auto parts =
        RankedTensorType::get({dyn, dyn, dyn, out.getDimSize(2), out.getDimSize(3)}, partElt);
    auto lses = RankedTensorType::get({dyn, dyn, out.getDimSize(2), dyn}, f32);
    auto lse = RankedTensorType::get({dyn, out.getDimSize(2), dyn}, f32);
    auto fn = builder.create<func::FuncOp>(op.getLoc(), "attn_merge_problem",
                                           builder.getFunctionType({parts, lses}, {out, lse}));
    OpBuilder::InsertionGuard guard(builder);
    Block *entry = fn.addEntryBlock();
    builder.setInsertionPointToStart(entry);
    auto merge = builder.create<MergeOp>(op.getLoc(), out, lse, entry->getArgument(0),
                                         entry->getArgument(1));
    builder.create<func::ReturnOp>(op.getLoc(), merge.getResults());
    return merge;
  }

  /// The kernels vectorize along the head dims.
  LogicalResult checkSupported(Operation *op, const CPUKernelConfig &config) {
    SmallVector<std::pair<StringRef, int64_t>> dims;
    if (auto merge = dyn_cast<MergeOp>(op)) {
      dims.push_back(
          {"value head dim", cast<RankedTensorType>(merge.getOutput().getType()).getDimSize(3)});
    } else {
      dims.push_back(
          {"head dim", cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(3)});
      dims.push_back(
          {"value head dim", cast<RankedTensorType>(op->getOperand(2).getType()).getDimSize(3)});
    }
    for (auto [name, dim] : dims) {
      if (dim % config.vectorWidth != 0)
        return op->emitError() << "the CPU backend needs the " << name << " (" << dim
                               << ") to be a multiple of the vector width (" << config.vectorWidth
                               << ")";
    }
    return success();
  }
};
} // namespace
