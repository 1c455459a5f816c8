//===- AttnOps.cpp - verifiers and accessors of attn ops ------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"

#include <cmath>

using namespace mlir;
using namespace mlir::attn;

#define GET_OP_CLASSES
#include "attn/Dialect/Attn/IR/AttnOps.cpp.inc"

static double defaultScale(Value query) {
  return 1.0 /
         std::sqrt(static_cast<double>(cast<RankedTensorType>(query.getType()).getDimSize(3)));
}

/// Verifies the [B, Hq, Sq] f32 statistics tensor `what`.
static LogicalResult verifyStat(Operation *op, StringRef what, Type type,
                                const ProblemShape &shape) {
  return verifyTensorType(op, what, type, statDims(shape), kStatDimNames,
                          Float32Type::get(op->getContext()));
}

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

Value AttentionOp::getLse() { return getReturnLse() ? getStats()[0] : Value(); }

Value AttentionOp::getEntropy() {
  return getReturnEntropy() ? getStats()[getReturnLse() ? 1 : 0] : Value();
}

double AttentionOp::getEffectiveScale() {
  return getScale() ? getScale()->convertToDouble() : defaultScale(getQuery());
}

int64_t AttentionOp::getPageSize() {
  return getBlockTable() ? cast<RankedTensorType>(getKey().getType()).getDimSize(1) : 0;
}

LogicalResult AttentionOp::verify() {
  ProblemShape shape;
  Value table = getBlockTable();
  if (failed(verifyQKV(*this, getQuery().getType(), getKey().getType(), getValue().getType(), shape,
                       /*paged=*/table != nullptr)) ||
      (table && failed(verifyBlockTable(*this, table, shape))) ||
      failed(verifySeqLens(*this, "seqlens_q", getSeqlensQ(), shape)) ||
      failed(verifySeqLens(*this, "seqlens_kv", getSeqlensKv(), shape)) ||
      failed(verifyHeadValues(*this, "alibi_slopes", getAlibiSlopes(), shape)) ||
      failed(verifyHeadValues(*this, "sinks", getSinks(), shape)) ||
      failed(verifyScoreAttrs(
          *this, getScale() ? std::optional(getScale()->convertToDouble()) : std::nullopt,
          getWindow(), getGlobalTokens(),
          getSoftcap() ? std::optional(getSoftcap()->convertToDouble()) : std::nullopt)) ||
      failed(verifyTensorType(*this, "output", getOutput().getType(), outputDims(shape),
                              kOutputDimNames, shape.elementType)))
    return failure();

  size_t expected = (getReturnLse() ? 1 : 0) + (getReturnEntropy() ? 1 : 0);
  if (getStats().size() != expected)
    return emitOpError() << "has " << getStats().size() << " statistics results, but "
                         << "return_lse/return_entropy ask for " << expected;
  if (Value lse = getLse(); lse && failed(verifyStat(*this, "lse", lse.getType(), shape)))
    return failure();
  if (Value entropy = getEntropy();
      entropy && failed(verifyStat(*this, "entropy", entropy.getType(), shape)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// LinearAttentionOp
//===----------------------------------------------------------------------===//

LogicalResult LinearAttentionOp::verify() {
  if (getReturnLse() || getReturnEntropy())
    return emitOpError() << "linear attention has no softmax, so it cannot return "
                         << (getReturnLse() ? "LSE" : "entropy");
  ProblemShape shape;
  if (failed(verifyQKV(*this, getQuery().getType(), getKey().getType(), getValue().getType(),
                       shape)) ||
      failed(verifySeqLens(*this, "seqlens_q", getSeqlensQ(), shape)) ||
      failed(verifySeqLens(*this, "seqlens_kv", getSeqlensKv(), shape)))
    return failure();
  if (getScale() && !std::isfinite(getScale()->convertToDouble()))
    return emitOpError() << "scale must be finite, got " << getScale()->convertToDouble();
  return verifyTensorType(*this, "output", getOutput().getType(), outputDims(shape),
                          kOutputDimNames, shape.elementType);
}

//===----------------------------------------------------------------------===//
// OnlineAttentionOp
//===----------------------------------------------------------------------===//

double OnlineAttentionOp::getEffectiveScale() {
  return getScale() ? getScale()->convertToDouble() : defaultScale(getQuery());
}

LogicalResult OnlineAttentionOp::verify() {
  ProblemShape shape;
  if (failed(verifyQKV(*this, getQuery().getType(), getKey().getType(), getValue().getType(),
                       shape)) ||
      failed(verifyScoreAttrs(
          *this, getScale() ? std::optional(getScale()->convertToDouble()) : std::nullopt,
          getWindow(), getGlobalTokens(),
          getSoftcap() ? std::optional(getSoftcap()->convertToDouble()) : std::nullopt)))
    return failure();
  if (static_cast<bool>(getQueryPos()) != static_cast<bool>(getKeyPos()))
    return emitOpError() << "positions need both the query position and the key position";

  Type f32 = Float32Type::get(getContext());
  if (failed(verifyTensorType(*this, "acc", getAcc().getType(), outputDims(shape), kOutputDimNames,
                              f32)) ||
      failed(verifyStat(*this, "max", getMax().getType(), shape)) ||
      failed(verifyStat(*this, "sum", getSum().getType(), shape)))
    return failure();
  if (getScoreSum() && failed(verifyStat(*this, "score_sum", getScoreSum().getType(), shape)))
    return failure();
  if (static_cast<bool>(getScoreSum()) != static_cast<bool>(getNewScoreSum()))
    return emitOpError() << "score_sum operand and result must be present together";

  // The new state has the type of the old one.
  for (auto [name, in, out] : {std::tuple<StringRef, Value, Value>{"acc", getAcc(), getNewAcc()},
                               {"max", getMax(), getNewMax()},
                               {"sum", getSum(), getNewSum()},
                               {"score_sum", getScoreSum(), getNewScoreSum()}}) {
    if (in && in.getType() != out.getType())
      return emitOpError() << "result " << name << " type " << out.getType()
                           << " differs from the operand's " << in.getType();
  }
  return success();
}

//===----------------------------------------------------------------------===//
// FinalizeOp
//===----------------------------------------------------------------------===//

LogicalResult FinalizeOp::verify() {
  auto acc = dyn_cast<RankedTensorType>(getAcc().getType());
  Type f32 = Float32Type::get(getContext());
  if (!acc || acc.getRank() != 4 || acc.getElementType() != f32)
    return emitOpError() << "acc must be a rank-4 f32 tensor [B, Sq, Hq, Dv], got "
                         << getAcc().getType();
  ProblemShape shape;
  shape.batch = acc.getDimSize(0);
  shape.seqQ = acc.getDimSize(1);
  shape.headsQ = acc.getDimSize(2);
  shape.headDimV = acc.getDimSize(3);
  if (failed(verifyStat(*this, "max", getMax().getType(), shape)) ||
      failed(verifyStat(*this, "sum", getSum().getType(), shape)) ||
      failed(verifyStat(*this, "lse", getLse().getType(), shape)))
    return failure();
  auto out = dyn_cast<RankedTensorType>(getOutput().getType());
  if (!out || !isSupportedElementType(out.getElementType()))
    return emitOpError() << "output must be a tensor of f32, f16 or bf16, got "
                         << getOutput().getType();
  if (failed(verifyTensorType(*this, "output", out, outputDims(shape), kOutputDimNames,
                              out.getElementType())))
    return failure();
  if (static_cast<bool>(getScoreSum()) != static_cast<bool>(getEntropy()))
    return emitOpError() << "the entropy result needs the score_sum operand, and vice versa";
  if (getScoreSum() && (failed(verifyStat(*this, "score_sum", getScoreSum().getType(), shape)) ||
                        failed(verifyStat(*this, "entropy", getEntropy().getType(), shape))))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// MergeOp
//===----------------------------------------------------------------------===//

LogicalResult MergeOp::verify() {
  auto parts = dyn_cast<RankedTensorType>(getParts().getType());
  if (!parts || parts.getRank() != 5 || !isSupportedElementType(parts.getElementType()))
    return emitOpError() << "parts must be a rank-5 tensor [P, B, Sq, Hq, Dv] of f32, f16 or "
                         << "bf16, got " << getParts().getType();
  ProblemShape shape;
  shape.batch = parts.getDimSize(1);
  shape.seqQ = parts.getDimSize(2);
  shape.headsQ = parts.getDimSize(3);
  shape.headDimV = parts.getDimSize(4);
  if (ShapedType::isDynamic(shape.headsQ) || ShapedType::isDynamic(shape.headDimV))
    return emitOpError() << "parts heads and head dim must be static";
  SmallVector<int64_t> lseDims = {parts.getDimSize(0)};
  llvm::append_range(lseDims, statDims(shape));
  const StringRef lseNames[] = {"parts", "batch", "query heads", "query length"};
  if (failed(verifyTensorType(*this, "lse_parts", getLseParts().getType(), lseDims, lseNames,
                              Float32Type::get(getContext()))) ||
      failed(verifyStat(*this, "lse", getLse().getType(), shape)))
    return failure();
  auto out = dyn_cast<RankedTensorType>(getOutput().getType());
  if (!out || !isSupportedElementType(out.getElementType()))
    return emitOpError() << "output must be a tensor of f32, f16 or bf16, got "
                         << getOutput().getType();
  return verifyTensorType(*this, "output", out, outputDims(shape), kOutputDimNames,
                          out.getElementType());
}
