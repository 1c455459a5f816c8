//===- MergeKernel.cpp - attn.merge of split-KV partial results -----------===//
//
// The lowering of attn.merge: lse = log Σ_p exp(lse_p), o = Σ_p exp(lse_p - lse) · o_p (SPEC §3
// "merge"), one query row (all heads) per work item, vectorized along Dv. Parts that saw no key
// (lse_p = -inf) weigh 0; a row whose parts all saw nothing gets o = 0, lse = -inf. The stacked
// parts [P, B, ...] arrive flattened to [P * B, ...] with P = num_splits; the LSE is written
// when the caller passes a non-empty LSE buffer.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

func::FuncOp mlir::attn::buildMergeKernel(OpBuilder &builder, MergeOp op,
                                          const CPUKernelConfig &config, StringRef name) {
  MLIRContext *ctx = builder.getContext();
  auto partsType = cast<RankedTensorType>(op.getParts().getType());
  auto outType = cast<RankedTensorType>(op.getOutput().getType());
  Type partElt = partsType.getElementType(), elt = outType.getElementType();
  int64_t heads = outType.getDimSize(2), headDimV = outType.getDimSize(3);
  int64_t width = config.vectorWidth;

  Type f32 = Float32Type::get(ctx);
  SmallVector<Type> args = {bshdMemRefType(partElt),
                            statMemRefType(ctx),
                            bshdMemRefType(elt),
                            statMemRefType(ctx),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 64))};
  func::FuncOp fn = createKernelFunction(builder, op.getLoc(), name, args);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  OpBuilder::InsertionGuard guard(b);
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  KernelEmitter e(b);
  Value parts = entry->getArgument(0), lseParts = entry->getArgument(1);
  Value o = entry->getArgument(2), lse = entry->getArgument(3);
  Value seqlensQ = entry->getArgument(4), params = entry->getArgument(5);

  KernelEmitter::LaunchParams launch = e.loadParams(params);
  Value numSplits = launch.numSplits;
  Value batch = b.create<memref::DimOp>(o, 0);
  Value writeLse = e.cmpi(CmpIPredicate::sgt, b.create<memref::DimOp>(lse, 0), e.index(0));
  Value seqQ = b.create<memref::DimOp>(o, 1);
  VectorType vecF32 = VectorType::get({width}, f32);
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  Value zero = e.f32(0.0);

  e.loop(launch.begin, launch.end, e.index(1), [&](Value item) {
    Value bIdx = e.divs(item, seqQ), row = e.rems(item, seqQ);
    Value lq = e.batchLength(seqlensQ, launch.hasSeqlensQ, bIdx, seqQ);
    e.ifThen(e.cmpi(CmpIPredicate::slt, row, lq), [&] {
      e.loop(e.index(0), e.index(heads), e.index(1), [&](Value h) {
        auto partLse = [&](Value p) -> Value {
          return b.create<memref::LoadOp>(lseParts,
                                          ValueRange{e.add(e.mul(p, batch), bIdx), h, row});
        };
        Value maxLse = e.loop(e.index(0), numSplits, e.index(1), ValueRange{negInf},
                              [&](Value p, ValueRange carried) {
                                return SmallVector<Value>{e.maxf(partLse(p), carried[0])};
                              })[0];
        MergeShift shift = mergeShift(e, maxLse);
        Value any = shift.any, safeMax = shift.shift;
        Value sum = e.loop(e.index(0), numSplits, e.index(1), ValueRange{zero},
                           [&](Value p, ValueRange carried) {
                             Value w = b.create<math::ExpOp>(e.subf(partLse(p), safeMax));
                             return SmallVector<Value>{e.addf(carried[0], w)};
                           })[0];
        Value inv = e.select(any, e.divf(e.f32(1.0), sum), zero);
        e.loop(e.index(0), e.index(headDimV), e.index(width), [&](Value dv) {
          Value acc = e.loop(e.index(0), numSplits, e.index(1), ValueRange{e.splat(vecF32, zero)},
                             [&](Value p, ValueRange carried) {
                               Value w =
                                   e.mulf(b.create<math::ExpOp>(e.subf(partLse(p), safeMax)), inv);
                               Value x = b.create<vector::LoadOp>(
                                   VectorType::get({width}, partElt), parts,
                                   ValueRange{e.add(e.mul(p, batch), bIdx), row, h, dv});
                               if (partElt != f32)
                                 x = b.create<arith::ExtFOp>(vecF32, x);
                               // A part of weight 0 (LSE -inf) is not read as a number: a
                               // caller's empty part may hold anything, NaN included.
                               x = e.select(e.cmpf(CmpFPredicate::OGT, w, zero), x,
                                            e.splat(vecF32, zero));
                               return SmallVector<Value>{e.fma(e.splat(vecF32, w), x, carried[0])};
                             })[0];
          if (elt != f32)
            acc = b.create<arith::TruncFOp>(VectorType::get({width}, elt), acc);
          b.create<vector::StoreOp>(acc, o, ValueRange{bIdx, row, h, dv});
        });
        e.ifThen(writeLse, [&] {
          b.create<memref::StoreOp>(mergedLse(e, shift, sum), lse, ValueRange{bIdx, h, row});
        });
      });
    });
  });
  b.create<func::ReturnOp>();
  return fn;
}
