//===- SoftmaxKernel.cpp - flash-style softmax attention for the CPU ------===//
//
// One work item is (batch b, kv head g, block of query rows): the "virtual rows" of the item are
// blockQ query rows of each of the G = Hq / Hkv query heads of group g, so every K/V element loaded
// serves all heads of the group (grouped-query attention's saving). The rows are the vector lanes:
//   Qt [D, Mp]   queries of the item, transposed and pre-scaled, packed once per item;
//   St [Bk, Mp]  scores, then probabilities, of one K/V tile (keys are rows, queries are lanes);
//   Ot [Dv, Mp]  the unnormalized output accumulator; m, l, t [Mp] the online-softmax state.
// With queries along the lanes, S = K·Qᵀ and O += V·P are both "broadcast one K/V scalar, FMA a
// vector of queries": K and V are read straight from the caller's buffer (f32) or from a tile
// converted once to f32 (f16/bf16), no transposition on the K/V path, and the row max and sum
// of online softmax are lane-wise (no horizontal reductions).
//
// Masks become tile classes: the K/V range of an item is clipped to the keys its rows can see
// (causal, band), global keys are visited as their own tiles, and a tile whose every key is
// visible to every row skips per-element masking.
//
// With config.amx (bf16), both products run on AMX tiles (TDPBF16PS: C[16x16] f32 += A[16x32]
// bf16 x B[32x16] bf16, B stored as pairs of rows, "VNNI") in the same transposed layout, so the
// softmax, the masks and the epilogue are shared:
//   St[keys, queries] = K · Qᵀ   A = the K tile (copied, zero past its end); B = Qᵀ as pairs of
//                                head dims per query, packed once per item (raw, unscaled: the
//                                scale is applied in f32 by the softmax);
//   Ot[Dv, queries] += Vᵀ · P    A = Vᵀ (pairs of keys per head dim: two consecutive V rows
//                                interleaved, then transposed as 32-bit pairs); B = P rounded
//                                to bf16 (SPEC §2) as pairs of keys per query.
// The per-tile packing of K and V is shared by every row of the item; items hold 128 rows.
//
// With config.dpbf16 (bf16, AVX512-BF16, no AMX), both products run on VDPBF16PS (16 f32 lanes
// += pairs of bf16 products) in the vector kernel's register blocks, with the AMX path's pair
// layouts: queries are the lanes, and each lane takes a pair of consecutive head dims (Q·K) or
// keys (P·V):
//   St[key, :] += K[key, 2d : 2d + 2] (one 32-bit pair broadcast from the caller's K, unpacked)
//                 · qvnni[d]          (Qᵀ as pairs of head dims per query, raw, unscaled);
//   Ot[dv, :]  += vPairs[r][dv]       (V[2r][dv], V[2r + 1][dv] as one 32-bit pair, per tile)
//                 · pvnni[r]          (P rounded to bf16, pairs of keys per query, SPEC §2).
// Half the instructions of the f32 FMAs for the same products, and no f32 copy of K or V.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/AMX/AMXDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#include <cmath>
#include <functional>
#include <limits>

using namespace mlir;
using namespace mlir::attn;

namespace {

using arith::CmpFPredicate;
using arith::CmpIPredicate;

/// A permutation interleaving two vectors of `n` lanes: a0 b0 a1 b1 ...
SmallVector<int64_t> interleaveMask(int64_t n) {
  SmallVector<int64_t> mask;
  for (int64_t i = 0; i < n; ++i) {
    mask.push_back(i);
    mask.push_back(n + i);
  }
  return mask;
}

class SoftmaxKernelGen {
public:
  SoftmaxKernelGen(ImplicitLocOpBuilder &b, const SoftmaxSpec &spec, const CPUKernelConfig &config)
      : b(b), e(b), s(spec), blockQ(config.blockQ), blockK(config.blockK),
        width(config.vectorWidth), amx(config.amx != 0), dp(config.dpbf16 != 0 && !amx) {
    vnni = amx || dp;
    rowsPerItem = blockQ * s.group;
    paddedRows = llvm::divideCeil(rowsPerItem, width) * width;
    chunks = paddedRows / width;
    f32 = b.getF32Type();
    vecF32 = VectorType::get({width}, f32);
    vecI32 = VectorType::get({width}, b.getI32Type());
    // f32 K/V are read in place: packing them costs more than the strided broadcasts (measured:
    // 80 vs 90 GFLOP/s at D = 128). f16/bf16 tiles are converted to f32 once per tile, and so
    // are f32 tiles of a paged cache: in place, every key's page would be looked up in the inner
    // loops (once per key and output block).
    // VDPBF16PS and AMX read bf16 K and V in their pair layouts instead.
    packedKV = (!s.elementType.isF32() || s.pageSize) && !vnni;
    // Their scores come out unscaled; the softmax scales them in f32 (softcap and ALiBi first:
    // their passes scale them instead).
    scaleScores = vnni && !s.softcap && !s.alibi;
    // Register blocking: rowBlock x chunkBlock accumulators, plus the chunkBlock query (or P)
    // vectors and one broadcast, within the register file (at most 24 accumulators, rowBlock
    // at most 8). A product covers the item's chunks chunkBlock at a time: the group (a divisor
    // of chunks; the widest among equals) with the most accumulators. AVX-512's 32 zmm: all 4
    // chunks x 6. AVX2's 16 ymm: 2 chunks x 6, where all 4 chunks would leave 4 x 2: 8 FMA
    // chains barely cover the FMA latency, and Qt and P are re-read per pair of keys or head dims
    // (measured on Zen 3: +6% bf16, +18% f32, +29% GQA f32). The VDPBF16PS path keeps all chunks.
    int64_t registers = vectorRegistersFor(width);
    auto keysFor = [&](int64_t cb) {
      return std::clamp<int64_t>(std::min<int64_t>(24, registers - cb - 2) / cb, 1, 8);
    };
    chunkBlock = chunks;
    if (!dp)
      for (int64_t cb = chunks - 1; cb >= 1; --cb)
        if (chunks % cb == 0 && keysFor(cb) * cb > keysFor(chunkBlock) * chunkBlock)
          chunkBlock = cb;
    rowBlock = keysFor(chunkBlock);
  }

  void emit(func::FuncOp fn);

private:
  void allocScratch();
  void emitItem(Value item);
  void forEachItemRow(const std::function<void(Value r, Value row, Value head, Value valid)> &pack);
  void packQueries();
  void initState();
  void visitTile(Value j0, Value n);
  void packKV(Value j0, Value n);
  void computeScores(Value j0, Value n);
  void scoreBlock(Value j0, Value jb, int64_t keys, int64_t c0, int64_t cs);
  void capScores(Value n);
  void biasScores(Value j0, Value n);
  void maskScores(Value j0, Value n);
  void updateSoftmax(Value n);
  void accumulateOutput(Value j0, Value n);
  void outputBlock(Value j0, Value n, Value dvb, int64_t count, int64_t c0, int64_t cs);
  void writeOutputs();
  // The pair layouts of the AMX and VDPBF16PS paths, and the AMX path (config.amx).
  void packQueriesVnni();
  void packVPairs(Value j0, Value n, Value pairs);
  Value loadKPair(KvRow row, Value d2);
  void packKAmx(Value j0, Value n);
  void transposeVAmx();
  void computeScoresAmx();
  void accumulateOutputAmx(Value n);
  void transpose16(SmallVectorImpl<Value> &rows);

  /// Element d of K row `row` (kvRow; unused with packed tiles) / key jLocal of the packed tile.
  Value loadK(KvRow row, Value jLocal, Value d);
  Value loadV(KvRow row, Value jLocal, Value dv);
  /// Where key jAbs of the item's batch is in K and V, or nothing when the tile is packed.
  KvRow rowOf(Value jAbs) { return kvRow(e, s, table, bIdx, jAbs); }

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  const SoftmaxSpec &s;
  int64_t blockQ, blockK, width, rowsPerItem, paddedRows, chunks, rowBlock, chunkBlock;
  bool amx, dp, vnni, packedKV;
  bool scaleScores;  // the softmax scales the scores (AMX, VDPBF16PS without softcap or ALiBi)
  Value launchScale; // the launch's scale (f32, params[ATTN_PARAM_SCALE])
  Type f32;
  VectorType vecF32, vecI32;

  // Function arguments.
  Value q, k, v, o, lse, ent, seqlensQ, seqlensKv, table, alibi, sinks, params;
  Value hasSeqlensQ, hasSeqlensKv, batch, seqQ, seqKv;
  // Scratch buffers (negSlope: -ALiBi slope of each row's head).
  Value qt, st, ot, mrow, lrow, trow, alpha, pos, negSlope, kp, vp;
  // AMX scratch: Qᵀ and P in tile-B layout (bf16), the K tile, V rows interleaved by pairs
  // (i32 pairs of bf16) and Vᵀ (viewed as bf16 for the tiles and as i32 pairs for packing).
  Value qvnni, pvnni, kAmx, vPairs, vtBytes, vtPairs, vtTile, zeroTile;
  // Per-item values.
  Value bIdx, gIdx, i0, rows, pmin, pmax, lq, lkv;
};

} // namespace

void SoftmaxKernelGen::emit(func::FuncOp fn) {
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  q = entry->getArgument(0);
  k = entry->getArgument(1);
  v = entry->getArgument(2);
  o = entry->getArgument(3);
  lse = entry->getArgument(4);
  ent = entry->getArgument(5);
  seqlensQ = entry->getArgument(6);
  seqlensKv = entry->getArgument(7);
  table = entry->getArgument(8);
  alibi = entry->getArgument(9);
  sinks = entry->getArgument(10);
  params = entry->getArgument(11);

  KernelEmitter::LaunchParams launch = e.loadParams(params);
  hasSeqlensQ = launch.hasSeqlensQ;
  hasSeqlensKv = launch.hasSeqlensKv;
  launchScale = launch.scale;
  batch = b.create<memref::DimOp>(q, 0);
  seqQ = b.create<memref::DimOp>(q, 1);
  seqKv = pagedSeqKv(e, s, k, table);

  allocScratch();
  e.loop(launch.begin, launch.end, e.index(1), [&](Value item) { emitItem(item); });
  b.create<func::ReturnOp>();
  placeScratch(fn);
}

void SoftmaxKernelGen::allocScratch() {
  auto alloc = [&](ArrayRef<int64_t> shape, Type type) -> Value {
    return scratchBuffer(b, MemRefType::get(shape, type));
  };
  st = alloc({blockK, paddedRows}, f32);
  ot = alloc({s.headDimV, paddedRows}, f32);
  mrow = alloc({paddedRows}, f32);
  lrow = alloc({paddedRows}, f32);
  trow = alloc({paddedRows}, f32);
  alpha = alloc({paddedRows}, f32);
  pos = alloc({paddedRows}, b.getI32Type());
  if (s.alibi) {
    negSlope = alloc({paddedRows}, f32);
    // Lanes past the item's rows: any finite slope (their scores are never used).
    e.loop(e.index(rowsPerItem), e.index(paddedRows), e.index(1),
           [&](Value r) { b.create<memref::StoreOp>(e.f32(0.0), negSlope, ValueRange{r}); });
  }
  if (packedKV) {
    kp = alloc({blockK, s.headDim}, f32);
    vp = alloc({blockK, s.headDimV}, f32);
  }
  Type bf16 = b.getBF16Type(), i32 = b.getI32Type();
  if (vnni) {
    qvnni = alloc({s.headDim / 2, 2 * paddedRows}, bf16);
    pvnni = alloc({blockK / 2, 2 * paddedRows}, bf16);
    vPairs = alloc({blockK / 2 * s.headDimV}, i32);
  }
  if (amx) {
    kAmx = alloc({blockK, s.headDim}, bf16);
    vtBytes = alloc({s.headDimV * blockK * 2}, b.getI8Type());
    vtPairs = b.create<memref::ViewOp>(MemRefType::get({s.headDimV, blockK / 2}, i32), vtBytes,
                                       e.index(0), ValueRange{});
    vtTile = b.create<memref::ViewOp>(MemRefType::get({s.headDimV, blockK}, bf16), vtBytes,
                                      e.index(0), ValueRange{});
    zeroTile = alloc({65, 16}, f32);
    Value zeroRow = e.splatF32(vecF32, 0.0);
    for (int64_t i = 0; i < 64; ++i)
      b.create<vector::StoreOp>(zeroRow, zeroTile, ValueRange{e.index(i), e.index(0)});
  }
  if (vnni)
    return;
  qt = alloc({s.headDim, paddedRows}, f32);
  // Lanes past the item's rows hold zeros: garbage there could be denormals, which are slow.
  Value zero = e.f32(0.0);
  e.loop(e.index(0), e.index(s.headDim), e.index(1), [&](Value d) {
    e.loop(e.index(rowsPerItem), e.index(paddedRows), e.index(1), [&](Value r) {
      b.create<memref::StoreOp>(zero, qt, ValueRange{d, r});
    });
  });
}

void SoftmaxKernelGen::emitItem(Value item) {
  Value nqb = e.ceildiv(seqQ, e.index(blockQ));
  Value qb = e.rems(item, nqb);
  Value rest = e.divs(item, nqb);
  gIdx = e.rems(rest, e.index(s.headsKv));
  bIdx = e.divs(rest, e.index(s.headsKv));

  lq = e.batchLength(seqlensQ, hasSeqlensQ, bIdx, seqQ);
  lkv = e.batchLength(seqlensKv, hasSeqlensKv, bIdx, seqKv);
  i0 = e.mul(qb, e.index(blockQ));
  e.ifThen(e.cmpi(CmpIPredicate::slt, i0, lq), [&] {
    rows = e.mins(e.index(blockQ), e.sub(lq, i0));
    pmin = e.add(i0, e.sub(lkv, lq));
    pmax = e.sub(e.add(pmin, rows), e.index(1));

    if (vnni)
      packQueriesVnni();
    else
      packQueries();
    initState();
    KeyRange range = visibleKeys(e, s.mask, pmin, pmax, e.index(0), lkv);
    forEachTile(e, range, blockK, [&](Value j0, Value n) { visitTile(j0, n); });
    writeOutputs();
  });
}

/// Calls `pack(r, row, head, valid)` for each row r of the item (query `row` of head `head`;
/// `valid`: the row exists, else its lanes are packed as zeros) after recording its position.
void SoftmaxKernelGen::forEachItemRow(
    const std::function<void(Value r, Value row, Value head, Value valid)> &pack) {
  e.loop(e.index(0), e.index(s.group), e.index(1), [&](Value hh) {
    Value head = e.add(e.mul(gIdx, e.index(s.group)), hh);
    e.loop(e.index(0), e.index(blockQ), e.index(1), [&](Value ii) {
      Value r = e.add(e.mul(hh, e.index(blockQ)), ii);
      Value p = b.create<arith::IndexCastOp>(b.getI32Type(), e.add(pmin, ii));
      b.create<memref::StoreOp>(p, pos, ValueRange{r});
      if (s.alibi) {
        Value slope = b.create<memref::LoadOp>(alibi, ValueRange{head});
        b.create<memref::StoreOp>(b.create<arith::NegFOp>(slope), negSlope, ValueRange{r});
      }
      pack(r, e.add(i0, ii), head, e.cmpi(CmpIPredicate::slt, ii, rows));
    });
  });
}

void SoftmaxKernelGen::packQueries() {
  Value scale = launchScale;
  Value zero = e.f32(0.0);
  forEachItemRow([&](Value r, Value row, Value head, Value valid) {
    e.loop(e.index(0), e.index(s.headDim), e.index(1), [&](Value d) {
      Value x = e.ifThenElse(
          valid, f32,
          [&] {
            Value raw = b.create<memref::LoadOp>(q, ValueRange{bIdx, row, head, d});
            if (!raw.getType().isF32())
              raw = b.create<arith::ExtFOp>(f32, raw);
            return SmallVector<Value>{e.mulf(raw, scale)};
          },
          [&] { return SmallVector<Value>{zero}; })[0];
      b.create<memref::StoreOp>(x, qt, ValueRange{d, r});
    });
  });
}

void SoftmaxKernelGen::initState() {
  Value negInf = e.splatF32(vecF32, -std::numeric_limits<double>::infinity());
  Value zero = e.splatF32(vecF32, 0.0);
  e.loop(e.index(0), e.index(paddedRows), e.index(width), [&](Value off) {
    b.create<vector::StoreOp>(negInf, mrow, ValueRange{off});
    b.create<vector::StoreOp>(zero, lrow, ValueRange{off});
    b.create<vector::StoreOp>(zero, trow, ValueRange{off});
    e.loop(e.index(0), e.index(s.headDimV), e.index(1), [&](Value dv) {
      b.create<vector::StoreOp>(zero, ot, ValueRange{dv, off});
    });
  });
}

void SoftmaxKernelGen::visitTile(Value j0, Value n) {
  if (packedKV)
    packKV(j0, n);
  if (amx) {
    packKAmx(j0, n);
    packVPairs(j0, n, e.index(blockK / 2));
    transposeVAmx();
    computeScoresAmx();
  } else {
    if (dp)
      packVPairs(j0, n, e.ceildiv(n, e.index(2)));
    computeScores(j0, n);
  }
  if (s.softcap)
    capScores(n);
  if (s.alibi)
    biasScores(j0, n);
  if (s.mask.masked()) {
    Value full = tileFullyVisible(e, s.mask, j0, n, pmin, pmax);
    Value partialTile =
        e.cmpi(CmpIPredicate::eq, full, b.create<arith::ConstantOp>(b.getBoolAttr(false)));
    e.ifThen(partialTile, [&] { maskScores(j0, n); });
  }
  updateSoftmax(n);
  if (amx)
    accumulateOutputAmx(n);
  else
    accumulateOutput(j0, n);
}

void SoftmaxKernelGen::packKV(Value j0, Value n) {
  VectorType vecElt = VectorType::get({width}, s.elementType);
  auto toF32 = [&](Value x) -> Value {
    return s.elementType.isF32() ? x : b.create<arith::ExtFOp>(vecF32, x);
  };
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    KvRow row = rowOf(e.add(j0, j));
    if (s.pageSize) {
      // A paged cache's rows are not one stream for the hardware prefetcher: the lines of the
      // key 8 ahead (its table entry must exist: at most the last key).
      KvRow ahead = rowOf(e.mins(e.add(e.add(j0, j), e.index(8)), e.sub(lkv, e.index(1))));
      prefetchKvRow(e, s, k, v, ahead, gIdx);
    }
    e.loop(e.index(0), e.index(s.headDim), e.index(width), [&](Value d) {
      Value x = b.create<vector::LoadOp>(vecElt, k, ValueRange{row.first, row.second, gIdx, d});
      b.create<vector::StoreOp>(toF32(x), kp, ValueRange{j, d});
    });
    e.loop(e.index(0), e.index(s.headDimV), e.index(width), [&](Value d) {
      Value x = b.create<vector::LoadOp>(vecElt, v, ValueRange{row.first, row.second, gIdx, d});
      b.create<vector::StoreOp>(toF32(x), vp, ValueRange{j, d});
    });
  });
}

Value SoftmaxKernelGen::loadK(KvRow row, Value jLocal, Value d) {
  if (packedKV)
    return b.create<memref::LoadOp>(kp, ValueRange{jLocal, d});
  return b.create<memref::LoadOp>(k, ValueRange{row.first, row.second, gIdx, d});
}

Value SoftmaxKernelGen::loadV(KvRow row, Value jLocal, Value dv) {
  if (packedKV)
    return b.create<memref::LoadOp>(vp, ValueRange{jLocal, dv});
  return b.create<memref::LoadOp>(v, ValueRange{row.first, row.second, gIdx, dv});
}

/// Head dims 2 d2 and 2 d2 + 1 of K row `row` as one i32 (a pair of bf16).
Value SoftmaxKernelGen::loadKPair(KvRow row, Value d2) {
  Value pair =
      b.create<vector::LoadOp>(VectorType::get({2}, b.getBF16Type()), k,
                               ValueRange{row.first, row.second, gIdx, e.mul(d2, e.index(2))});
  Value bits = b.create<vector::BitCastOp>(VectorType::get({1}, b.getI32Type()), pair);
  return b.create<vector::ExtractOp>(bits, ArrayRef<int64_t>{0});
}

void SoftmaxKernelGen::computeScores(Value j0, Value n) {
  Value block = e.index(rowBlock);
  Value mainEnd = e.mul(e.divs(n, block), block);
  // Chunk group by chunk group: its Qt columns stay in L1 while the keys stream past.
  for (int64_t c0 = 0; c0 < chunks; c0 += chunkBlock)
    e.loop(e.index(0), mainEnd, block,
           [&](Value jb) { scoreBlock(j0, jb, rowBlock, c0, chunkBlock); });
  if (rowBlock == 1)
    return;
  // The last n % rowBlock keys: pairs, then one, over all chunks (enough accumulators for the
  // FMA latency where single keys of a chunk group would not have them).
  int64_t pair = std::min<int64_t>(2, rowBlock - 1);
  Value pairEnd = e.add(mainEnd, e.mul(e.divs(e.sub(n, mainEnd), e.index(pair)), e.index(pair)));
  e.loop(mainEnd, pairEnd, e.index(pair), [&](Value jb) { scoreBlock(j0, jb, pair, 0, chunks); });
  if (pair > 1)
    e.loop(pairEnd, n, e.index(1), [&](Value jb) { scoreBlock(j0, jb, 1, 0, chunks); });
}

/// St[jb + x, chunks c0 .. c0 + cs) = K[j0 + jb + x, :] · Qt for x < keys: keys x cs
/// accumulators in registers.
void SoftmaxKernelGen::scoreBlock(Value j0, Value jb, int64_t keys, int64_t c0, int64_t cs) {
  SmallVector<Value> inits(keys * cs, e.splatF32(vecF32, 0.0));
  SmallVector<Value> jLocal;
  SmallVector<KvRow> rows; // computed once per key, outside the loop over head dims
  for (int64_t x = 0; x < keys; ++x) {
    jLocal.push_back(e.add(jb, e.index(x)));
    rows.push_back(packedKV ? KvRow{} : rowOf(e.add(j0, jLocal.back())));
  }
  if (dp) {
    // Pairs of head dims: one broadcast K pair per key, one Q pair vector per chunk.
    VectorType pairs = VectorType::get({2 * width}, b.getBF16Type());
    SmallVector<Value> acc = e.loop(
        e.index(0), e.index(s.headDim / 2), e.index(1), inits, [&](Value d2, ValueRange carried) {
          SmallVector<Value> qv;
          for (int64_t c = 0; c < cs; ++c)
            qv.push_back(b.create<vector::LoadOp>(pairs, qvnni,
                                                  ValueRange{d2, e.index(2 * (c0 + c) * width)}));
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t x = 0; x < keys; ++x) {
            Value kb = broadcastBf16Pair(e, loadKPair(rows[x], d2));
            for (int64_t c = 0; c < cs; ++c)
              next[x * cs + c] = dotBf16(e, next[x * cs + c], kb, qv[c]);
          }
          return next;
        });
    for (int64_t x = 0; x < keys; ++x)
      for (int64_t c = 0; c < cs; ++c)
        b.create<vector::StoreOp>(acc[x * cs + c], st,
                                  ValueRange{jLocal[x], e.index((c0 + c) * width)});
    return;
  }
  SmallVector<Value> acc =
      e.loop(e.index(0), e.index(s.headDim), e.index(1), inits, [&](Value d, ValueRange carried) {
        SmallVector<Value> qv;
        for (int64_t c = 0; c < cs; ++c)
          qv.push_back(
              b.create<vector::LoadOp>(vecF32, qt, ValueRange{d, e.index((c0 + c) * width)}));
        SmallVector<Value> next(carried.begin(), carried.end());
        for (int64_t x = 0; x < keys; ++x) {
          Value kb = e.splat(vecF32, loadK(rows[x], jLocal[x], d));
          for (int64_t c = 0; c < cs; ++c)
            next[x * cs + c] = e.fma(kb, qv[c], next[x * cs + c]);
        }
        return next;
      });
  for (int64_t x = 0; x < keys; ++x)
    for (int64_t c = 0; c < cs; ++c)
      b.create<vector::StoreOp>(acc[x * cs + c], st,
                                ValueRange{jLocal[x], e.index((c0 + c) * width)});
}

void SoftmaxKernelGen::capScores(Value n) {
  Value cap = e.splatF32(vecF32, *s.softcap);
  // AMX and VDPBF16PS scores come unscaled: scale and cap at once.
  Value invCap = e.splat(vecF32, e.divf(vnni ? launchScale : e.f32(1.0), e.f32(*s.softcap)));
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    for (int64_t c = 0; c < chunks; ++c) {
      Value off = e.index(c * width);
      Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{j, off});
      Value capped = e.mulf(cap, b.create<math::TanhOp>(e.mulf(x, invCap)));
      b.create<vector::StoreOp>(capped, st, ValueRange{j, off});
    }
  });
}

/// ALiBi (SPEC §3): St[j, r] -= slope_r * |p_r - (j0 + j)|, after the scale (applied here to the
/// unscaled AMX and VDPBF16PS scores unless the softcap did) and the softcap. A masked score is
/// masked after this (or was -inf already: the bias is finite).
void SoftmaxKernelGen::biasScores(Value j0, Value n) {
  Value scale = vnni && !s.softcap ? e.splat(vecF32, launchScale) : Value();
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    Value key = e.splat(vecI32, b.create<arith::IndexCastOp>(b.getI32Type(), e.add(j0, j)));
    for (int64_t c = 0; c < chunks; ++c) {
      Value off = e.index(c * width);
      Value p = b.create<vector::LoadOp>(vecI32, pos, ValueRange{off});
      Value slope = b.create<vector::LoadOp>(vecF32, negSlope, ValueRange{off});
      Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{j, off});
      if (scale)
        x = e.mulf(x, scale);
      b.create<vector::StoreOp>(e.addf(x, alibiBias(e, slope, key, p)), st, ValueRange{j, off});
    }
  });
}

/// Per-element visibility (SPEC §3) on a boundary tile: invisible scores become -inf.
void SoftmaxKernelGen::maskScores(Value j0, Value n) {
  Value negInf = e.splatF32(vecF32, -std::numeric_limits<double>::infinity());
  auto splatI32 = [&](int64_t x) { return e.splat(vecI32, e.i32(x)); };
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    Value key = e.splat(vecI32, b.create<arith::IndexCastOp>(b.getI32Type(), e.add(j0, j)));
    for (int64_t c = 0; c < chunks; ++c) {
      Value off = e.index(c * width);
      Value p = b.create<vector::LoadOp>(vecI32, pos, ValueRange{off});
      Value visible = keyVisible(e, s.mask, key, p, splatI32);
      Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{j, off});
      b.create<vector::StoreOp>(e.select(visible, x, negInf), st, ValueRange{j, off});
    }
  });
}

/// Online softmax over the tile, lane-wise: new max, rescale factor, probabilities (in place of
/// the scores), running sum and, for entropy, the running Σ p·s.
void SoftmaxKernelGen::updateSoftmax(Value n) {
  Value negInf = e.splatF32(vecF32, -std::numeric_limits<double>::infinity());
  Value zero = e.splatF32(vecF32, 0.0);
  for (int64_t c = 0; c < chunks; ++c) {
    Value off = e.index(c * width);
    Value tileMax =
        e.loop(e.index(0), n, e.index(1), ValueRange{negInf}, [&](Value j, ValueRange carried) {
          Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{j, off});
          return SmallVector<Value>{e.maxf(x, carried[0])};
        })[0];
    // Unscaled scores (AMX, VDPBF16PS): max(c·x) = c·max(x) for c > 0, and exp(c·x - m) is one FMA.
    Value scale = scaleScores ? e.splat(vecF32, launchScale) : Value();
    if (scale)
      tileMax = e.mulf(tileMax, scale);
    Value oldMax = b.create<vector::LoadOp>(vecF32, mrow, ValueRange{off});
    // AMX: a lazy max (slack e^8) spares the pass over the output accumulator most tiles.
    OnlineStep step = onlineSoftmaxStep(e, oldMax, tileMax, negInf, zero, /*base2=*/false,
                                        /*slack=*/amx ? 8.0 : 0.0);
    Value newMax = step.newMax, safeMax = step.shift, rescale = step.rescale;
    Value negShift = scale ? b.create<arith::NegFOp>(safeMax).getResult() : Value();
    // Key j's probabilities and (for entropy) its finite scaled scores (0 for -inf).
    auto probability = [&](Value j) -> std::pair<Value, Value> {
      Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{j, off});
      Value shifted;
      if (scale) {
        shifted = e.fma(x, scale, negShift);
        x = e.mulf(x, scale);
      } else {
        shifted = e.subf(x, safeMax);
      }
      Value p = b.create<math::ExpOp>(shifted);
      Value finite = s.entropy ? e.select(e.cmpf(CmpFPredicate::OEQ, x, negInf), zero, x) : Value();
      return {p, finite};
    };
    auto accumulate = [&](ValueRange carried, Value p, Value finite) {
      Value scoreSum = s.entropy ? e.fma(p, finite, carried[1]) : carried[1];
      return SmallVector<Value>{e.addf(carried[0], p), scoreSum};
    };
    SmallVector<Value> sums;
    if (vnni) {
      // AMX and VDPBF16PS: P goes straight to the pair operand of P·V, rounded to bf16 as pairs of
      // keys (2r, 2r + 1) per query lane; the pair past an odd n holds zeros.
      VectorType half = VectorType::get({width}, b.getBF16Type());
      Value pairs = e.ceildiv(n, e.index(2));
      sums = e.loop(
          e.index(0), pairs, e.index(1), ValueRange{zero, zero}, [&](Value r, ValueRange carried) {
            Value key0 = e.mul(r, e.index(2)), key1 = e.add(key0, e.index(1));
            auto [p0, finite0] = probability(key0);
            auto [p1, finite1] = probability(key1);
            Value in1 = e.cmpi(CmpIPredicate::slt, key1, n);
            p1 = e.select(in1, p1, zero);
            if (s.entropy)
              finite1 = e.select(in1, finite1, zero);
            Value mixed = b.create<vector::ShuffleOp>(b.create<arith::TruncFOp>(half, p0),
                                                      b.create<arith::TruncFOp>(half, p1),
                                                      interleaveMask(width));
            b.create<vector::StoreOp>(mixed, pvnni, ValueRange{r, e.index(2 * c * width)});
            SmallVector<Value> next = accumulate(carried, p0, finite0);
            return accumulate(next, p1, finite1);
          });
    } else {
      sums = e.loop(e.index(0), n, e.index(1), ValueRange{zero, zero},
                    [&](Value j, ValueRange carried) {
                      auto [p, finite] = probability(j);
                      b.create<vector::StoreOp>(p, st, ValueRange{j, off});
                      return accumulate(carried, p, finite);
                    });
    }
    Value l = b.create<vector::LoadOp>(vecF32, lrow, ValueRange{off});
    b.create<vector::StoreOp>(e.fma(rescale, l, sums[0]), lrow, ValueRange{off});
    if (s.entropy) {
      Value t = b.create<vector::LoadOp>(vecF32, trow, ValueRange{off});
      b.create<vector::StoreOp>(e.fma(rescale, t, sums[1]), trow, ValueRange{off});
    }
    b.create<vector::StoreOp>(newMax, mrow, ValueRange{off});
    b.create<vector::StoreOp>(rescale, alpha, ValueRange{off});
  }
}

void SoftmaxKernelGen::accumulateOutput(Value j0, Value n) {
  int64_t mainEnd = s.headDimV / rowBlock * rowBlock;
  for (int64_t c0 = 0; c0 < chunks; c0 += chunkBlock) {
    e.loop(e.index(0), e.index(mainEnd), e.index(rowBlock),
           [&](Value dvb) { outputBlock(j0, n, dvb, rowBlock, c0, chunkBlock); });
    if (mainEnd < s.headDimV)
      outputBlock(j0, n, e.index(mainEnd), s.headDimV - mainEnd, c0, chunkBlock);
  }
}

/// Ot[dvb + x, chunks c0 .. c0 + cs) = alpha * Ot[dvb + x, ...] + Σ_j V[j0 + j, dvb + x] * P[j,
/// ...] for x < count.
void SoftmaxKernelGen::outputBlock(Value j0, Value n, Value dvb, int64_t count, int64_t c0,
                                   int64_t cs) {
  SmallVector<Value> rescale, dvs, inits;
  for (int64_t c = 0; c < cs; ++c)
    rescale.push_back(
        b.create<vector::LoadOp>(vecF32, alpha, ValueRange{e.index((c0 + c) * width)}));
  for (int64_t x = 0; x < count; ++x) {
    dvs.push_back(e.add(dvb, e.index(x)));
    for (int64_t c = 0; c < cs; ++c) {
      Value acc =
          b.create<vector::LoadOp>(vecF32, ot, ValueRange{dvs[x], e.index((c0 + c) * width)});
      inits.push_back(e.mulf(acc, rescale[c]));
    }
  }
  if (dp) {
    // Pairs of keys: one broadcast V pair per head dim, one P pair vector per chunk.
    VectorType pairs = VectorType::get({2 * width}, b.getBF16Type());
    SmallVector<Value> acc = e.loop(
        e.index(0), e.ceildiv(n, e.index(2)), e.index(1), inits, [&](Value r, ValueRange carried) {
          SmallVector<Value> pv;
          for (int64_t c = 0; c < cs; ++c)
            pv.push_back(b.create<vector::LoadOp>(pairs, pvnni,
                                                  ValueRange{r, e.index(2 * (c0 + c) * width)}));
          Value rowBase = e.mul(r, e.index(s.headDimV));
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t x = 0; x < count; ++x) {
            Value pair = b.create<memref::LoadOp>(vPairs, ValueRange{e.add(rowBase, dvs[x])});
            Value vb = broadcastBf16Pair(e, pair);
            for (int64_t c = 0; c < cs; ++c)
              next[x * cs + c] = dotBf16(e, next[x * cs + c], vb, pv[c]);
          }
          return next;
        });
    for (int64_t x = 0; x < count; ++x)
      for (int64_t c = 0; c < cs; ++c)
        b.create<vector::StoreOp>(acc[x * cs + c], ot,
                                  ValueRange{dvs[x], e.index((c0 + c) * width)});
    return;
  }
  SmallVector<Value> acc =
      e.loop(e.index(0), n, e.index(1), inits, [&](Value j, ValueRange carried) {
        SmallVector<Value> pv;
        for (int64_t c = 0; c < cs; ++c)
          pv.push_back(
              b.create<vector::LoadOp>(vecF32, st, ValueRange{j, e.index((c0 + c) * width)}));
        KvRow row = packedKV ? KvRow{} : rowOf(e.add(j0, j));
        SmallVector<Value> next(carried.begin(), carried.end());
        for (int64_t x = 0; x < count; ++x) {
          Value vb = e.splat(vecF32, loadV(row, j, dvs[x]));
          for (int64_t c = 0; c < cs; ++c)
            next[x * cs + c] = e.fma(vb, pv[c], next[x * cs + c]);
        }
        return next;
      });
  for (int64_t x = 0; x < count; ++x)
    for (int64_t c = 0; c < cs; ++c)
      b.create<vector::StoreOp>(acc[x * cs + c], ot, ValueRange{dvs[x], e.index((c0 + c) * width)});
}

/// O = Ot / l (0 for a row that saw nothing), LSE = m + log l (-inf), entropy = LSE - t / l (0),
/// after the row's sink is folded into m, l and t.
void SoftmaxKernelGen::writeOutputs() {
  Value zero = e.f32(0.0), one = e.f32(1.0);
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  Type outType = s.elementType;
  e.loop(e.index(0), e.index(s.group), e.index(1), [&](Value hh) {
    Value head = e.add(e.mul(gIdx, e.index(s.group)), hh);
    e.loop(e.index(0), rows, e.index(1), [&](Value ii) {
      Value r = e.add(e.mul(hh, e.index(blockQ)), ii);
      Value row = e.add(i0, ii);
      Value l = b.create<memref::LoadOp>(lrow, ValueRange{r});
      Value m = b.create<memref::LoadOp>(mrow, ValueRange{r});
      Value t = s.entropy ? b.create<memref::LoadOp>(trow, ValueRange{r}) : Value();
      Value rescale;
      if (s.sinks) {
        RowState state = foldSink(e, m, l, t, b.create<memref::LoadOp>(sinks, ValueRange{head}));
        m = state.m, l = state.l, t = state.t, rescale = state.rescale;
      }
      RowResult result = finalizeRow(e, m, l, t);
      if (rescale)
        result.inverseSum = e.mulf(result.inverseSum, rescale);
      e.loop(e.index(0), e.index(s.headDimV), e.index(1), [&](Value dv) {
        Value x = e.mulf(b.create<memref::LoadOp>(ot, ValueRange{dv, r}), result.inverseSum);
        if (outType != f32)
          x = b.create<arith::TruncFOp>(outType, x);
        b.create<memref::StoreOp>(x, o, ValueRange{bIdx, row, head, dv});
      });
      if (s.lse)
        b.create<memref::StoreOp>(result.lse, lse, ValueRange{bIdx, head, row});
      if (s.entropy)
        b.create<memref::StoreOp>(result.entropy, ent, ValueRange{bIdx, head, row});
    });
  });
}

//===----------------------------------------------------------------------===//
// The pair layouts (AMX and VDPBF16PS) and the AMX path
//===----------------------------------------------------------------------===//

/// Transposes 16 vectors of 16 lanes in place: four stages, each swapping one bit of the row
/// index with the same bit of the lane index (64 two-input shuffles).
void SoftmaxKernelGen::transpose16(SmallVectorImpl<Value> &rows) {
  for (int64_t bit = 1; bit < 16; bit <<= 1) {
    SmallVector<int64_t> keepLow, keepHigh;
    for (int64_t j = 0; j < 16; ++j) {
      bool low = (j & bit) == 0;
      keepLow.push_back(low ? j : 16 + (j ^ bit));
      keepHigh.push_back(low ? (j ^ bit) : 16 + j);
    }
    for (int64_t i = 0; i < 16; ++i) {
      if (i & bit)
        continue;
      Value lo = rows[i], hi = rows[i | bit];
      rows[i] = b.create<vector::ShuffleOp>(lo, hi, keepLow);
      rows[i | bit] = b.create<vector::ShuffleOp>(lo, hi, keepHigh);
    }
  }
}

/// qvnni[d / 2][2 r + d % 2] = Q[row r, d] (raw bf16; zeros for rows past the item's end): the B
/// operand of St = K · Qᵀ, 16 query lanes x 32 head dims per tile (AMX), or 16 query lanes x one
/// pair of head dims per vector (VDPBF16PS).
void SoftmaxKernelGen::packQueriesVnni() {
  forEachItemRow([](Value, Value, Value, Value) {}); // the rows' positions
  // Rows are read as 16 pairs of head dims (i32 lanes) and transposed 16 rows at a time.
  Type bf16 = b.getBF16Type();
  VectorType row32 = VectorType::get({32}, bf16), pairs16 = VectorType::get({16}, b.getI32Type());
  Value zeroRow =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(row32, b.getFloatAttr(bf16, 0)));
  e.loop(e.index(0), e.index(paddedRows), e.index(16), [&](Value r0) {
    e.loop(e.index(0), e.index(s.headDim), e.index(32), [&](Value d0) {
      SmallVector<Value> block;
      for (int64_t x = 0; x < 16; ++x) {
        Value r = e.add(r0, e.index(x));
        Value hh = e.divs(r, e.index(blockQ)), ii = e.rems(r, e.index(blockQ));
        Value valid = b.create<arith::AndIOp>(e.cmpi(CmpIPredicate::slt, r, e.index(rowsPerItem)),
                                              e.cmpi(CmpIPredicate::slt, ii, rows));
        Value x32 = e.ifThenElse(
            valid, row32,
            [&] {
              Value head = e.add(e.mul(gIdx, e.index(s.group)), hh);
              return SmallVector<Value>{
                  b.create<vector::LoadOp>(row32, q, ValueRange{bIdx, e.add(i0, ii), head, d0})};
            },
            [&] { return SmallVector<Value>{zeroRow}; })[0];
        block.push_back(b.create<vector::BitCastOp>(pairs16, x32));
      }
      transpose16(block);
      Value d2 = e.divs(d0, e.index(2));
      for (int64_t x = 0; x < 16; ++x)
        b.create<vector::StoreOp>(b.create<vector::BitCastOp>(row32, block[x]), qvnni,
                                  ValueRange{e.add(d2, e.index(x)), e.mul(r0, e.index(2))});
    });
  });
}

/// The tile's K rows copied to kAmx (the A operand of St = K · Qᵀ); keys past `n` are zeros (0 x
/// garbage could be NaN).
void SoftmaxKernelGen::packKAmx(Value j0, Value n) {
  Type bf16 = b.getBF16Type();
  VectorType row32 = VectorType::get({32}, bf16);
  Value zero32 =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(row32, b.getFloatAttr(bf16, 0)));
  e.loop(e.index(0), e.index(blockK), e.index(1), [&](Value j) {
    Value inside = e.cmpi(CmpIPredicate::slt, j, n);
    e.loop(e.index(0), e.index(s.headDim), e.index(32), [&](Value d) {
      Value x = e.ifThenElse(
          inside, row32,
          [&] {
            KvRow row = rowOf(e.add(j0, j));
            return SmallVector<Value>{
                b.create<vector::LoadOp>(row32, k, ValueRange{row.first, row.second, gIdx, d})};
          },
          [&] { return SmallVector<Value>{zero32}; })[0];
      b.create<vector::StoreOp>(x, kAmx, ValueRange{j, d});
    });
  });
}

/// vPairs[r][c] = (V[j0 + 2r][c], V[j0 + 2r + 1][c]) as one i32, for pair rows r < `pairs`; keys
/// past `n` are zeros (0 x garbage could be NaN).
void SoftmaxKernelGen::packVPairs(Value j0, Value n, Value pairs) {
  Type bf16 = b.getBF16Type();
  VectorType row16 = VectorType::get({16}, bf16);
  VectorType pairs16 = VectorType::get({16}, b.getI32Type());
  Value zero16 =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(row16, b.getFloatAttr(bf16, 0)));
  SmallVector<int64_t> interleave = interleaveMask(16);
  e.loop(e.index(0), pairs, e.index(1), [&](Value r) {
    Value key0 = e.mul(r, e.index(2)), key1 = e.add(key0, e.index(1));
    auto vRowOf = [&](Value key, Value c) {
      return e.ifThenElse(
          e.cmpi(CmpIPredicate::slt, key, n), row16,
          [&] {
            KvRow row = rowOf(e.add(j0, key));
            return SmallVector<Value>{
                b.create<vector::LoadOp>(row16, v, ValueRange{row.first, row.second, gIdx, c})};
          },
          [&] { return SmallVector<Value>{zero16}; })[0];
    };
    e.loop(e.index(0), e.index(s.headDimV), e.index(16), [&](Value c) {
      Value mixed = b.create<vector::ShuffleOp>(vRowOf(key0, c), vRowOf(key1, c), interleave);
      Value asPairs = b.create<vector::BitCastOp>(pairs16, mixed);
      b.create<vector::StoreOp>(asPairs, vPairs,
                                ValueRange{e.add(e.mul(r, e.index(s.headDimV)), c)});
    });
  });
}

/// vtPairs = vPairsᵀ: Vᵀ as pairs of keys per head dim, the A operand of Ot += Vᵀ · P.
void SoftmaxKernelGen::transposeVAmx() {
  VectorType pairs16 = VectorType::get({16}, b.getI32Type());
  // vtPairs[c][r] = vPairs[r][c], by 16 x 16 blocks of pairs transposed in registers (LLVM
  // scalarizes gathers on Intel cores, where they are slow since the GDS microcode fix).
  int64_t cols = s.headDimV;
  e.loop(e.index(0), e.index(cols), e.index(16), [&](Value c0) {
    for (int64_t r0 = 0; r0 < blockK / 2; r0 += 16) {
      SmallVector<Value> block;
      for (int64_t i = 0; i < 16; ++i)
        block.push_back(b.create<vector::LoadOp>(pairs16, vPairs,
                                                 ValueRange{e.add(e.index((r0 + i) * cols), c0)}));
      transpose16(block);
      for (int64_t j = 0; j < 16; ++j)
        b.create<vector::StoreOp>(block[j], vtPairs,
                                  ValueRange{e.add(c0, e.index(j)), e.index(r0)});
    }
  });
}

/// St = K · Qᵀ on tiles, 2 x 2 accumulators at a time (four independent TDPBF16PS chains hide
/// the instruction's latency, ~3x its issue interval; 4 accumulators + 2 A + 2 B = the 8 tiles).
void SoftmaxKernelGen::computeScoresAmx() {
  Type bf16 = b.getBF16Type();
  VectorType aType = VectorType::get({16, 32}, bf16), cType = VectorType::get({16, 16}, f32);
  e.loop(e.index(0), e.index(chunks), e.index(2), [&](Value qtile) {
    // With an odd chunk count the last pair repeats its column (the same tile, computed twice).
    Value q1 = e.mins(e.add(qtile, e.index(1)), e.index(chunks - 1));
    Value qtiles[2] = {qtile, q1};
    for (int64_t kt = 0; kt < blockK / 16; kt += 2) {
      // Four zero accumulators, loaded from distinct rows of zeroTile after a store to it (to a
      // row past those loaded: a tile load of just-stored bytes waits for the store): a zero
      // tile that CSE or LICM shares between accumulators costs a copy through the stack.
      b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), zeroTile,
                                ValueRange{e.index(64), e.index(0)});
      SmallVector<Value> acc;
      for (int64_t x = 0; x < 4; ++x)
        acc.push_back(
            b.create<amx::TileLoadOp>(cType, zeroTile, ValueRange{e.index(16 * x), e.index(0)}));
      for (int64_t ds = 0; ds < s.headDim / 32; ++ds) {
        Value bTiles[2];
        for (int64_t y = 0; y < 2; ++y)
          bTiles[y] = b.create<amx::TileLoadOp>(
              aType, qvnni, ValueRange{e.index(16 * ds), e.mul(qtiles[y], e.index(32))});
        // One A tile live at a time: 4 accumulators + 2 B + 1 A = 7 of the 8 tile registers
        // (8 live make LLVM spill tiles through the stack).
        for (int64_t x = 0; x < 2; ++x) {
          Value aTile = b.create<amx::TileLoadOp>(
              aType, kAmx, ValueRange{e.index(16 * (kt + x)), e.index(32 * ds)});
          for (int64_t y = 0; y < 2; ++y)
            acc[2 * x + y] = b.create<amx::TileMulFOp>(cType, aTile, bTiles[y], acc[2 * x + y]);
        }
      }
      for (int64_t x = 0; x < 2; ++x)
        for (int64_t y = 0; y < 2; ++y)
          b.create<amx::TileStoreOp>(
              st, ValueRange{e.index(16 * (kt + x)), e.mul(qtiles[y], e.index(16))},
              acc[2 * x + y]);
    }
  });
}

/// Ot = alpha · Ot + Vᵀ · P on tiles (P in pvnni, written by updateSoftmax for the tile's
/// first ceil(n / 2) key pairs; the rest are zeroed here: 0 x garbage could be NaN).
void SoftmaxKernelGen::accumulateOutputAmx(Value n) {
  Type bf16 = b.getBF16Type();
  VectorType pairRow = VectorType::get({2 * width}, bf16);
  Value zeroPairs =
      b.create<arith::ConstantOp>(DenseElementsAttr::get(pairRow, b.getFloatAttr(bf16, 0)));
  e.loop(e.ceildiv(n, e.index(2)), e.index(blockK / 2), e.index(1), [&](Value r) {
    for (int64_t c = 0; c < chunks; ++c)
      b.create<vector::StoreOp>(zeroPairs, pvnni, ValueRange{r, e.index(2 * c * width)});
  });
  // Rescale the accumulator by alpha (lane-wise: queries are the lanes), unless no row's
  // maximum moved (alpha = 1 everywhere), as is usual after the first tiles.
  SmallVector<Value> rescale;
  Value smallest;
  for (int64_t c = 0; c < chunks; ++c) {
    rescale.push_back(b.create<vector::LoadOp>(vecF32, alpha, ValueRange{e.index(c * width)}));
    smallest = c ? b.create<arith::MinimumFOp>(smallest, rescale.back()).getResult() : rescale[0];
  }
  Value least = b.create<vector::ReductionOp>(vector::CombiningKind::MINIMUMF, smallest);
  e.ifThen(e.cmpf(CmpFPredicate::OLT, least, e.f32(1.0)), [&] {
    e.loop(e.index(0), e.index(s.headDimV), e.index(1), [&](Value dv) {
      for (int64_t c = 0; c < chunks; ++c) {
        Value off = e.index(c * width);
        Value acc = b.create<vector::LoadOp>(vecF32, ot, ValueRange{dv, off});
        b.create<vector::StoreOp>(e.mulf(acc, rescale[c]), ot, ValueRange{dv, off});
      }
    });
  });
  // Ot += Vᵀ · P, 2 x 2 accumulators at a time (see computeScoresAmx).
  VectorType aType = VectorType::get({16, 32}, bf16), cType = VectorType::get({16, 16}, f32);
  e.loop(e.index(0), e.index(chunks), e.index(2), [&](Value qtile) {
    Value q1 = e.mins(e.add(qtile, e.index(1)), e.index(chunks - 1));
    Value qtiles[2] = {qtile, q1};
    for (int64_t dt = 0; dt < s.headDimV / 16; dt += 2) {
      int64_t count = std::min<int64_t>(2, s.headDimV / 16 - dt);
      SmallVector<Value> acc;
      for (int64_t x = 0; x < count; ++x)
        for (int64_t y = 0; y < 2; ++y)
          acc.push_back(b.create<amx::TileLoadOp>(
              cType, ot, ValueRange{e.index(16 * (dt + x)), e.mul(qtiles[y], e.index(16))}));
      for (int64_t ks = 0; ks < blockK / 32; ++ks) {
        Value bTiles[2];
        for (int64_t y = 0; y < 2; ++y)
          bTiles[y] = b.create<amx::TileLoadOp>(
              aType, pvnni, ValueRange{e.index(16 * ks), e.mul(qtiles[y], e.index(32))});
        for (int64_t x = 0; x < count; ++x) {
          Value aTile = b.create<amx::TileLoadOp>(
              aType, vtTile, ValueRange{e.index(16 * (dt + x)), e.index(32 * ks)});
          for (int64_t y = 0; y < 2; ++y)
            acc[2 * x + y] = b.create<amx::TileMulFOp>(cType, aTile, bTiles[y], acc[2 * x + y]);
        }
      }
      // With an odd chunk count the last pair's second column repeats its first: both hold the
      // same sums, so storing both is harmless.
      for (int64_t x = 0; x < count; ++x)
        for (int64_t y = 0; y < 2; ++y)
          b.create<amx::TileStoreOp>(
              ot, ValueRange{e.index(16 * (dt + x)), e.mul(qtiles[y], e.index(16))},
              acc[2 * x + y]);
    }
  });
}

func::FuncOp mlir::attn::buildSoftmaxKernel(OpBuilder &builder, AttentionOp op,
                                            const CPUKernelConfig &config) {
  MLIRContext *ctx = builder.getContext();
  SoftmaxSpec spec(op);
  MemRefType bshd = bshdMemRefType(spec.elementType), stat = statMemRefType(ctx);
  SmallVector<Type> args = {bshd,
                            bshd,
                            bshd,
                            bshd,
                            stat,
                            stat,
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            blockTableMemRefType(ctx),
                            vectorMemRefType(Float32Type::get(ctx)),
                            vectorMemRefType(Float32Type::get(ctx)),
                            vectorMemRefType(IntegerType::get(ctx, 64))};
  func::FuncOp fn = createKernelFunction(builder, op.getLoc(), kSoftmaxMainName, args);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  OpBuilder::InsertionGuard guard(b);
  SoftmaxKernelGen(b, spec, config).emit(fn);
  return fn;
}
