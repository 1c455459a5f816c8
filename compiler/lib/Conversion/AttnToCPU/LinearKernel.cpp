//===- LinearKernel.cpp - kernelized linear attention for the CPU ---------===//
//
// One work item is (batch b, kv head g) with all G query heads of the group. Keys are taken in
// chunks of C: each chunk's φ(K) and V are packed once (f32), and the state S = Σ φ(k_j) v_jᵀ
// (D x Dv) and z = Σ φ(k_j) grows by one register-blocked product per chunk. Non-causal: every
// query reads the final state. Causal (bottom-right aligned, p_i = i + Lkv - Lq): the queries
// whose position falls in a chunk read the state of the previous chunks plus the chunk's keys
// j <= p_i (a masked C x C product), then the chunk is folded in. Cost O(S·D·Dv + S·C·(D + Dv)):
// linear in the sequence length. Query readouts are blocked over rows so S is loaded once per
// block of rows, not once per row.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

constexpr int64_t kChunk = 64;

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
    dChunks = headDim / width;
    dvChunks = headDimV / width;
    // Register blocks of (rows or state rows) x dvChunks accumulators, at most 24.
    rowBlock = std::clamp<int64_t>(24 / dvChunks, 1, 6);
  }

  void emit(func::FuncOp fn);

private:
  Value phi(Value x);
  Value load(Value memref, ValueRange indices, Type type);
  void packChunk(Value c0, Value n);
  void foldChunk(Value n);
  void foldBlock(Value d0, int64_t rows, Value n);
  void answer(Value i0, Value count, Value c0, bool intra);
  void readoutBlock(Value r0, int64_t rows);
  void addIntraChunk(Value r, Value row, Value c0);
  void writeRow(Value r, Value row, Value head);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  int64_t width, headsKv, group, headDim, headDimV, dChunks, dvChunks, rowBlock;
  Type elt, f32;
  VectorType vecF32;
  FeatureMap featureMap;
  bool causal, normalize;
  double scale;

  Value q, k, v, o;
  Value state, z, kc, vc, fq, num, den; // scratch
  Value bIdx, gIdx, shift;
};

} // namespace

Value LinearKernelGen::phi(Value x) {
  auto constant = [&](double c) {
    Value scalar = e.f32(c);
    return isa<VectorType>(x.getType()) ? e.splat(vecF32, scalar) : scalar;
  };
  return applyFeatureMap(e, featureMap, x, constant);
}

/// A vector of `width` elements of the input dtype at `indices`, as f32.
Value LinearKernelGen::load(Value memref, ValueRange indices, Type type) {
  Value x = b.create<vector::LoadOp>(VectorType::get({width}, type), memref, indices);
  return type.isF32() ? x : b.create<arith::ExtFOp>(vecF32, x);
}

/// kc[j] = φ(k_{c0+j}), vc[j] = v_{c0+j} for j < n.
void LinearKernelGen::packChunk(Value c0, Value n) {
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    Value key = e.add(c0, j);
    for (int64_t c = 0; c < dChunks; ++c)
      b.create<vector::StoreOp>(phi(load(k, {bIdx, key, gIdx, e.index(c * width)}, elt)), kc,
                                ValueRange{j, e.index(c * width)});
    for (int64_t c = 0; c < dvChunks; ++c)
      b.create<vector::StoreOp>(load(v, {bIdx, key, gIdx, e.index(c * width)}, elt), vc,
                                ValueRange{j, e.index(c * width)});
  });
}

/// S += kcᵀ vc and z += Σ_j kc[j] over the chunk's n keys.
void LinearKernelGen::foldChunk(Value n) {
  int64_t mainEnd = headDim / rowBlock * rowBlock;
  e.loop(e.index(0), e.index(mainEnd), e.index(rowBlock),
         [&](Value d0) { foldBlock(d0, rowBlock, n); });
  if (mainEnd < headDim)
    foldBlock(e.index(mainEnd), headDim - mainEnd, n);
  for (int64_t c = 0; c < dChunks; ++c) {
    Value off = e.index(c * width);
    Value init = b.create<vector::LoadOp>(vecF32, z, ValueRange{off});
    Value sum = e.loop(e.index(0), n, e.index(1), ValueRange{init}, [&](Value j, ValueRange acc) {
      Value x = b.create<vector::LoadOp>(vecF32, kc, ValueRange{j, off});
      return SmallVector<Value>{e.addf(acc[0], x)};
    })[0];
    b.create<vector::StoreOp>(sum, z, ValueRange{off});
  }
}

/// State rows [d0, d0 + rows): accumulators in registers across the chunk's keys.
void LinearKernelGen::foldBlock(Value d0, int64_t rows, Value n) {
  SmallVector<Value> ds, inits;
  for (int64_t x = 0; x < rows; ++x) {
    ds.push_back(e.add(d0, e.index(x)));
    for (int64_t c = 0; c < dvChunks; ++c)
      inits.push_back(
          b.create<vector::LoadOp>(vecF32, state, ValueRange{ds[x], e.index(c * width)}));
  }
  SmallVector<Value> acc =
      e.loop(e.index(0), n, e.index(1), inits, [&](Value j, ValueRange carried) {
        SmallVector<Value> vv;
        for (int64_t c = 0; c < dvChunks; ++c)
          vv.push_back(b.create<vector::LoadOp>(vecF32, vc, ValueRange{j, e.index(c * width)}));
        SmallVector<Value> next(carried.begin(), carried.end());
        for (int64_t x = 0; x < rows; ++x) {
          Value kb = e.splat(vecF32, b.create<memref::LoadOp>(kc, ValueRange{j, ds[x]}));
          for (int64_t c = 0; c < dvChunks; ++c)
            next[x * dvChunks + c] = e.fma(kb, vv[c], next[x * dvChunks + c]);
        }
        return next;
      });
  for (int64_t x = 0; x < rows; ++x)
    for (int64_t c = 0; c < dvChunks; ++c)
      b.create<vector::StoreOp>(acc[x * dvChunks + c], state,
                                ValueRange{ds[x], e.index(c * width)});
}

/// Answers queries [i0, i0 + count) of every head of the group (rows r = ii * G + hh) from the
/// state, plus, when `intra`, the keys of the chunk at c0 up to each query's position.
void LinearKernelGen::answer(Value i0, Value count, Value c0, bool intra) {
  Value rows = e.mul(count, e.index(group));
  Value scaleValue = e.splatF32(vecF32, scale);
  e.loop(e.index(0), rows, e.index(1), [&](Value r) {
    Value row = e.add(i0, e.divs(r, e.index(group)));
    Value head = e.add(e.mul(gIdx, e.index(group)), e.rems(r, e.index(group)));
    Value dot = e.splatF32(vecF32, 0.0);
    for (int64_t c = 0; c < dChunks; ++c) {
      Value off = e.index(c * width);
      Value x = phi(e.mulf(load(q, {bIdx, row, head, off}, elt), scaleValue));
      b.create<vector::StoreOp>(x, fq, ValueRange{r, off});
      dot = e.fma(x, b.create<vector::LoadOp>(vecF32, z, ValueRange{off}), dot);
    }
    b.create<memref::StoreOp>(b.create<vector::ReductionOp>(vector::CombiningKind::ADD, dot), den,
                              ValueRange{r});
  });
  Value block = e.index(rowBlock);
  Value mainEnd = e.mul(e.divs(rows, block), block);
  e.loop(e.index(0), mainEnd, block, [&](Value r0) { readoutBlock(r0, rowBlock); });
  e.loop(mainEnd, rows, e.index(1), [&](Value r0) { readoutBlock(r0, 1); });
  e.loop(e.index(0), rows, e.index(1), [&](Value r) {
    Value row = e.add(i0, e.divs(r, e.index(group)));
    Value head = e.add(e.mul(gIdx, e.index(group)), e.rems(r, e.index(group)));
    if (intra)
      addIntraChunk(r, row, c0);
    writeRow(r, row, head);
  });
}

/// num[r0 + x, :] = fq[r0 + x, :] · S for x < rows, S loaded once for the block.
void LinearKernelGen::readoutBlock(Value r0, int64_t rows) {
  SmallVector<Value> rs;
  for (int64_t x = 0; x < rows; ++x)
    rs.push_back(e.add(r0, e.index(x)));
  SmallVector<Value> inits(rows * dvChunks, e.splatF32(vecF32, 0.0));
  SmallVector<Value> acc =
      e.loop(e.index(0), e.index(headDim), e.index(1), inits, [&](Value d, ValueRange carried) {
        SmallVector<Value> sv;
        for (int64_t c = 0; c < dvChunks; ++c)
          sv.push_back(b.create<vector::LoadOp>(vecF32, state, ValueRange{d, e.index(c * width)}));
        SmallVector<Value> next(carried.begin(), carried.end());
        for (int64_t x = 0; x < rows; ++x) {
          Value f = e.splat(vecF32, b.create<memref::LoadOp>(fq, ValueRange{rs[x], d}));
          for (int64_t c = 0; c < dvChunks; ++c)
            next[x * dvChunks + c] = e.fma(f, sv[c], next[x * dvChunks + c]);
        }
        return next;
      });
  for (int64_t x = 0; x < rows; ++x)
    for (int64_t c = 0; c < dvChunks; ++c)
      b.create<vector::StoreOp>(acc[x * dvChunks + c], num, ValueRange{rs[x], e.index(c * width)});
}

/// The chunk's keys j <= p_row: num += (fq·kc[j]) vc[j], den += fq·kc[j].
void LinearKernelGen::addIntraChunk(Value r, Value row, Value c0) {
  Value last = e.sub(e.add(row, shift), c0); // p_row - c0, within [0, n)
  SmallVector<Value> inits;
  for (int64_t c = 0; c < dvChunks; ++c)
    inits.push_back(b.create<vector::LoadOp>(vecF32, num, ValueRange{r, e.index(c * width)}));
  inits.push_back(b.create<memref::LoadOp>(den, ValueRange{r}));
  SmallVector<Value> acc = e.loop(
      e.index(0), e.add(last, e.index(1)), e.index(1), inits, [&](Value j, ValueRange carried) {
        Value dot = e.splatF32(vecF32, 0.0);
        for (int64_t c = 0; c < dChunks; ++c) {
          Value off = e.index(c * width);
          dot = e.fma(b.create<vector::LoadOp>(vecF32, fq, ValueRange{r, off}),
                      b.create<vector::LoadOp>(vecF32, kc, ValueRange{j, off}), dot);
        }
        Value w = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, dot);
        Value wv = e.splat(vecF32, w);
        SmallVector<Value> next;
        for (int64_t c = 0; c < dvChunks; ++c)
          next.push_back(
              e.fma(wv, b.create<vector::LoadOp>(vecF32, vc, ValueRange{j, e.index(c * width)}),
                    carried[c]));
        next.push_back(e.addf(carried[dvChunks], w));
        return next;
      });
  for (int64_t c = 0; c < dvChunks; ++c)
    b.create<vector::StoreOp>(acc[c], num, ValueRange{r, e.index(c * width)});
  b.create<memref::StoreOp>(acc[dvChunks], den, ValueRange{r});
}

/// o = num / (den + eps) (or num without normalization).
void LinearKernelGen::writeRow(Value r, Value row, Value head) {
  Value inv = e.f32(1.0);
  if (normalize)
    inv = e.divf(e.f32(1.0), e.addf(b.create<memref::LoadOp>(den, ValueRange{r}), e.f32(1e-6)));
  Value invVec = e.splat(vecF32, inv);
  for (int64_t c = 0; c < dvChunks; ++c) {
    Value x =
        e.mulf(b.create<vector::LoadOp>(vecF32, num, ValueRange{r, e.index(c * width)}), invVec);
    if (elt != f32)
      x = b.create<arith::TruncFOp>(VectorType::get({width}, elt), x);
    b.create<vector::StoreOp>(x, o, ValueRange{bIdx, row, head, e.index(c * width)});
  }
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
  KernelEmitter::LaunchParams launch = e.loadParams(params);
  Value seqQ = b.create<memref::DimOp>(q, 1), seqKv = b.create<memref::DimOp>(k, 1);

  auto alloc = [&](ArrayRef<int64_t> shape) -> Value {
    return b.create<memref::AllocOp>(MemRefType::get(shape, f32), b.getI64IntegerAttr(64));
  };
  state = alloc({headDim, headDimV});
  z = alloc({headDim});
  kc = alloc({kChunk, headDim});
  vc = alloc({kChunk, headDimV});
  fq = alloc({kChunk * group, headDim});
  num = alloc({kChunk * group, headDimV});
  den = alloc({kChunk * group});
  Value chunk = e.index(kChunk);

  e.loop(launch.begin, launch.end, e.index(1), [&](Value item) {
    bIdx = e.divs(item, e.index(headsKv));
    gIdx = e.rems(item, e.index(headsKv));
    Value lq = e.batchLength(seqlensQ, launch.hasSeqlensQ, bIdx, seqQ);
    Value lkv = e.batchLength(seqlensKv, launch.hasSeqlensKv, bIdx, seqKv);
    shift = e.sub(lkv, lq);
    e.loop(e.index(0), e.index(headDim), e.index(1), [&](Value d) {
      for (int64_t c = 0; c < dvChunks; ++c)
        b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), state,
                                  ValueRange{d, e.index(c * width)});
    });
    for (int64_t c = 0; c < dChunks; ++c)
      b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), z, ValueRange{e.index(c * width)});

    auto answerAll = [&](Value lo, Value hi, Value c0, bool intra) {
      e.loop(lo, hi, chunk, [&](Value i0) { answer(i0, e.mins(chunk, e.sub(hi, i0)), c0, intra); });
    };
    if (!causal) {
      e.loop(e.index(0), lkv, chunk, [&](Value c0) {
        Value n = e.mins(chunk, e.sub(lkv, c0));
        packChunk(c0, n);
        foldChunk(n);
      });
      answerAll(e.index(0), lq, e.index(0), /*intra=*/false);
      return;
    }
    // Queries before the first key (p_i < 0) see nothing: the empty state answers 0.
    Value blind = e.mins(lq, e.maxs(e.index(0), e.sub(e.index(0), shift)));
    answerAll(e.index(0), blind, e.index(0), /*intra=*/false);
    e.loop(e.index(0), lkv, chunk, [&](Value c0) {
      Value n = e.mins(chunk, e.sub(lkv, c0));
      packChunk(c0, n);
      // The queries whose position falls in this chunk: at most n of them.
      Value qlo = e.maxs(e.index(0), e.sub(c0, shift));
      Value qhi = e.mins(lq, e.sub(e.add(c0, n), shift));
      answerAll(qlo, qhi, c0, /*intra=*/true);
      foldChunk(n);
    });
  });
  for (Value buffer : {state, z, kc, vc, fq, num, den})
    b.create<memref::DeallocOp>(buffer);
  b.create<func::ReturnOp>();
}

func::FuncOp mlir::attn::buildLinearKernel(OpBuilder &builder, LinearAttentionOp op,
                                           const CPUKernelConfig &config) {
  MLIRContext *ctx = builder.getContext();
  auto q = cast<RankedTensorType>(op.getQuery().getType());
  MemRefType bshd = bshdMemRefType(q.getElementType());
  SmallVector<Type> args = {bshd,
                            bshd,
                            bshd,
                            bshd,
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 64))};
  func::FuncOp fn = createKernelFunction(builder, op.getLoc(), kLinearName, args);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  OpBuilder::InsertionGuard guard(b);
  LinearKernelGen(b, op, config).emit(fn);
  return fn;
}
