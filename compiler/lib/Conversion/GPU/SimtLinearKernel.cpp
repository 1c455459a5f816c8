//===- SimtLinearKernel.cpp - kernelized linear attention, SIMT ------------===//
//
// A workgroup owns one query head of one batch entry and teams x subgroup_size value columns:
// invocation t holds column c of the state S = Σ φ(k_j) v_jᵀ (its D entries in registers); the
// normalizer z = Σ φ(k_j) lives in shared memory. The sequence is scanned in chunks of `chunk`
// query rows (a chunked scan: linear in the sequence length):
//   non-causal: every key is folded into S and z first, then each row reads o = φ(q)ᵀS / (φ(q)ᵀz
//     + eps);
//   causal (p_i = i + Lkv - Lq): the keys every row of the chunk sees are folded in first (in
//     chunks staged in shared memory), then the chunk's remaining keys (at most chunk - 1, the
//     "diagonal") are scored against its rows (φ(Q)φ(K)ᵀ staged in shared memory, masked
//     j <= p_i), each row reads S plus its visible diagonal keys, and the diagonal is folded in.
// φ(q) and φ(k) are computed once per element when a chunk is staged.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/GPU/GpuKernels.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

class LinearGen {
public:
  LinearGen(ImplicitLocOpBuilder &b, GpuEmitter &g, LinearAttentionOp op, const SimtConfig &config)
      : b(b), e(b, /*guardEmptyLoops=*/true), g(g) {
    auto qt = cast<RankedTensorType>(op.getQuery().getType());
    auto kt = cast<RankedTensorType>(op.getKey().getType());
    auto vt = cast<RankedTensorType>(op.getValue().getType());
    elt = qt.getElementType();
    group = qt.getDimSize(2) / kt.getDimSize(2);
    headDim = qt.getDimSize(3);
    headDimV = vt.getDimSize(3);
    causal = op.getCausal();
    normalize = op.getNormalize();
    map = op.getFeatureMap();
    invocations = config.teams * config.subgroupSize;
    chunk = config.chunk;
  }

  void emit(gpu::GPUFuncOp fn);

private:
  using State = SmallVector<Value>;
  Value phi(Value x) {
    return applyFeatureMap(e, map, x, [&](double c) { return e.f32(c); });
  }
  /// ks[j][d] = φ(k[b, k0 + j, g, d]) for j < n, 0 up to `chunk` rows.
  void stageKeys(Value k0, Value n);
  /// S += Σ_{j < n} ks[j] v[k0 + j][col], and z += Σ_{j < n} ks[j] (shared, split over d).
  State fold(const State &s, Value k0, Value n);
  /// Folds keys [k0, k1) in staged chunks.
  State absorb(const State &s, Value k0, Value k1);
  Value loadV(Value j) { return g.loadF32(v, e.add(vAddr.at(e, bIdx, j, kvHead), column), elt); }

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  GpuEmitter &g;
  Type elt;
  int64_t group, headDim, headDimV, invocations, chunk;
  Value scale; // the launch's (an f32)
  bool causal, normalize;
  FeatureMap map;

  Value q, k, v, o;
  Value tid, col, column, active, bIdx, head, kvHead;
  TensorAddress qAddr, kAddr, vAddr, oAddr;
  Value qs, ks, scores, zq, z;
};

void LinearGen::stageKeys(Value k0, Value n) {
  e.loop(tid, e.index(chunk * headDim), e.index(invocations), [&](Value idx) {
    Value j = e.divs(idx, e.index(headDim)), d = e.rems(idx, e.index(headDim));
    Value x = e.ifThenElse(
        e.cmpi(CmpIPredicate::slt, j, n), b.getF32Type(),
        [&] {
          Value at = e.add(kAddr.at(e, bIdx, e.add(k0, j), kvHead), d);
          return SmallVector<Value>{phi(g.loadF32(k, at, elt))};
        },
        [&] { return SmallVector<Value>{e.f32(0.0)}; })[0];
    b.create<memref::StoreOp>(x, ks, ValueRange{idx});
  });
}

LinearGen::State LinearGen::fold(const State &s, Value k0, Value n) {
  State next = e.loop(e.index(0), n, e.index(1), s, [&](Value j, ValueRange acc) {
    Value vj = loadV(e.add(k0, j));
    Value base = e.mul(j, e.index(headDim));
    SmallVector<Value> updated;
    for (int64_t d = 0; d < headDim; ++d) {
      Value kd = b.create<memref::LoadOp>(ks, ValueRange{e.add(base, e.index(d))});
      updated.push_back(e.addf(acc[d], e.mulf(kd, vj)));
    }
    return updated;
  });
  if (normalize)
    e.loop(tid, e.index(headDim), e.index(invocations), [&](Value d) {
      Value sum =
          e.loop(e.index(0), n, e.index(1), ValueRange{e.f32(0.0)}, [&](Value j, ValueRange acc) {
            Value at = e.add(e.mul(j, e.index(headDim)), d);
            Value x = b.create<memref::LoadOp>(ks, ValueRange{at});
            return SmallVector<Value>{e.addf(acc[0], x)};
          })[0];
      Value old = b.create<memref::LoadOp>(z, ValueRange{d});
      b.create<memref::StoreOp>(e.addf(old, sum), z, ValueRange{d});
    });
  return next;
}

LinearGen::State LinearGen::absorb(const State &s, Value k0, Value k1) {
  return e.loop(k0, k1, e.index(chunk), s, [&](Value kc, ValueRange acc) {
    Value n = e.mins(e.index(chunk), e.sub(k1, kc));
    g.barrier(); // every invocation is done with the previous chunk's ks (and z's readers)
    stageKeys(kc, n);
    g.barrier();
    return fold(State(acc.begin(), acc.end()), kc, n);
  });
}

void LinearGen::emit(gpu::GPUFuncOp fn) {
  q = fn.getArgument(0), k = fn.getArgument(1), v = fn.getArgument(2), o = fn.getArgument(3);
  Value seqlensQ = fn.getArgument(4), seqlensKv = fn.getArgument(5);
  auto param = [&](int64_t i) { return g.param(i); };
  Value zero = e.index(0);
  scale = g.launchScale();
  qAddr = g.tensorAddress(ATTN_GPU_PARAM_Q);
  kAddr = g.tensorAddress(ATTN_GPU_PARAM_K);
  vAddr = g.tensorAddress(ATTN_GPU_PARAM_V);
  oAddr = g.tensorAddress(ATTN_GPU_PARAM_O);

  tid = b.create<gpu::ThreadIdOp>(gpu::Dimension::x);
  col = e.add(e.mul(b.create<gpu::BlockIdOp>(gpu::Dimension::x), e.index(invocations)), tid);
  active = e.cmpi(CmpIPredicate::slt, col, e.index(headDimV));
  column = e.mins(col, e.index(headDimV - 1)); // inactive invocations read a valid column
  head = b.create<gpu::BlockIdOp>(gpu::Dimension::y);
  kvHead = e.divs(head, e.index(group));
  bIdx = b.create<gpu::BlockIdOp>(gpu::Dimension::z);
  Value lq = g.queryLength(seqlensQ, bIdx, param(ATTN_GPU_PARAM_SEQ_Q));
  Value lkv = g.keyLength(seqlensKv, bIdx, param(ATTN_GPU_PARAM_SEQ_KV));
  Value offset = e.sub(lkv, lq);

  qs = g.shared(chunk * headDim);
  ks = g.shared(chunk * headDim);
  scores = g.shared(chunk * chunk);
  zq = g.shared(chunk);
  z = g.shared(headDim);
  e.loop(tid, e.index(headDim), e.index(invocations),
         [&](Value d) { b.create<memref::StoreOp>(e.f32(0.0), z, ValueRange{d}); });

  State state(headDim, e.f32(0.0));
  Value absorbed = zero;
  if (!causal) {
    state = absorb(state, zero, lkv);
    absorbed = lkv;
  }
  State carried = state;
  carried.push_back(absorbed);
  e.loop(zero, lq, e.index(chunk), carried, [&](Value i0, ValueRange acc) {
    State s(acc.begin(), acc.begin() + headDim);
    Value done = acc[headDim];
    Value rows = e.mins(e.index(chunk), e.sub(lq, i0));
    Value diagBegin = done, diag = zero;
    if (causal) {
      // Keys every row of the chunk sees (j <= p_i0), then the rest up to the last row's p.
      Value bulkEnd = e.maxs(done, e.mins(lkv, e.maxs(zero, e.add(e.add(i0, offset), e.index(1)))));
      s = absorb(s, done, bulkEnd);
      diagBegin = bulkEnd;
      Value diagEnd = e.maxs(bulkEnd, e.mins(lkv, e.add(e.add(i0, rows), offset)));
      diag = e.sub(diagEnd, bulkEnd);
    }
    g.barrier();
    e.loop(tid, e.index(chunk * headDim), e.index(invocations), [&](Value idx) {
      Value r = e.divs(idx, e.index(headDim)), d = e.rems(idx, e.index(headDim));
      Value x = e.ifThenElse(
          e.cmpi(CmpIPredicate::slt, r, rows), b.getF32Type(),
          [&] {
            Value at = e.add(qAddr.at(e, bIdx, e.add(i0, r), head), d);
            return SmallVector<Value>{phi(e.mulf(g.loadF32(q, at, elt), scale))};
          },
          [&] { return SmallVector<Value>{e.f32(0.0)}; })[0];
      b.create<memref::StoreOp>(x, qs, ValueRange{idx});
    });
    if (causal)
      stageKeys(diagBegin, diag);
    g.barrier();
    auto dot = [&](Value a, Value aBase, Value c, Value cBase) {
      return e.loop(e.index(0), e.index(headDim), e.index(1), ValueRange{e.f32(0.0)},
                    [&](Value d, ValueRange sum) {
                      Value x = b.create<memref::LoadOp>(a, ValueRange{e.add(aBase, d)});
                      Value y = b.create<memref::LoadOp>(c, ValueRange{e.add(cBase, d)});
                      return SmallVector<Value>{e.addf(sum[0], e.mulf(x, y))};
                    })[0];
    };
    if (causal)
      e.loop(tid, e.index(chunk * chunk), e.index(invocations), [&](Value idx) {
        Value r = e.divs(idx, e.index(chunk)), j = e.rems(idx, e.index(chunk));
        Value x = dot(qs, e.mul(r, e.index(headDim)), ks, e.mul(j, e.index(headDim)));
        b.create<memref::StoreOp>(x, scores, ValueRange{idx});
      });
    if (normalize)
      e.loop(tid, e.index(chunk), e.index(invocations), [&](Value r) {
        b.create<memref::StoreOp>(dot(qs, e.mul(r, e.index(headDim)), z, zero), zq, ValueRange{r});
      });
    g.barrier();
    e.loop(zero, rows, e.index(1), [&](Value r) {
      Value base = e.mul(r, e.index(headDim));
      Value num = e.f32(0.0);
      for (int64_t d = 0; d < headDim; ++d)
        num = e.addf(
            num, e.mulf(b.create<memref::LoadOp>(qs, ValueRange{e.add(base, e.index(d))}), s[d]));
      Value den = normalize ? b.create<memref::LoadOp>(zq, ValueRange{r}).getResult() : e.f32(0.0);
      if (causal) {
        Value pos = e.add(e.add(i0, r), offset);
        SmallVector<Value> sums =
            e.loop(zero, diag, e.index(1), ValueRange{num, den}, [&](Value j, ValueRange acc2) {
              Value key = e.add(diagBegin, j);
              Value visible = e.cmpi(CmpIPredicate::sle, key, pos);
              Value a =
                  b.create<memref::LoadOp>(scores, ValueRange{e.add(e.mul(r, e.index(chunk)), j)});
              a = e.select(visible, a, e.f32(0.0));
              return SmallVector<Value>{e.addf(acc2[0], e.mulf(a, loadV(key))), e.addf(acc2[1], a)};
            });
        num = sums[0];
        den = sums[1];
      }
      Value out = normalize ? e.divf(num, e.addf(den, e.f32(1e-6))) : num;
      e.ifThen(active,
               [&] { g.storeF32(out, o, e.add(oAddr.at(e, bIdx, e.add(i0, r), head), col), elt); });
    });
    if (causal)
      s = fold(s, diagBegin, diag); // z's readers (zq) are behind the last barrier
    State next = s;
    next.push_back(e.add(diagBegin, diag));
    return next;
  });
  b.create<gpu::ReturnOp>();
}

} // namespace

void mlir::attn::buildSimtLinearKernel(OpBuilder &builder, const GpuKernelTarget &target,
                                       LinearAttentionOp op, const SimtConfig &config) {
  MLIRContext *ctx = builder.getContext();
  Type elt = storageType(cast<RankedTensorType>(op.getQuery().getType()).getElementType());
  Type i32 = IntegerType::get(ctx, 32);
  auto buf = [&](Type t) -> Type { return target.buffer(t); };
  SmallVector<Type> args = {buf(elt), buf(elt), buf(elt), buf(elt), buf(i32), buf(i32)};
  gpu::GPUFuncOp fn = target.createKernel(builder, op.getLoc(), kGpuLinearName, args,
                                          config.teams * config.subgroupSize);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&fn.getBody().front());
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  std::unique_ptr<GpuEmitter> g = target.emitter(b, fn, args.size());
  LinearGen(b, *g, op, config).emit(fn);
}
