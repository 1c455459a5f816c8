//===- LinearKernel.cpp - kernelized linear attention for the CPU ---------===//
//
// One work item is (batch b, kv head g) with all G query heads of the group. The state
// S = Σ_j φ(k_j) v_jᵀ (D x Dv) and z = Σ_j φ(k_j) is accumulated once, in key order, and every
// query reads it when the keys it may see have been folded in: all keys (non-causal) or keys
// j <= p_i (causal, bottom-right aligned). Cost O(S · D · Dv): linear in the sequence length.
// Vectorized along Dv.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/KernelEmitter.h"
#include "attn/Conversion/AttnToCPU/Kernels.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {
class LinearKernelGen {
public:
  LinearKernelGen(ImplicitLocOpBuilder &b, LinearAttentionOp op, const CPUKernelConfig &config)
      : b(b), e(b), width(config.vectorWidth) {
    auto q = cast<RankedTensorType>(op.getQuery().getType());
    auto k = cast<RankedTensorType>(op.getKey().getType());
    auto v = cast<RankedTensorType>(op.getValue().getType());
    elt = q.getElementType();
    headsKv = k.getDimSize(2);
    group = q.getDimSize(2) / headsKv;
    headDim = q.getDimSize(3);
    headDimV = v.getDimSize(3);
    featureMap = op.getFeatureMap();
    causal = op.getCausal();
    normalize = op.getNormalize();
    scale = op.getScale() ? op.getScale()->convertToDouble() : 1.0;
    f32 = b.getF32Type();
    vecF32 = VectorType::get({width}, f32);
  }

  void emit(func::FuncOp fn);

private:
  Value phi(Value x);
  Value loadScalar(Value memref, ValueRange indices);
  void foldKey(Value j);
  void answerQuery(Value row);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  int64_t width, headsKv, group, headDim, headDimV;
  Type elt, f32;
  VectorType vecF32;
  FeatureMap featureMap;
  bool causal, normalize;
  double scale;

  Value q, k, v, o, state, z, feat, bIdx, gIdx;
};
} // namespace

Value LinearKernelGen::phi(Value x) {
  switch (featureMap) {
  case FeatureMap::elu_plus_one: // elu(x) + 1 = x + 1 for x > 0, exp(x) otherwise
    return e.select(e.cmpf(CmpFPredicate::OGT, x, e.f32(0.0)), e.addf(x, e.f32(1.0)),
                    b.create<math::ExpOp>(x));
  case FeatureMap::relu:
    return e.maxf(x, e.f32(0.0));
  case FeatureMap::identity:
    return x;
  }
  llvm_unreachable("unknown feature map");
}

Value LinearKernelGen::loadScalar(Value memref, ValueRange indices) {
  Value x = b.create<memref::LoadOp>(memref, indices);
  return x.getType().isF32() ? x : b.create<arith::ExtFOp>(f32, x);
}

/// S += φ(k_j) v_jᵀ, z += φ(k_j).
void LinearKernelGen::foldKey(Value j) {
  e.loop(e.index(0), e.index(headDim), e.index(1), [&](Value d) {
    Value fk = phi(loadScalar(k, {bIdx, j, gIdx, d}));
    Value zd = b.create<memref::LoadOp>(z, ValueRange{d});
    b.create<memref::StoreOp>(e.addf(zd, fk), z, ValueRange{d});
    Value fkv = e.splat(vecF32, fk);
    e.loop(e.index(0), e.index(headDimV), e.index(width), [&](Value dv) {
      Value vv = b.create<vector::LoadOp>(VectorType::get({width}, elt), v,
                                          ValueRange{bIdx, j, gIdx, dv});
      if (elt != f32)
        vv = b.create<arith::ExtFOp>(vecF32, vv);
      Value acc = b.create<vector::LoadOp>(vecF32, state, ValueRange{d, dv});
      b.create<vector::StoreOp>(e.fma(fkv, vv, acc), state, ValueRange{d, dv});
    });
  });
}

/// o = φ(q)ᵀ S / (φ(q)ᵀ z + eps) (or without the denominator) for every head of the group.
void LinearKernelGen::answerQuery(Value row) {
  Value scaleValue = e.f32(scale);
  e.loop(e.index(0), e.index(group), e.index(1), [&](Value hh) {
    Value head = e.add(e.mul(gIdx, e.index(group)), hh);
    Value den = e.loop(e.index(0), e.index(headDim), e.index(1), ValueRange{e.f32(0.0)},
                       [&](Value d, ValueRange carried) {
                         Value fq = phi(e.mulf(loadScalar(q, {bIdx, row, head, d}), scaleValue));
                         b.create<memref::StoreOp>(fq, feat, ValueRange{d});
                         Value zd = b.create<memref::LoadOp>(z, ValueRange{d});
                         return SmallVector<Value>{e.addf(carried[0], e.mulf(fq, zd))};
                       })[0];
    Value inv = normalize ? e.divf(e.f32(1.0), e.addf(den, e.f32(1e-6))) : e.f32(1.0);
    e.loop(e.index(0), e.index(headDimV), e.index(width), [&](Value dv) {
      Value num = e.loop(e.index(0), e.index(headDim), e.index(1),
                         ValueRange{e.splatF32(vecF32, 0.0)}, [&](Value d, ValueRange carried) {
                           Value fq = e.splat(vecF32, b.create<memref::LoadOp>(feat, ValueRange{d}));
                           Value sv = b.create<vector::LoadOp>(vecF32, state, ValueRange{d, dv});
                           return SmallVector<Value>{e.fma(fq, sv, carried[0])};
                         })[0];
      Value out = e.mulf(num, e.splat(vecF32, inv));
      if (elt != f32)
        out = b.create<arith::TruncFOp>(VectorType::get({width}, elt), out);
      b.create<vector::StoreOp>(out, o, ValueRange{bIdx, row, head, dv});
    });
  });
}

void LinearKernelGen::emit(func::FuncOp fn) {
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  q = entry->getArgument(0);
  k = entry->getArgument(1);
  v = entry->getArgument(2);
  o = entry->getArgument(3);
  Value seqlensQ = entry->getArgument(4), seqlensKv = entry->getArgument(5);
  Value params = entry->getArgument(6);
  auto param = [&](int64_t i) {
    return e.indexCast(b.create<memref::LoadOp>(params, ValueRange{e.index(i)}));
  };
  Value begin = param(0), end = param(1);
  Value hasSeqlensQ = e.cmpi(CmpIPredicate::ne, param(2), e.index(0));
  Value hasSeqlensKv = e.cmpi(CmpIPredicate::ne, param(3), e.index(0));
  Value seqQ = b.create<memref::DimOp>(q, 1), seqKv = b.create<memref::DimOp>(k, 1);

  auto alloc = [&](ArrayRef<int64_t> shape) -> Value {
    return b.create<memref::AllocOp>(MemRefType::get(shape, f32), b.getI64IntegerAttr(64));
  };
  state = alloc({headDim, headDimV});
  z = alloc({headDim});
  feat = alloc({headDim});

  e.loop(begin, end, e.index(1), [&](Value item) {
    bIdx = e.divs(item, e.index(headsKv));
    gIdx = e.rems(item, e.index(headsKv));
    auto length = [&](Value lens, Value has, Value full) {
      return e.ifThenElse(
          has, b.getIndexType(),
          [&] { return SmallVector<Value>{e.indexCast(b.create<memref::LoadOp>(lens, ValueRange{bIdx}))}; },
          [&] { return SmallVector<Value>{full}; })[0];
    };
    Value lq = length(seqlensQ, hasSeqlensQ, seqQ);
    Value lkv = length(seqlensKv, hasSeqlensKv, seqKv);
    Value zero = e.f32(0.0);
    e.loop(e.index(0), e.index(headDim), e.index(1), [&](Value d) {
      b.create<memref::StoreOp>(zero, z, ValueRange{d});
      e.loop(e.index(0), e.index(headDimV), e.index(width), [&](Value dv) {
        b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), state, ValueRange{d, dv});
      });
    });
    Value shift = e.sub(lkv, lq);
    e.loop(e.index(0), lq, e.index(1), ValueRange{e.index(0)}, [&](Value row, ValueRange carried) {
      // Keys visible to this row: j <= p_i = row + shift (causal) or all of them.
      Value target = causal ? e.maxs(e.index(0), e.mins(lkv, e.add(e.add(row, shift), e.index(1))))
                            : lkv;
      Value folded = carried[0];
      e.loop(folded, target, e.index(1), [&](Value j) { foldKey(j); });
      answerQuery(row);
      return SmallVector<Value>{e.maxs(folded, target)};
    });
  });
  for (Value buffer : {state, z, feat})
    b.create<memref::DeallocOp>(buffer);
  b.create<func::ReturnOp>();
}

func::FuncOp mlir::attn::buildLinearKernel(OpBuilder &builder, LinearAttentionOp op,
                                           const CPUKernelConfig &config) {
  MLIRContext *ctx = builder.getContext();
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  MemRefType bshd = bshdMemRefType(q.getElementType());
  SmallVector<Type> args = {bshd, bshd, bshd, bshd, vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 64))};
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  auto fn = b.create<func::FuncOp>(kLinearName, b.getFunctionType(args, {}));
  fn->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  OpBuilder::InsertionGuard guard(b);
  LinearKernelGen(b, op, config).emit(fn);
  return fn;
}
