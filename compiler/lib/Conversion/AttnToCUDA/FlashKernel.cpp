//===- FlashKernel.cpp - FlashAttention-2-style prefill on tensor cores ---===//
//
// A CTA of W warps owns 16 W rows of the packed axis (query row i, head h of a GQA group) of one
// kv head: packed row r = i * G + h, so every K/V tile it stages serves all the heads of the
// group. Per CTA:
//   - its Q rows go to shared memory once (cp.async, 16-byte chunks);
//   - K/V tiles of block_n keys stream through a ring of `stages` buffers in shared memory:
//     tile t + stages - 1 is fetched (cp.async, zero-filled past the range) while tile t is
//     computed; one commit group per tile (empty when there is none) keeps the wait counts
//     uniform;
//   - warp w computes S = Q Kᵀ for its 16 rows with mma.sync m16n8k16 (f32 accumulators) on
//     ldmatrix fragments, then the online softmax on the accumulator fragments in log2 units
//     (each thread holds rows lane / 4 and lane / 4 + 8; a row's max is reduced over the four
//     lanes that share it by xor shuffles, its sum stays per thread until the end), and
//     O += P V with P's fragments rounded to the input type and reused as the A operand, V
//     through ldmatrix.trans. O is rescaled once per tile.
// Tile classes come from the mask (Conversion/Common): invisible tiles are never visited, and
// only tiles that are not fully visible (or are short) mask element by element. Every row of
// shared memory is padded by 8 elements, so that the 8 rows an ldmatrix reads fall in 8 distinct
// bank groups for every head dim. The decode variant is the same code with one warp per CTA over
// one KV split, writing f32 partials and their LSE for attn_merge.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpFPredicate;
using arith::CmpIPredicate;

namespace {

/// A 16 x 8 f32 accumulator fragment: c0, c1 in row lane / 4, c2, c3 in row lane / 4 + 8, at
/// columns 2 (lane % 4) and 2 (lane % 4) + 1.
using Frag = std::array<Value, 4>;

class FlashGen {
public:
  FlashGen(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn, AttentionOp op, CUDAConfigAttr config,
           bool decode)
      : b(b), e(b), fn(fn), s(op), decode(decode) {
    warps = decode ? 1 : config.getWarps();
    blockM = kCUDARowsPerWarp * warps;
    blockN = config.getBlockN();
    stages = config.getStages();
    threads = kCUDAWarpSize * warps;
    ldk = s.headDim + 8;
    ldv = s.headDimV + 8;
    bf16 = s.elementType.isBF16();
  }

  void emit();

private:
  Value param(int64_t i) { return e.indexCast(fn.getArgument(numBuffers + i)); }
  TensorAddress address(int64_t first) {
    return {param(first), param(first + 1), param(first + 2), param(first + 3)};
  }
  Value batchLength(int64_t flag, int64_t offset, Value lens, Value full);
  Value i32(Value index) { return b.create<arith::IndexCastOp>(b.getI32Type(), index); }

  /// Copies rows [0, rows) x `dim` of a tile (16-byte chunks) into `dst` (row stride `ld`);
  /// row r comes from `source(r)` = (element offset, valid); invalid rows are zero-filled.
  void copyTile(Value dst, Value dstBase, int64_t rows, int64_t dim, int64_t ld, Value src,
                const std::function<std::pair<Value, Value>(Value)> &source);
  void fetchKV(Value tileIndex, const TileSchedule &schedule);
  Value ldmatrix(Value smem, Value at, bool transpose);
  Value word(Value fragments, int64_t i);
  Value pack(Value lo, Value hi);
  Frag mma(Value a0, Value a1, Value a2, Value a3, Value b0, Value b1, const Frag &c);
  Value shuffleXor(Value x, int64_t mask);

  SmallVector<Value> tile(Value t, const TileSchedule &schedule, ValueRange state);
  void writeRows(ValueRange state);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  gpu::GPUFuncOp fn;
  SoftmaxSpec s;
  bool decode, bf16;
  int64_t warps, blockM, blockN, stages, threads, ldk, ldv;
  unsigned numBuffers = 0;

  Value q, k, v, o, lse, ent;
  Value tid, warp, lane, groupId, tig, bIdx, kvHead, split, batch, seqQ, lq, lkv, offset;
  Value launchScale; // the launch's scale (f32, ATTN_GPU_PARAM_SCALE)
  Value qs, ks, vs;
  TensorAddress qAddr, kAddr, vAddr, oAddr;
  Value rowBase, pmin, pmax, kvBegin, kvEnd;
  // The thread's two rows: packed index, query row, head, position, whether it is a real row.
  Value rowI[2], rowHead[2], rowPos[2], rowValid[2];
};

Value FlashGen::batchLength(int64_t flag, int64_t at, Value lens, Value full) {
  Value has = e.cmpi(CmpIPredicate::ne, param(flag), e.index(0));
  return e.ifThenElse(
      has, b.getIndexType(),
      [&] {
        Value length = e.indexCast(
            b.create<memref::LoadOp>(lens, ValueRange{e.add(param(at), bIdx)}).getResult());
        return SmallVector<Value>{e.mins(e.maxs(length, e.index(0)), full)};
      },
      [&] { return SmallVector<Value>{full}; })[0];
}

void FlashGen::copyTile(Value dst, Value dstBase, int64_t rows, int64_t dim, int64_t ld, Value src,
                        const std::function<std::pair<Value, Value>(Value)> &source) {
  int64_t perRow = dim / 8, chunks = rows * perRow;
  int64_t iterations = (chunks + threads - 1) / threads;
  auto copy = [&](Value it) {
    Value c = e.add(tid, e.mul(it, e.index(threads)));
    Value real = e.cmpi(CmpIPredicate::slt, c, e.index(chunks));
    // Threads past the tile's chunks write zeros into a row's padding (never read).
    Value spare = e.sub(c, e.index(chunks));
    Value row = e.select(real, e.divs(c, e.index(perRow)), e.rems(spare, e.index(rows)));
    Value col = e.select(real, e.rems(c, e.index(perRow)), e.index(perRow));
    std::pair<Value, Value> from = source(row);
    Value at = from.first, valid = from.second;
    Value copy = e.andi(real, valid);
    Value srcElements = e.select(copy, e.index(8), e.index(0));
    Value dstAt = e.add(dstBase, e.add(e.mul(row, e.index(ld)), e.mul(col, e.index(8))));
    Value srcAt = e.add(at, e.mul(e.select(real, col, e.index(0)), e.index(8)));
    b.create<nvgpu::DeviceAsyncCopyOp>(nvgpu::DeviceAsyncTokenType::get(b.getContext()), dst,
                                       ValueRange{dstAt}, src, ValueRange{srcAt}, b.getIndexAttr(8),
                                       srcElements, b.getUnitAttr());
  };
  // Unrolled when short; a loop when one warp copies a whole tile (decode), whose unrolled
  // address arithmetic would otherwise stay live across the tile loop and spill.
  if (iterations <= 8) {
    for (int64_t it = 0; it < iterations; ++it)
      copy(e.index(it));
  } else {
    e.loop(e.index(0), e.index(iterations), e.index(1), [&](Value it) { copy(it); });
  }
}

void FlashGen::fetchKV(Value tileIndex, const TileSchedule &schedule) {
  e.ifThen(e.cmpi(CmpIPredicate::slt, tileIndex, schedule.count), [&] {
    std::pair<Value, Value> first = schedule.tile(e, tileIndex);
    Value j0 = first.first, n = first.second;
    Value stage = e.rems(tileIndex, e.index(stages));
    Value last = e.sub(e.add(j0, n), e.index(1));
    auto source = [&](const TensorAddress &addr) {
      return [&, addr](Value row) -> std::pair<Value, Value> {
        Value key = e.add(j0, row);
        Value valid = e.cmpi(CmpIPredicate::slt, row, n);
        return {addr.at(e, bIdx, e.mins(key, last), kvHead), valid};
      };
    };
    copyTile(ks, e.mul(stage, e.index(blockN * ldk)), blockN, s.headDim, ldk, k, source(kAddr));
    copyTile(vs, e.mul(stage, e.index(blockN * ldv)), blockN, s.headDimV, ldv, v, source(vAddr));
  });
  b.create<NVVM::CpAsyncCommitGroupOp>();
}

Value FlashGen::ldmatrix(Value smem, Value at, bool transpose) {
  auto type = VectorType::get({4, 2}, b.getF16Type());
  return b.create<nvgpu::LdMatrixOp>(type, smem, ValueRange{at}, transpose, 4);
}

Value FlashGen::word(Value fragments, int64_t i) {
  Value pair = b.create<vector::ExtractOp>(fragments, ArrayRef<int64_t>{i});
  Value bits = b.create<vector::BitCastOp>(VectorType::get({1}, b.getI32Type()), pair);
  return b.create<vector::ExtractOp>(bits, ArrayRef<int64_t>{0});
}

Value FlashGen::pack(Value lo, Value hi) {
  Type half = bf16 ? Type(b.getBF16Type()) : Type(b.getF16Type());
  auto pairType = VectorType::get({2}, half);
  Value pair = b.create<arith::ConstantOp>(
      DenseElementsAttr::get(pairType, ArrayRef<Attribute>{b.getFloatAttr(half, 0.0)}));
  pair =
      b.create<vector::InsertOp>(b.create<arith::TruncFOp>(half, lo), pair, ArrayRef<int64_t>{0});
  pair =
      b.create<vector::InsertOp>(b.create<arith::TruncFOp>(half, hi), pair, ArrayRef<int64_t>{1});
  Value bits = b.create<vector::BitCastOp>(VectorType::get({1}, b.getI32Type()), pair);
  return b.create<vector::ExtractOp>(bits, ArrayRef<int64_t>{0});
}

Frag FlashGen::mma(Value a0, Value a1, Value a2, Value a3, Value b0, Value b1, const Frag &c) {
  // MLIR 19's nvgpu/nvvm mma.sync cannot type bf16 operands (../shared/GPU.md): both types use
  // the PTX instruction directly, operands as 32-bit registers holding two 16-bit values.
  std::string type = bf16 ? "bf16" : "f16";
  std::string text = "mma.sync.aligned.m16n8k16.row.col.f32." + type + "." + type +
                     ".f32 {$0,$1,$2,$3}, {$4,$5,$6,$7}, {$8,$9}, {$10,$11,$12,$13};";
  Type f32 = b.getF32Type();
  auto result = LLVM::LLVMStructType::getLiteral(b.getContext(), {f32, f32, f32, f32});
  auto asmOp = b.create<LLVM::InlineAsmOp>(
      result, ValueRange{a0, a1, a2, a3, b0, b1, c[0], c[1], c[2], c[3]}, text,
      "=f,=f,=f,=f,r,r,r,r,r,r,0,1,2,3", /*has_side_effects=*/false, /*is_align_stack=*/false,
      LLVM::AsmDialectAttr::get(b.getContext(), LLVM::AsmDialect::AD_ATT), ArrayAttr());
  Frag out;
  for (int64_t i = 0; i < 4; ++i)
    out[i] = b.create<LLVM::ExtractValueOp>(asmOp.getResult(0), ArrayRef<int64_t>{i});
  return out;
}

Value FlashGen::shuffleXor(Value x, int64_t mask) {
  return b.create<gpu::ShuffleOp>(x, e.i32(mask), e.i32(kCUDAWarpSize), gpu::ShuffleMode::XOR)
      .getResult(0);
}

void FlashGen::emit() {
  q = fn.getArgument(0), k = fn.getArgument(1), v = fn.getArgument(2), o = fn.getArgument(3);
  lse = fn.getArgument(4);
  unsigned next = 5;
  if (!decode)
    ent = fn.getArgument(next++);
  Value seqlensQ = fn.getArgument(next++), seqlensKv = fn.getArgument(next++);
  next += 3; // alibi_slopes, sinks, block_table: the ABI's (the CUDA backend refuses them)
  numBuffers = next;

  batch = param(ATTN_GPU_PARAM_BATCH);
  seqQ = param(ATTN_GPU_PARAM_SEQ_Q);
  Value seqKv = param(ATTN_GPU_PARAM_SEQ_KV);
  launchScale = b.create<arith::BitcastOp>(
      b.getF32Type(),
      b.create<arith::TruncIOp>(b.getI32Type(), fn.getArgument(numBuffers + ATTN_GPU_PARAM_SCALE)));
  qAddr = address(ATTN_GPU_PARAM_Q);
  kAddr = address(ATTN_GPU_PARAM_K);
  vAddr = address(ATTN_GPU_PARAM_V);
  oAddr = address(ATTN_GPU_PARAM_O);

  tid = b.create<gpu::ThreadIdOp>(gpu::Dimension::x);
  warp = e.divs(tid, e.index(kCUDAWarpSize));
  lane = e.rems(tid, e.index(kCUDAWarpSize));
  groupId = e.divs(lane, e.index(4));
  tig = e.rems(lane, e.index(4));
  Value z = b.create<gpu::BlockIdOp>(gpu::Dimension::z);
  if (decode) {
    split = e.divs(z, batch);
    bIdx = e.rems(z, batch);
  } else {
    bIdx = z;
  }
  kvHead = b.create<gpu::BlockIdOp>(gpu::Dimension::y);
  lq = batchLength(ATTN_GPU_PARAM_HAS_SEQLENS_Q, ATTN_GPU_PARAM_SEQLENS_Q, seqlensQ, seqQ);
  lkv = batchLength(ATTN_GPU_PARAM_HAS_SEQLENS_KV, ATTN_GPU_PARAM_SEQLENS_KV, seqlensKv, seqKv);
  offset = e.sub(lkv, lq);
  kvBegin = e.index(0), kvEnd = lkv;
  if (decode) {
    Value chunk = param(ATTN_GPU_PARAM_SPLIT_KEYS);
    kvBegin = e.mins(e.mul(split, chunk), lkv);
    kvEnd = e.mins(e.add(kvBegin, chunk), lkv);
  }

  Type f16 = b.getF16Type();
  int64_t qBytes = 2 * blockM * ldk, kBytes = 2 * stages * blockN * ldk;
  qs = cudaSharedView(b, fn, 0, blockM * ldk, f16);
  ks = cudaSharedView(b, fn, qBytes, stages * blockN * ldk, f16);
  vs = cudaSharedView(b, fn, qBytes + kBytes, stages * blockN * ldv, f16);

  int64_t group = s.group;
  Value G = e.index(group);
  rowBase = e.mul(b.create<gpu::BlockIdOp>(gpu::Dimension::x), e.index(blockM));
  Value packedRows = e.mul(lq, G);
  // Uniform across the CTA: the barriers below are reached by all of its threads.
  e.ifThen(e.cmpi(CmpIPredicate::slt, rowBase, packedRows), [&] {
    Value firstI = e.divs(rowBase, G);
    Value lastI = e.mins(e.divs(e.add(rowBase, e.index(blockM - 1)), G), e.sub(lq, e.index(1)));
    pmin = e.add(firstI, offset);
    pmax = e.add(lastI, offset);
    for (int64_t r = 0; r < 2; ++r) {
      Value packed = e.add(
          rowBase, e.add(e.mul(warp, e.index(kCUDARowsPerWarp)), e.add(groupId, e.index(8 * r))));
      rowI[r] = e.divs(packed, G);
      rowHead[r] = e.add(e.mul(kvHead, G), e.rems(packed, G));
      rowPos[r] = e.add(rowI[r], offset);
      rowValid[r] = e.cmpi(CmpIPredicate::slt, packed, packedRows);
    }

    // Q rows of the CTA (packed order), then the first stages - 1 K/V tiles.
    Value lastQ = e.sub(lq, e.index(1));
    copyTile(qs, e.index(0), blockM, s.headDim, ldk, q, [&](Value row) {
      Value packed = e.add(rowBase, row);
      Value i = e.divs(packed, G), head = e.add(e.mul(kvHead, G), e.rems(packed, G));
      return std::pair<Value, Value>{qAddr.at(e, bIdx, e.mins(i, lastQ), head),
                                     e.cmpi(CmpIPredicate::slt, packed, packedRows)};
    });
    b.create<NVVM::CpAsyncCommitGroupOp>();
    KeyRange range = visibleKeys(e, s.mask, pmin, pmax, kvBegin, kvEnd);
    TileSchedule schedule = tileSchedule(e, range, blockN);
    for (int64_t t = 0; t + 1 < stages; ++t)
      fetchKV(e.index(t), schedule);

    double negInfD = -std::numeric_limits<double>::infinity();
    SmallVector<Value> init = {e.f32(negInfD), e.f32(negInfD), e.f32(0.0),
                               e.f32(0.0),     e.f32(0.0),     e.f32(0.0)};
    init.append(s.headDimV / 2, e.f32(0.0)); // Dv / 8 fragments of 4
    SmallVector<Value> state =
        e.loop(e.index(0), schedule.count, e.index(1), init,
               [&](Value t, ValueRange carried) { return tile(t, schedule, carried); });
    // No copy may be in flight when the CTA exits (Q's, when no tile was visited).
    b.create<NVVM::CpAsyncWaitGroupOp>(uint32_t(0));
    writeRows(state);
  });
  b.create<gpu::ReturnOp>();
}

SmallVector<Value> FlashGen::tile(Value t, const TileSchedule &schedule, ValueRange state) {
  fetchKV(e.add(t, e.index(stages - 1)), schedule);
  // Every group but the newest stages - 1 is complete: Q and tile t are in shared memory.
  b.create<NVVM::CpAsyncWaitGroupOp>(uint32_t(stages - 1));
  b.create<gpu::BarrierOp>();

  std::pair<Value, Value> keys = schedule.tile(e, t);
  Value j0 = keys.first, n = keys.second;
  Value stage = e.rems(t, e.index(stages));
  Value kBase = e.mul(stage, e.index(blockN * ldk));
  Value vBase = e.mul(stage, e.index(blockN * ldv));
  Value l8 = e.rems(lane, e.index(8));
  Value half = e.rems(e.divs(lane, e.index(8)), e.index(2)); // matrices 1 and 3
  Value quarter = e.divs(lane, e.index(16));                 // matrices 2 and 3

  // S = Q Kᵀ for the warp's 16 rows.
  int64_t nTiles = blockN / 8;
  Value zero = e.f32(0.0);
  SmallVector<Frag> acc(nTiles, Frag{zero, zero, zero, zero});
  Value qRow = e.add(e.mul(warp, e.index(kCUDARowsPerWarp)), e.add(l8, e.mul(half, e.index(8))));
  for (int64_t kk = 0; kk < s.headDim / 16; ++kk) {
    Value a = ldmatrix(
        qs, e.add(e.mul(qRow, e.index(ldk)), e.add(e.index(kk * 16), e.mul(quarter, e.index(8)))),
        false);
    Value a0 = word(a, 0), a1 = word(a, 1), a2 = word(a, 2), a3 = word(a, 3);
    for (int64_t np = 0; np < blockN / 16; ++np) {
      Value key = e.add(e.index(np * 16), e.add(e.mul(quarter, e.index(8)), l8));
      Value at = e.add(
          kBase, e.add(e.mul(key, e.index(ldk)), e.add(e.index(kk * 16), e.mul(half, e.index(8)))));
      Value kf = ldmatrix(ks, at, false);
      acc[2 * np] = mma(a0, a1, a2, a3, word(kf, 0), word(kf, 1), acc[2 * np]);
      acc[2 * np + 1] = mma(a0, a1, a2, a3, word(kf, 2), word(kf, 3), acc[2 * np + 1]);
    }
  }

  // Scores in log2 units, softcapped, masked where the tile is not fully visible.
  const double log2e = 1.4426950408889634;
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  SmallVector<Value> scores;
  for (int64_t j = 0; j < nTiles; ++j)
    for (int64_t c = 0; c < 4; ++c) {
      Value x = acc[j][c];
      if (s.softcap) {
        x = e.mulf(e.f32(*s.softcap * log2e),
                   b.create<math::TanhOp>(e.mulf(x, e.divf(launchScale, e.f32(*s.softcap)))));
      } else {
        x = e.mulf(x, e.mulf(launchScale, e.f32(log2e)));
      }
      scores.push_back(x);
    }
  SmallVector<Type> types(scores.size(), b.getF32Type());
  Value full = e.cmpi(CmpIPredicate::eq, n, e.index(blockN));
  if (s.mask.masked())
    full = e.andi(full, tileFullyVisible(e, s.mask, j0, n, pmin, pmax));
  scores = e.ifThenElse(
      full, types, [&] { return scores; },
      [&] {
        SmallVector<Value> masked;
        for (int64_t j = 0; j < nTiles; ++j)
          for (int64_t c = 0; c < 4; ++c) {
            Value col = e.add(e.index(j * 8 + c % 2), e.mul(tig, e.index(2)));
            Value valid = e.cmpi(CmpIPredicate::slt, col, n);
            if (s.mask.masked())
              valid = e.andi(valid, keyVisible(e, s.mask, e.add(j0, col), rowPos[c / 2],
                                               [&](int64_t x) { return e.index(x); }));
            masked.push_back(e.select(valid, scores[j * 4 + c], negInf));
          }
        return masked;
      });

  // The online softmax of the thread's two rows.
  SmallVector<Value> next(state.begin(), state.end());
  Value rescale[2];
  SmallVector<Value> p(scores.size());
  for (int64_t r = 0; r < 2; ++r) {
    Value rowMax = negInf;
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t c = 2 * r; c < 2 * r + 2; ++c)
        rowMax = e.maxf(rowMax, scores[j * 4 + c]);
    rowMax = e.maxf(rowMax, shuffleXor(rowMax, 1));
    rowMax = e.maxf(rowMax, shuffleXor(rowMax, 2));
    OnlineStep step = onlineSoftmaxStep(e, state[r], rowMax, negInf, zero, /*base2=*/true);
    rescale[r] = step.rescale;
    Value sum = zero, weighted = zero;
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t c = 2 * r; c < 2 * r + 2; ++c) {
        Value x = scores[j * 4 + c];
        p[j * 4 + c] = b.create<math::Exp2Op>(e.subf(x, step.shift));
        sum = e.addf(sum, p[j * 4 + c]);
        if (s.entropy) // p = 0 where x = -inf: no 0 * inf
          weighted = e.addf(weighted, e.select(e.cmpf(CmpFPredicate::OGT, p[j * 4 + c], zero),
                                               e.mulf(p[j * 4 + c], x), zero));
      }
    next[r] = step.newMax;
    next[2 + r] = e.addf(e.mulf(state[2 + r], step.rescale), sum);
    if (s.entropy)
      next[4 + r] = e.addf(e.mulf(state[4 + r], step.rescale), weighted);
  }

  // O = O * rescale + P V.
  int64_t oTiles = s.headDimV / 8;
  SmallVector<Frag> out(oTiles);
  for (int64_t d = 0; d < oTiles; ++d)
    for (int64_t c = 0; c < 4; ++c)
      out[d][c] = e.mulf(state[6 + d * 4 + c], rescale[c / 2]);
  for (int64_t ks16 = 0; ks16 < blockN / 16; ++ks16) {
    const Value *p0 = &p[(2 * ks16) * 4], *p1 = &p[(2 * ks16 + 1) * 4];
    Value a0 = pack(p0[0], p0[1]), a1 = pack(p0[2], p0[3]);
    Value a2 = pack(p1[0], p1[1]), a3 = pack(p1[2], p1[3]);
    Value key = e.add(e.index(ks16 * 16), e.add(e.mul(half, e.index(8)), l8));
    for (int64_t dp = 0; dp < s.headDimV / 16; ++dp) {
      Value at = e.add(vBase, e.add(e.mul(key, e.index(ldv)),
                                    e.add(e.index(dp * 16), e.mul(quarter, e.index(8)))));
      Value vf = ldmatrix(vs, at, /*transpose=*/true);
      out[2 * dp] = mma(a0, a1, a2, a3, word(vf, 0), word(vf, 1), out[2 * dp]);
      out[2 * dp + 1] = mma(a0, a1, a2, a3, word(vf, 2), word(vf, 3), out[2 * dp + 1]);
    }
  }
  for (int64_t d = 0; d < oTiles; ++d)
    for (int64_t c = 0; c < 4; ++c)
      next[6 + d * 4 + c] = out[d][c];
  // Every warp is done with this stage before a later fetch overwrites it.
  b.create<gpu::BarrierOp>();
  return next;
}

void FlashGen::writeRows(ValueRange state) {
  const double ln2 = 0.6931471805599453;
  Value heads = e.index(s.group * s.headsKv);
  Type outType = decode ? b.getF32Type() : s.elementType;
  std::unique_ptr<GpuEmitter> store = CUDAKernelTarget().emitter(b, fn, numBuffers);
  for (int64_t r = 0; r < 2; ++r) {
    Value l = state[2 + r], t = state[4 + r];
    l = e.addf(l, shuffleXor(l, 1));
    l = e.addf(l, shuffleXor(l, 2));
    if (s.entropy) {
      t = e.addf(t, shuffleXor(t, 1));
      t = e.addf(t, shuffleXor(t, 2));
    }
    Value m = e.mulf(state[r], e.f32(ln2));
    RowResult result = finalizeRow(e, m, l, s.entropy ? e.mulf(t, e.f32(ln2)) : Value());
    e.ifThen(rowValid[r], [&] {
      Value i = rowI[r], head = rowHead[r];
      Value outBase, statIndex;
      if (decode) {
        // o_parts [P * B, Sq, Hq, Dv] and lse_parts [P * B, Hq, Sq], contiguous.
        Value part = e.add(e.mul(split, batch), bIdx);
        outBase =
            e.mul(e.add(e.mul(e.add(e.mul(part, seqQ), i), heads), head), e.index(s.headDimV));
        statIndex = e.add(e.mul(e.add(e.mul(part, heads), head), seqQ), i);
      } else {
        outBase = oAddr.at(e, bIdx, i, head);
        statIndex = e.add(e.mul(e.add(e.mul(bIdx, heads), head), seqQ), i);
      }
      for (int64_t d = 0; d < s.headDimV / 8; ++d)
        for (int64_t c = 2 * r; c < 2 * r + 2; ++c) {
          Value col = e.add(e.index(d * 8 + c % 2), e.mul(tig, e.index(2)));
          store->storeF32(e.mulf(state[6 + d * 4 + c], result.inverseSum), o, e.add(outBase, col),
                          outType);
        }
      bool writeLse = decode || s.lse;
      if (!writeLse && !s.entropy)
        return;
      e.ifThen(e.cmpi(CmpIPredicate::eq, tig, e.index(0)), [&] {
        Value lseAt = decode ? statIndex : e.add(param(ATTN_GPU_PARAM_LSE), statIndex);
        if (writeLse)
          b.create<memref::StoreOp>(result.lse, lse, ValueRange{lseAt});
        if (s.entropy && !decode)
          b.create<memref::StoreOp>(result.entropy, ent,
                                    ValueRange{e.add(param(ATTN_GPU_PARAM_ENTROPY), statIndex)});
      });
    });
  }
}

} // namespace

void mlir::attn::buildCUDAFlashKernel(OpBuilder &builder, AttentionOp op, CUDAConfigAttr config,
                                      bool decode) {
  SoftmaxSpec spec(op);
  MLIRContext *ctx = builder.getContext();
  CUDAKernelTarget target;
  // Q, K and V are read as 16-bit bit patterns only (cp.async, ldmatrix): f16 buffers for bf16
  // too. O is stored in its storage type (bf16 as i16).
  Type half = Float16Type::get(ctx), f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  auto buf = [&](Type t) -> Type { return target.buffer(t); };
  SmallVector<Type> args = {buf(half), buf(half), buf(half)};
  if (decode)
    args.append({buf(f32), buf(f32)});
  else
    args.append({buf(storageType(spec.elementType)), buf(f32), buf(f32)});
  // seqlens, alibi_slopes, sinks, block_table
  args.append({buf(i32), buf(i32), buf(f32), buf(f32), buf(i32)});
  int64_t warps = decode ? 1 : config.getWarps();
  gpu::GPUFuncOp fn = target.createKernel(
      builder, op.getLoc(), decode ? kGpuDecodeName : kGpuMainName, args, warps * kCUDAWarpSize);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&fn.getBody().front());
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  FlashGen(b, fn, op, config, decode).emit();
}
