//===- SimtSoftmaxKernel.cpp - flash-style softmax attention, SIMT ---------===//
//
// A workgroup is `teams` subgroups; a subgroup (a team) owns one query row of one head, its lanes
// splitting the head dims. The workgroup holds `rows` consecutive query rows of `heads` heads of
// one GQA group (SimtWorkgroupShape), so every K/V tile it stages in shared memory serves all
// of them. Per tile of block_k keys:
//   1. the workgroup stages K and V (converted to f32, zero past the tile's end) in shared memory;
//   2. each team walks the tile in subtiles of subgroup_size keys: lane l scores key l of the
//      subtile (a dot over the whole head dim against the team's scaled query row, also staged in
//      shared memory), one subgroup max and one subgroup sum give the online-softmax step, and the
//      probabilities are broadcast lane by lane (gpu.shuffle idx) into the lanes' slices of O.
// The online state (max, sum, entropy sum, O slices) stays in registers across tiles. The mask
// gives the key range of the workgroup's rows (tile classes, Conversion/Common): invisible tiles
// are never visited. The decode variant runs the same code over one KV split per workgroup and
// writes f32 partials and their LSE for attn_merge. With a paged KV cache the staging loop finds
// each key's page in the block table (its slot in the page, the page's index clamped to the
// pages that exist); nothing else changes. Every GPU target runs it (Vulkan for all
// problems, CUDA for f32 and the head dims its tensor-core kernel does not take).
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/GPU/GpuKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

class SoftmaxGen {
public:
  SoftmaxGen(ImplicitLocOpBuilder &b, GpuEmitter &g, AttentionOp op, const SimtConfig &config,
             bool decode)
      : b(b), e(b, /*guardEmptyLoops=*/true), g(g), s(op), decode(decode) {
    lanes = config.subgroupSize;
    teams = config.teams;
    blockK = config.blockK;
    shape = SimtWorkgroupShape::get(config, s.group);
    dvSlots = llvm::divideCeil(s.headDimV, lanes);
    kStride = s.headDim + 1; // odd: lanes reading one dim of consecutive keys hit distinct banks
  }

  void emit(gpu::GPUFuncOp fn);

private:
  SmallVector<Value> visitTile(Value j0, Value n, ValueRange state);
  SmallVector<Value> scoreSubtile(Value j0, Value n, Value sub, ValueRange state);
  void stageTile(Value j0, Value n);
  /// Where key `key` of the workgroup's batch entry starts in K (V): batch entry and row, or
  /// page and slot of a paged cache.
  std::pair<Value, Value> keyLocation(Value key);
  void writeRow(ValueRange state);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  GpuEmitter &g;
  SoftmaxSpec s;
  bool decode;
  int64_t lanes, teams, blockK, dvSlots, kStride;
  SimtWorkgroupShape shape;

  // Arguments and values of the whole kernel.
  Value q, k, v, o, lse, ent, sinks, sinksOffset;
  Value blockTable, tableRow, lastPage; // a paged cache: batch entry's first entry, pages - 1
  Value tid, lane, team, bIdx, head, kvHead, split, batch, seqQ;
  Value qs, ks, vs;               // shared memory
  Value lseOffset, entropyOffset; // of the caller's LSE / entropy (not of decode's partials)
  TensorAddress qAddr, kAddr, vAddr, oAddr;
  // -ALiBi slope of the team's head (with alibi).
  Value negSlope;
  // Values of the query block being computed.
  Value row, pos, active;
};

void SoftmaxGen::emit(gpu::GPUFuncOp fn) {
  q = fn.getArgument(0), k = fn.getArgument(1), v = fn.getArgument(2), o = fn.getArgument(3);
  int64_t next = 4;
  if (!decode) {
    lse = fn.getArgument(next++);
    ent = fn.getArgument(next++);
  } else {
    lse = fn.getArgument(next++); // lse_parts
  }
  Value seqlensQ = fn.getArgument(next++), seqlensKv = fn.getArgument(next++);
  Value alibi = fn.getArgument(next++);
  sinks = fn.getArgument(next++);
  blockTable = fn.getArgument(next++);

  auto param = [&](int64_t i) { return g.param(i); };
  batch = param(ATTN_GPU_PARAM_BATCH);
  seqQ = param(ATTN_GPU_PARAM_SEQ_Q);
  Value seqKv = param(ATTN_GPU_PARAM_SEQ_KV);
  Value zero = e.index(0);
  Value scale = g.launchScale();
  qAddr = g.tensorAddress(ATTN_GPU_PARAM_Q);
  kAddr = g.tensorAddress(ATTN_GPU_PARAM_K);
  vAddr = g.tensorAddress(ATTN_GPU_PARAM_V);
  oAddr = g.tensorAddress(ATTN_GPU_PARAM_O);

  tid = b.create<gpu::ThreadIdOp>(gpu::Dimension::x);
  lane = e.rems(tid, e.index(lanes));
  team = e.divs(tid, e.index(lanes));
  Value z = b.create<gpu::BlockIdOp>(gpu::Dimension::z);
  if (decode) {
    split = e.divs(z, batch);
    bIdx = e.rems(z, batch);
  } else {
    bIdx = z;
  }
  Value y = b.create<gpu::BlockIdOp>(gpu::Dimension::y);
  kvHead = e.divs(y, e.index(shape.chunks));
  Value headInGroup = e.add(e.mul(e.rems(y, e.index(shape.chunks)), e.index(shape.heads)),
                            e.divs(team, e.index(shape.rows)));
  Value ii = e.rems(team, e.index(shape.rows));
  head = e.add(e.mul(kvHead, e.index(s.group)), headInGroup);
  Value teamHead = e.andi(e.cmpi(CmpIPredicate::slt, team, e.index(shape.heads * shape.rows)),
                          e.cmpi(CmpIPredicate::slt, headInGroup, e.index(s.group)));
  if (s.alibi) { // teams past the group's heads read a valid head's slope and never use it
    Value at = e.add(param(ATTN_GPU_PARAM_ALIBI), e.mins(head, e.index(s.group * s.headsKv - 1)));
    negSlope = b.create<arith::NegFOp>(b.create<memref::LoadOp>(alibi, ValueRange{at}));
  }
  sinksOffset = param(ATTN_GPU_PARAM_SINKS);
  if (s.pageSize > 0) {
    tableRow = e.add(param(ATTN_GPU_PARAM_BLOCK_TABLE),
                     e.mul(bIdx, param(ATTN_GPU_PARAM_BLOCK_TABLE_STRIDE)));
    lastPage = e.sub(param(ATTN_GPU_PARAM_NUM_PAGES), e.index(1));
  }

  Value lq = g.queryLength(seqlensQ, bIdx, seqQ);
  Value lkv = g.keyLength(seqlensKv, bIdx, seqKv);
  if (!decode) {
    lseOffset = param(ATTN_GPU_PARAM_LSE);
    entropyOffset = param(ATTN_GPU_PARAM_ENTROPY);
  }
  Value kvBegin = zero, kvEnd = lkv;
  if (decode) {
    Value chunk = param(ATTN_GPU_PARAM_SPLIT_KEYS);
    kvBegin = e.mins(e.mul(split, chunk), lkv);
    kvEnd = e.mins(e.add(kvBegin, chunk), lkv);
  }

  qs = g.shared(teams * s.headDim);
  ks = g.shared(blockK * kStride);
  vs = g.shared(blockK * s.headDimV);

  Value rowsPerBlock = e.index(shape.rows);
  Value blocks = e.ceildiv(seqQ, rowsPerBlock);
  Value first = b.create<gpu::BlockIdOp>(gpu::Dimension::x);
  Value stride = b.create<gpu::GridDimOp>(gpu::Dimension::x);
  e.loop(first, blocks, stride, [&](Value qb) {
    Value i0 = e.mul(qb, rowsPerBlock);
    // Uniform across the workgroup: barriers below are reached by all of its invocations.
    e.ifThen(e.cmpi(CmpIPredicate::slt, i0, lq), [&] {
      Value rows = e.mins(rowsPerBlock, e.sub(lq, i0));
      row = e.add(i0, ii);
      active = e.andi(teamHead, e.cmpi(CmpIPredicate::slt, ii, rows));
      Value pmin = e.add(i0, e.sub(lkv, lq));
      Value pmax = e.sub(e.add(pmin, rows), e.index(1));
      pos = e.add(pmin, ii);

      g.barrier(); // the previous block's readers are done with the shared buffers
      e.ifThen(active, [&] {
        Value base = qAddr.at(e, bIdx, row, head);
        e.loop(lane, e.index(s.headDim), e.index(lanes), [&](Value d) {
          Value x = e.mulf(g.loadF32(q, e.add(base, d), s.elementType), scale);
          b.create<memref::StoreOp>(x, qs, ValueRange{e.add(e.mul(team, e.index(s.headDim)), d)});
        });
      });

      KeyRange range = visibleKeys(e, s.mask, pmin, pmax, kvBegin, kvEnd);
      SmallVector<Value> init = {e.f32(-std::numeric_limits<double>::infinity()), e.f32(0.0),
                                 e.f32(0.0)};
      init.append(dvSlots, e.f32(0.0));
      SmallVector<Value> state =
          forEachTile(e, range, blockK, init, [&](Value j0, Value n, ValueRange carried) {
            return visitTile(j0, n, carried);
          });
      e.ifThen(active, [&] { writeRow(state); });
    });
  });
  b.create<gpu::ReturnOp>();
}

void SoftmaxGen::stageTile(Value j0, Value n) {
  Value invocations = e.index(teams * lanes);
  auto stage = [&](Value src, const TensorAddress &addr, Value dst, int64_t dim, int64_t stride) {
    e.loop(tid, e.index(blockK * dim), invocations, [&](Value idx) {
      Value j = e.divs(idx, e.index(dim)), d = e.rems(idx, e.index(dim));
      Value x = e.ifThenElse(
          e.cmpi(CmpIPredicate::slt, j, n), b.getF32Type(),
          [&] {
            auto [outer, inner] = keyLocation(e.add(j0, j));
            Value at = e.add(addr.at(e, outer, inner, kvHead), d);
            return SmallVector<Value>{g.loadF32(src, at, s.elementType)};
          },
          [&] { return SmallVector<Value>{e.f32(0.0)}; })[0];
      b.create<memref::StoreOp>(x, dst, ValueRange{e.add(e.mul(j, e.index(stride)), d)});
    });
  };
  stage(k, kAddr, ks, s.headDim, kStride);
  stage(v, vAddr, vs, s.headDimV, s.headDimV);
}

std::pair<Value, Value> SoftmaxGen::keyLocation(Value key) {
  if (s.pageSize == 0)
    return {bIdx, key};
  Value entry = e.add(tableRow, e.divs(key, e.index(s.pageSize)));
  Value page = e.indexCast(b.create<memref::LoadOp>(blockTable, ValueRange{entry}));
  return {e.mins(e.maxs(page, e.index(0)), lastPage), e.rems(key, e.index(s.pageSize))};
}

SmallVector<Value> SoftmaxGen::visitTile(Value j0, Value n, ValueRange state) {
  g.barrier(); // every team is done with the previous tile
  stageTile(j0, n);
  g.barrier();
  SmallVector<Type> types(state.getTypes());
  return e.ifThenElse(
      active, types,
      [&] {
        return e.loop(
            e.index(0), e.ceildiv(n, e.index(lanes)), e.index(1), state,
            [&](Value sub, ValueRange carried) { return scoreSubtile(j0, n, sub, carried); });
      },
      [&] { return SmallVector<Value>(state); });
}

SmallVector<Value> SoftmaxGen::scoreSubtile(Value j0, Value n, Value sub, ValueRange state) {
  Value negInf = e.f32(-std::numeric_limits<double>::infinity()), zero = e.f32(0.0);
  Value jj = e.add(e.mul(sub, e.index(lanes)), lane);
  Value qBase = e.mul(team, e.index(s.headDim)), kBase = e.mul(jj, e.index(kStride));
  Value score = e.loop(e.index(0), e.index(s.headDim), e.index(1), ValueRange{zero},
                       [&](Value d, ValueRange acc) {
                         Value x = b.create<memref::LoadOp>(qs, ValueRange{e.add(qBase, d)});
                         Value y = b.create<memref::LoadOp>(ks, ValueRange{e.add(kBase, d)});
                         return SmallVector<Value>{e.addf(acc[0], e.mulf(x, y))};
                       })[0];
  if (s.softcap) {
    Value cap = e.f32(*s.softcap);
    score = e.mulf(cap, b.create<math::TanhOp>(e.divf(score, cap)));
  }
  if (s.alibi) {
    auto i32 = [&](Value x) { return b.create<arith::IndexCastOp>(b.getI32Type(), x); };
    score = e.addf(score, alibiBias(e, negSlope, i32(e.add(j0, jj)), i32(pos)));
  }
  Value valid = e.cmpi(CmpIPredicate::slt, jj, n);
  if (s.mask.masked())
    valid = e.andi(
        valid, keyVisible(e, s.mask, e.add(j0, jj), pos, [&](int64_t c) { return e.index(c); }));
  score = e.select(valid, score, negInf);

  Value m = state[0], l = state[1], t = state[2];
  OnlineStep step = onlineSoftmaxStep(e, m, g.subgroupMax(score), negInf, zero);
  Value p = b.create<math::ExpOp>(e.subf(score, step.shift));
  SmallVector<Value> next = {step.newMax, e.addf(e.mulf(l, step.rescale), g.subgroupSum(p)), t};
  if (s.entropy)
    next[2] =
        e.addf(e.mulf(t, step.rescale), g.subgroupSum(e.select(valid, e.mulf(p, score), zero)));

  SmallVector<Value> out;
  for (int64_t c = 0; c < dvSlots; ++c)
    out.push_back(e.mulf(state[3 + c], step.rescale));
  // Lanes past Dv compute on a clamped column and never store it.
  SmallVector<Value> column;
  for (int64_t c = 0; c < dvSlots; ++c)
    column.push_back(e.mins(e.add(lane, e.index(c * lanes)), e.index(s.headDimV - 1)));
  Value keyBase = e.mul(sub, e.index(lanes));
  out = e.loop(e.index(0), e.index(lanes), e.index(1), out, [&](Value src, ValueRange acc) {
    Value pj = g.broadcastLane(p, src, lanes);
    Value vBase = e.mul(e.add(keyBase, src), e.index(s.headDimV));
    SmallVector<Value> updated;
    for (int64_t c = 0; c < dvSlots; ++c) {
      Value x = b.create<memref::LoadOp>(vs, ValueRange{e.add(vBase, column[c])});
      updated.push_back(e.addf(acc[c], e.mulf(pj, x)));
    }
    return updated;
  });
  next.append(out.begin(), out.end());
  return next;
}

void SoftmaxGen::writeRow(ValueRange state) {
  Value m = state[0], l = state[1], t = s.entropy ? state[2] : Value(), rescale;
  if (s.sinks) { // a decode's split 0 holds the sink, so that the merge counts it once
    Value sink = b.create<memref::LoadOp>(sinks, ValueRange{e.add(sinksOffset, head)});
    if (decode)
      sink = e.select(e.cmpi(CmpIPredicate::eq, split, e.index(0)), sink,
                      e.f32(-std::numeric_limits<double>::infinity()));
    RowState folded = foldSink(e, m, l, t, sink);
    m = folded.m, l = folded.l, t = folded.t, rescale = folded.rescale;
  }
  RowResult result = finalizeRow(e, m, l, t);
  if (rescale)
    result.inverseSum = e.mulf(result.inverseSum, rescale);
  Value outBase, statIndex;
  if (decode) {
    // o_parts [P * B, Sq, Hq, Dv] and lse_parts [P * B, Hq, Sq], contiguous.
    Value part = e.add(e.mul(split, batch), bIdx);
    outBase = e.mul(e.add(e.mul(e.add(e.mul(part, seqQ), row), e.index(s.group * s.headsKv)), head),
                    e.index(s.headDimV));
    statIndex = e.add(e.mul(e.add(e.mul(part, e.index(s.group * s.headsKv)), head), seqQ), row);
  } else {
    outBase = oAddr.at(e, bIdx, row, head);
    statIndex = e.add(e.mul(e.add(e.mul(bIdx, e.index(s.group * s.headsKv)), head), seqQ), row);
  }
  Type outType = decode ? b.getF32Type() : s.elementType;
  for (int64_t c = 0; c < dvSlots; ++c) {
    Value col = e.add(lane, e.index(c * lanes));
    e.ifThen(e.cmpi(CmpIPredicate::slt, col, e.index(s.headDimV)), [&] {
      g.storeF32(e.mulf(state[3 + c], result.inverseSum), o, e.add(outBase, col), outType);
    });
  }
  bool writeLse = decode || s.lse;
  if (!writeLse && !s.entropy)
    return;
  e.ifThen(e.cmpi(CmpIPredicate::eq, lane, e.index(0)), [&] {
    if (writeLse)
      b.create<memref::StoreOp>(result.lse, lse,
                                ValueRange{decode ? statIndex : e.add(lseOffset, statIndex)});
    if (s.entropy && !decode)
      b.create<memref::StoreOp>(result.entropy, ent, ValueRange{e.add(entropyOffset, statIndex)});
  });
}

} // namespace

void mlir::attn::buildSimtSoftmaxKernel(OpBuilder &builder, const GpuKernelTarget &target,
                                        AttentionOp op, const SimtConfig &config, bool decode) {
  SoftmaxSpec spec(op);
  MLIRContext *ctx = builder.getContext();
  Type elt = storageType(spec.elementType), f32 = Float32Type::get(ctx);
  Type i32 = IntegerType::get(ctx, 32);
  auto buf = [&](Type t) -> Type { return target.buffer(t); };
  SmallVector<Type> args = {buf(elt), buf(elt), buf(elt)};
  if (decode) {
    args.append({buf(f32), buf(f32)});
  } else {
    args.append({buf(elt), buf(f32), buf(f32)});
  }
  // seqlens, alibi_slopes, sinks, block_table
  args.append({buf(i32), buf(i32), buf(f32), buf(f32), buf(i32)});
  gpu::GPUFuncOp fn =
      target.createKernel(builder, op.getLoc(), decode ? kGpuDecodeName : kGpuMainName, args,
                          config.teams * config.subgroupSize);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&fn.getBody().front());
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  std::unique_ptr<GpuEmitter> g = target.emitter(b, fn, args.size());
  SoftmaxGen(b, *g, op, config, decode).emit(fn);
}
