//===- CoopSoftmaxKernel.cpp - flash attention on cooperative matrices -----===//
//
// The prefill kernel for devices with VK_KHR_cooperative_matrix (#attn.vulkan_config coopmat = 1;
// f16 problems). A team (subgroup) owns 16 query rows of one head; a workgroup holds `heads` heads
// of a GQA group (SimtWorkgroupShape), so each K/V tile staged in shared memory (as f16) serves
// all of them. Per tile, each team:
//   1. S = Q Kᵀ on 16 x 16 x 16 f16 matrices with f32 accumulators, stored to shared memory
//      (MLIR 19 lowers no max/exp on cooperative matrices, so the softmax reads S there);
//   2. the online softmax per row (lane r of the first 16 owns row r), from the shared logic:
//      scale, softcap, mask, the step, P rounded to f16 (SPEC §2 allows it), the output rows in
//      shared memory rescaled;
//   3. O += P V on cooperative matrices, accumulated in the shared f32 output rows.
// Tile classes come from the shared mask logic as in the scalar kernel.
//
// What ran: none of this on a device (lavapipe has no cooperative matrices); lit tests check the
// generated IR and its lowering to spirv.KHR.CooperativeMatrix*, which bookworm's spirv-val
// cannot validate.
//
//===----------------------------------------------------------------------===//

#include "VulkanEmitter.h"

#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

constexpr int64_t kTile = 16; // the cooperative matrices' M = N = K

class CoopSoftmaxGen {
public:
  CoopSoftmaxGen(ImplicitLocOpBuilder &b, GpuEmitter &g, AttentionOp op, VulkanConfigAttr config)
      : b(b), e(b, /*guardEmptyLoops=*/true), g(g), s(op) {
    lanes = config.getSubgroupSize();
    teams = config.getTeams();
    blockK = config.getBlockK();
    shape = SimtWorkgroupShape::get(simtConfig(config), s.group);
    MLIRContext *ctx = b.getContext();
    Type f16 = Float16Type::get(ctx), f32 = Float32Type::get(ctx);
    aType = gpu::MMAMatrixType::get({kTile, kTile}, f16, "AOp");
    bType = gpu::MMAMatrixType::get({kTile, kTile}, f16, "BOp");
    cType = gpu::MMAMatrixType::get({kTile, kTile}, f32, "COp");
  }

  void emit(gpu::GPUFuncOp fn);

private:
  Value shared(int64_t count, Type type) {
    auto memref =
        MemRefType::get({count}, type, MemRefLayoutAttrInterface(), b.getI64IntegerAttr(3));
    return b.create<memref::AllocOp>(memref);
  }
  Value load(Type type, Value memref, Value at, int64_t ld, bool transpose = false) {
    auto op = b.create<gpu::SubgroupMmaLoadMatrixOp>(
        type, memref, ValueRange{at}, b.getIndexAttr(ld), transpose ? b.getUnitAttr() : UnitAttr());
    return op.getResult();
  }
  void store(Value matrix, Value memref, Value at, int64_t ld) {
    b.create<gpu::SubgroupMmaStoreMatrixOp>(matrix, memref, ValueRange{at}, b.getIndexAttr(ld),
                                            UnitAttr());
  }
  Value mma(Value a, Value bm, Value c) {
    return b.create<gpu::SubgroupMmaComputeOp>(cType, a, bm, c, UnitAttr(), UnitAttr()).getResult();
  }

  void stageTile(Value j0, Value n);
  void scores();
  void softmaxRows(Value j0, Value n);
  void accumulate();
  void writeRows();

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  GpuEmitter &g;
  SoftmaxSpec s;
  int64_t lanes, teams, blockK;
  SimtWorkgroupShape shape;
  gpu::MMAMatrixType aType, bType, cType;

  Value q, k, v, o, lse, ent;
  Value tid, lane, team, bIdx, head, kvHead, teamHead;
  TensorAddress qAddr, kAddr, vAddr, oAddr;
  Value lseOffset, entropyOffset, seqQ, scale;
  Value qs, ks, vs, ss, ps, os, mrow, lrow, trow; // shared memory
  Value i0, rows, pmin;                           // the query block
};

void CoopSoftmaxGen::stageTile(Value j0, Value n) {
  Value invocations = e.index(teams * lanes);
  auto stage = [&](Value src, const TensorAddress &addr, Value dst, int64_t dim) {
    e.loop(tid, e.index(blockK * dim), invocations, [&](Value idx) {
      Value j = e.divs(idx, e.index(dim)), d = e.rems(idx, e.index(dim));
      Value x = e.ifThenElse(
          e.cmpi(CmpIPredicate::slt, j, n), b.getF16Type(),
          [&] {
            Value at = e.add(addr.at(e, bIdx, e.add(j0, j), kvHead), d);
            return SmallVector<Value>{b.create<memref::LoadOp>(src, ValueRange{at})};
          },
          [&] {
            return SmallVector<Value>{
                b.create<arith::ConstantOp>(b.getF16FloatAttr(0.0)).getResult()};
          })[0];
      b.create<memref::StoreOp>(x, dst, ValueRange{idx});
    });
  };
  stage(k, kAddr, ks, s.headDim);
  stage(v, vAddr, vs, s.headDimV);
}

/// S[team] = Q[team] Kᵀ, subtile by subtile of 16 keys, over the head dim in 16-wide steps.
void CoopSoftmaxGen::scores() {
  Value qBase = e.mul(team, e.index(kTile * s.headDim));
  Value sBase = e.mul(team, e.index(kTile * blockK));
  Value zero = b.create<arith::ConstantOp>(b.getF32FloatAttr(0.0));
  for (int64_t sub = 0; sub < blockK / kTile; ++sub) {
    Value acc = b.create<gpu::SubgroupMmaConstantMatrixOp>(cType, zero);
    for (int64_t d = 0; d < s.headDim; d += kTile) {
      Value a = load(aType, qs, e.add(qBase, e.index(d)), s.headDim);
      // Kᵀ: the tile's rows are keys, read column-major as the B operand.
      Value kt = load(bType, ks, e.index(sub * kTile * s.headDim + d), s.headDim,
                      /*transpose=*/true);
      acc = mma(a, kt, acc);
    }
    store(acc, ss, e.add(sBase, e.index(sub * kTile)), blockK);
  }
}

/// The online-softmax step for row r = lane (< 16) of the team: P in f16, state and O rows
/// rescaled in shared memory.
void CoopSoftmaxGen::softmaxRows(Value j0, Value n) {
  Value negInf = e.f32(-std::numeric_limits<double>::infinity()), zero = e.f32(0.0);
  e.ifThen(e.cmpi(CmpIPredicate::slt, lane, e.index(kTile)), [&] {
    Value r = lane;
    Value rowAt = e.add(e.mul(team, e.index(kTile)), r);
    Value pos = e.add(pmin, r);
    Value rowValid = e.cmpi(CmpIPredicate::slt, r, rows);
    Value sBase = e.mul(rowAt, e.index(blockK));
    auto score = [&](Value j) {
      Value x = e.mulf(b.create<memref::LoadOp>(ss, ValueRange{e.add(sBase, j)}), scale);
      if (s.softcap) {
        Value cap = e.f32(*s.softcap);
        x = e.mulf(cap, b.create<math::TanhOp>(e.divf(x, cap)));
      }
      Value valid = e.andi(rowValid, e.cmpi(CmpIPredicate::slt, j, n));
      if (s.mask.masked())
        valid = e.andi(
            valid, keyVisible(e, s.mask, e.add(j0, j), pos, [&](int64_t c) { return e.index(c); }));
      return std::pair<Value, Value>{e.select(valid, x, negInf), valid};
    };
    Value tileMax = e.loop(e.index(0), e.index(blockK), e.index(1), ValueRange{negInf},
                           [&](Value j, ValueRange acc) {
                             return SmallVector<Value>{e.maxf(acc[0], score(j).first)};
                           })[0];
    Value m = b.create<memref::LoadOp>(mrow, ValueRange{rowAt});
    OnlineStep step = onlineSoftmaxStep(e, m, tileMax, negInf, zero);
    SmallVector<Value> sums = e.loop(
        e.index(0), e.index(blockK), e.index(1), ValueRange{zero, zero},
        [&](Value j, ValueRange acc) {
          auto [x, valid] = score(j);
          Value p = b.create<math::ExpOp>(e.subf(x, step.shift));
          Value half = b.create<arith::TruncFOp>(b.getF16Type(), p);
          b.create<memref::StoreOp>(half, ps, ValueRange{e.add(sBase, j)});
          // The sums use the rounded P that P V uses.
          Value rounded = b.create<arith::ExtFOp>(b.getF32Type(), half);
          return SmallVector<Value>{e.addf(acc[0], rounded),
                                    e.addf(acc[1], e.select(valid, e.mulf(rounded, x), zero))};
        });
    Value l = b.create<memref::LoadOp>(lrow, ValueRange{rowAt});
    b.create<memref::StoreOp>(e.addf(e.mulf(l, step.rescale), sums[0]), lrow, ValueRange{rowAt});
    if (s.entropy) {
      Value t = b.create<memref::LoadOp>(trow, ValueRange{rowAt});
      b.create<memref::StoreOp>(e.addf(e.mulf(t, step.rescale), sums[1]), trow, ValueRange{rowAt});
    }
    b.create<memref::StoreOp>(step.newMax, mrow, ValueRange{rowAt});
    Value oBase = e.mul(rowAt, e.index(s.headDimV));
    e.loop(e.index(0), e.index(s.headDimV), e.index(1), [&](Value dv) {
      Value at = e.add(oBase, dv);
      Value x = b.create<memref::LoadOp>(os, ValueRange{at});
      b.create<memref::StoreOp>(e.mulf(x, step.rescale), os, ValueRange{at});
    });
  });
}

/// O[team] += P[team] V, one 16-column block of O at a time.
void CoopSoftmaxGen::accumulate() {
  Value oBase = e.mul(team, e.index(kTile * s.headDimV));
  Value pBase = e.mul(team, e.index(kTile * blockK));
  for (int64_t c = 0; c < s.headDimV; c += kTile) {
    Value at = e.add(oBase, e.index(c));
    Value acc = load(cType, os, at, s.headDimV);
    for (int64_t sub = 0; sub < blockK / kTile; ++sub) {
      Value p = load(aType, ps, e.add(pBase, e.index(sub * kTile)), blockK);
      Value vt = load(bType, vs, e.index(sub * kTile * s.headDimV + c), s.headDimV);
      acc = mma(p, vt, acc);
    }
    store(acc, os, at, s.headDimV);
  }
}

void CoopSoftmaxGen::writeRows() {
  e.ifThen(e.cmpi(CmpIPredicate::slt, lane, rows), [&] {
    Value r = lane, row = e.add(i0, lane);
    Value rowAt = e.add(e.mul(team, e.index(kTile)), r);
    Value m = b.create<memref::LoadOp>(mrow, ValueRange{rowAt});
    Value l = b.create<memref::LoadOp>(lrow, ValueRange{rowAt});
    Value t = s.entropy ? b.create<memref::LoadOp>(trow, ValueRange{rowAt}).getResult() : Value();
    RowResult result = finalizeRow(e, m, l, t);
    Value out = oAddr.at(e, bIdx, row, head);
    Value oBase = e.mul(rowAt, e.index(s.headDimV));
    e.loop(e.index(0), e.index(s.headDimV), e.index(1), [&](Value dv) {
      Value x = b.create<memref::LoadOp>(os, ValueRange{e.add(oBase, dv)});
      g.storeF32(e.mulf(x, result.inverseSum), o, e.add(out, dv), s.elementType);
    });
    Value stat = e.add(e.mul(e.add(e.mul(bIdx, e.index(s.group * s.headsKv)), head), seqQ), row);
    if (s.lse)
      b.create<memref::StoreOp>(result.lse, lse, ValueRange{e.add(lseOffset, stat)});
    if (s.entropy)
      b.create<memref::StoreOp>(result.entropy, ent, ValueRange{e.add(entropyOffset, stat)});
  });
}

void CoopSoftmaxGen::emit(gpu::GPUFuncOp fn) {
  q = fn.getArgument(0), k = fn.getArgument(1), v = fn.getArgument(2), o = fn.getArgument(3);
  lse = fn.getArgument(4), ent = fn.getArgument(5);
  Value seqlensQ = fn.getArgument(6), seqlensKv = fn.getArgument(7);
  auto param = [&](int64_t i) { return g.param(i); };
  seqQ = param(ATTN_GPU_PARAM_SEQ_Q);
  Value seqKv = param(ATTN_GPU_PARAM_SEQ_KV), zeroIndex = e.index(0);
  scale = g.launchScale();
  qAddr = g.tensorAddress(ATTN_GPU_PARAM_Q);
  kAddr = g.tensorAddress(ATTN_GPU_PARAM_K);
  vAddr = g.tensorAddress(ATTN_GPU_PARAM_V);
  oAddr = g.tensorAddress(ATTN_GPU_PARAM_O);
  lseOffset = param(ATTN_GPU_PARAM_LSE);
  entropyOffset = param(ATTN_GPU_PARAM_ENTROPY);

  tid = b.create<gpu::ThreadIdOp>(gpu::Dimension::x);
  lane = e.rems(tid, e.index(lanes));
  team = e.divs(tid, e.index(lanes));
  bIdx = b.create<gpu::BlockIdOp>(gpu::Dimension::z);
  Value y = b.create<gpu::BlockIdOp>(gpu::Dimension::y);
  kvHead = e.divs(y, e.index(shape.chunks));
  Value headInGroup = e.add(e.mul(e.rems(y, e.index(shape.chunks)), e.index(shape.heads)), team);
  head = e.add(e.mul(kvHead, e.index(s.group)), headInGroup);
  teamHead = e.andi(e.cmpi(CmpIPredicate::slt, team, e.index(shape.heads)),
                    e.cmpi(CmpIPredicate::slt, headInGroup, e.index(s.group)));
  Value lq = g.queryLength(seqlensQ, bIdx, seqQ);
  Value lkv = g.keyLength(seqlensKv, bIdx, seqKv);

  Type f16 = b.getF16Type(), f32 = b.getF32Type();
  qs = shared(teams * kTile * s.headDim, f16);
  ks = shared(blockK * s.headDim, f16);
  vs = shared(blockK * s.headDimV, f16);
  ss = shared(teams * kTile * blockK, f32);
  ps = shared(teams * kTile * blockK, f16);
  os = shared(teams * kTile * s.headDimV, f32);
  mrow = shared(teams * kTile, f32);
  lrow = shared(teams * kTile, f32);
  trow = shared(teams * kTile, f32);

  Value blocks = e.ceildiv(seqQ, e.index(kTile));
  Value first = b.create<gpu::BlockIdOp>(gpu::Dimension::x);
  Value stride = b.create<gpu::GridDimOp>(gpu::Dimension::x);
  e.loop(first, blocks, stride, [&](Value qb) {
    i0 = e.mul(qb, e.index(kTile));
    e.ifThen(e.cmpi(CmpIPredicate::slt, i0, lq), [&] { // uniform: barriers inside
      rows = e.mins(e.index(kTile), e.sub(lq, i0));
      pmin = e.add(i0, e.sub(lkv, lq));
      Value pmax = e.sub(e.add(pmin, rows), e.index(1));
      g.barrier();
      // The team's 16 query rows (zero past the block) and fresh row state and output rows.
      e.ifThen(teamHead, [&] {
        Value qBase = e.mul(team, e.index(kTile * s.headDim));
        e.loop(lane, e.index(kTile * s.headDim), e.index(lanes), [&](Value idx) {
          Value r = e.divs(idx, e.index(s.headDim)), d = e.rems(idx, e.index(s.headDim));
          Value x = e.ifThenElse(
              e.cmpi(CmpIPredicate::slt, r, rows), f16,
              [&] {
                Value at = e.add(qAddr.at(e, bIdx, e.add(i0, r), head), d);
                return SmallVector<Value>{b.create<memref::LoadOp>(q, ValueRange{at})};
              },
              [&] {
                return SmallVector<Value>{
                    b.create<arith::ConstantOp>(b.getF16FloatAttr(0.0)).getResult()};
              })[0];
          b.create<memref::StoreOp>(x, qs, ValueRange{e.add(qBase, idx)});
        });
        Value oBase = e.mul(team, e.index(kTile * s.headDimV));
        e.loop(lane, e.index(kTile * s.headDimV), e.index(lanes), [&](Value idx) {
          b.create<memref::StoreOp>(e.f32(0.0), os, ValueRange{e.add(oBase, idx)});
        });
        e.ifThen(e.cmpi(CmpIPredicate::slt, lane, e.index(kTile)), [&] {
          Value rowAt = e.add(e.mul(team, e.index(kTile)), lane);
          b.create<memref::StoreOp>(e.f32(-std::numeric_limits<double>::infinity()), mrow,
                                    ValueRange{rowAt});
          b.create<memref::StoreOp>(e.f32(0.0), lrow, ValueRange{rowAt});
          b.create<memref::StoreOp>(e.f32(0.0), trow, ValueRange{rowAt});
        });
      });
      KeyRange range = visibleKeys(e, s.mask, pmin, pmax, zeroIndex, lkv);
      forEachTile(e, range, blockK, [&](Value j0, Value n) {
        g.barrier(); // every team is done with the previous tile (and its Q rows are staged)
        stageTile(j0, n);
        g.barrier();
        e.ifThen(teamHead, [&] { scores(); });
        g.barrier(); // S visible to the lanes that own its rows
        e.ifThen(teamHead, [&] { softmaxRows(j0, n); });
        g.barrier(); // P and the rescaled O rows visible to the matrix loads
        e.ifThen(teamHead, [&] { accumulate(); });
      });
      g.barrier();
      e.ifThen(teamHead, [&] { writeRows(); });
    });
  });
  b.create<gpu::ReturnOp>();
}

} // namespace

void mlir::attn::buildVulkanCoopSoftmaxKernel(OpBuilder &builder, AttentionOp op,
                                              VulkanConfigAttr config) {
  SoftmaxSpec spec(op);
  MLIRContext *ctx = builder.getContext();
  Type elt = storageType(spec.elementType), f32 = Float32Type::get(ctx);
  Type i32 = IntegerType::get(ctx, 32);
  // ... seqlens_q, seqlens_kv, then alibi_slopes, sinks and block_table (the ABI's; this kernel
  // takes none of them: coopmatFits keeps such problems on the SIMT kernel).
  SmallVector<Type> args = {buffer(elt), buffer(elt), buffer(elt), buffer(elt),
                            buffer(f32), buffer(f32), buffer(i32), buffer(i32),
                            buffer(f32), buffer(f32), buffer(i32)};
  VulkanKernelTarget target;
  gpu::GPUFuncOp fn = target.createKernel(builder, op.getLoc(), kGpuMainName, args,
                                          config.getTeams() * config.getSubgroupSize());
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&fn.getBody().front());
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  std::unique_ptr<GpuEmitter> g = target.emitter(b, fn, args.size());
  CoopSoftmaxGen(b, *g, op, config).emit(fn);
}
