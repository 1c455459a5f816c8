//===- ProblemModule.cpp - attn_problem -> problem module -----------------===//

#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/JIT/CPUCompiler.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

// The C API and the dialect refuse the same problems.
static_assert(kMaxHeads == ATTN_MAX_HEADS && kMaxGroup == ATTN_MAX_GQA_GROUP &&
                  kMaxSequenceLength == ATTN_MAX_SEQUENCE_LENGTH,
              "the dialect's limits (AttnShape.h) and the C API's (attn_runtime.h) differ");

static Type elementType(MLIRContext &ctx, attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F16:
    return Float16Type::get(&ctx);
  case ATTN_DTYPE_BF16:
    return BFloat16Type::get(&ctx);
  case ATTN_DTYPE_F32:
    break;
  }
  return Float32Type::get(&ctx);
}

static FeatureMap featureMap(attn_feature_map map) {
  switch (map) {
  case ATTN_FEATURE_MAP_RELU:
    return FeatureMap::relu;
  case ATTN_FEATURE_MAP_IDENTITY:
    return FeatureMap::identity;
  case ATTN_FEATURE_MAP_ELU_PLUS_ONE:
    break;
  }
  return FeatureMap::elu_plus_one;
}

FailureOr<OwningOpRef<ModuleOp>>
mlir::attn::buildProblemModule(MLIRContext &ctx, const attn_problem &p, std::string &error) {
  ctx.loadDialect<AttnDialect, func::FuncDialect>();
  OpBuilder b(&ctx);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());

  int64_t dyn = ShapedType::kDynamic;
  Type elt = elementType(ctx, p.dtype);
  auto q = RankedTensorType::get({dyn, dyn, p.heads_q, p.head_dim}, elt);
  // A paged KV cache: K/V are pages [P, page_size, Hkv, D] addressed by a block table.
  bool paged = p.variant == ATTN_VARIANT_SOFTMAX && p.page_size > 0;
  int64_t kvDim1 = paged ? p.page_size : dyn;
  auto k = RankedTensorType::get({dyn, kvDim1, p.heads_kv, p.head_dim}, elt);
  auto v = RankedTensorType::get({dyn, kvDim1, p.heads_kv, p.head_dim_v}, elt);
  auto table = RankedTensorType::get({dyn, dyn}, b.getI32Type());
  auto o = RankedTensorType::get({dyn, dyn, p.heads_q, p.head_dim_v}, elt);
  auto stat = RankedTensorType::get({dyn, p.heads_q, dyn}, b.getF32Type());

  SmallVector<Type> results = {o};
  bool softmax = p.variant == ATTN_VARIANT_SOFTMAX;
  if (softmax && p.return_lse)
    results.push_back(stat);
  if (softmax && p.return_entropy)
    results.push_back(stat);
  // Per-head ALiBi slopes and sink logits, given at launch.
  auto heads = RankedTensorType::get({p.heads_q}, b.getF32Type());
  bool alibi = softmax && p.alibi != 0, sinks = softmax && p.sinks != 0;
  SmallVector<Type> inputs = {q, k, v};
  if (paged)
    inputs.push_back(table);
  if (alibi)
    inputs.push_back(heads);
  if (sinks)
    inputs.push_back(heads);
  auto fn = b.create<func::FuncOp>(loc, "attn", b.getFunctionType(inputs, results));
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value qa = entry->getArgument(0), ka = entry->getArgument(1), va = entry->getArgument(2);
  unsigned next = 3;
  Value tablea = paged ? entry->getArgument(next++) : Value();
  Value alibia = alibi ? entry->getArgument(next++) : Value();
  Value sinksa = sinks ? entry->getArgument(next++) : Value();

  Operation *op;
  if (softmax) {
    FloatAttr scale = p.scale != 0 ? b.getF64FloatAttr(p.scale) : FloatAttr();
    DenseI64ArrayAttr window;
    if (p.window_left != -1 || p.window_right != -1)
      window = b.getDenseI64ArrayAttr({p.window_left, p.window_right});
    IntegerAttr globals =
        p.global_tokens > 0 ? b.getI64IntegerAttr(p.global_tokens) : IntegerAttr();
    FloatAttr softcap = p.softcap > 0 ? b.getF64FloatAttr(p.softcap) : FloatAttr();
    op = b.create<AttentionOp>(loc, o, ArrayRef<Type>(results).drop_front(), qa, ka, va, Value(),
                               Value(), tablea, alibia, sinksa, scale, p.causal != 0, window,
                               globals, softcap, p.return_lse != 0, p.return_entropy != 0);
  } else {
    FloatAttr scale = p.scale != 0 ? b.getF64FloatAttr(p.scale) : FloatAttr();
    op =
        b.create<LinearAttentionOp>(loc, o, qa, ka, va, Value(), Value(), featureMap(p.feature_map),
                                    p.causal != 0, p.normalize != 0, scale,
                                    /*return_lse=*/false, /*return_entropy=*/false);
  }
  b.create<func::ReturnOp>(loc, op->getResults());

  std::string diagnostics;
  {
    ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
      llvm::raw_string_ostream(diagnostics) << diag << "\n";
      return success();
    });
    if (failed(verify(*module))) {
      error = "invalid problem: " + diagnostics;
      return failure();
    }
  }
  return module;
}
