//===- DecodeKernel.cpp - split-KV decode (flash-decoding) for the CPU ----===//
//
// Decode has a handful of query rows (Sq x the G heads of a group) against a long KV cache and is
// bound by reading K and V once. The prefill kernel puts query rows on the vector lanes, which
// leaves most lanes empty here; this kernel vectorizes along the head dims instead. A work item is
// (KV split, batch) with every query row of every head: in BSHD one key's K (and V) for all kv
// heads is one contiguous run, so the item streams K and V sequentially (one head per item
// would read a few hundred bytes per page: measured 12 against 20 GB/s). Each K row of a kv head
// is loaded once and dotted with the query rows of its group (a horizontal add per row); each
// row's output stays in registers across a tile's keys (two rows per V load in 8-lane code).
// Scores of one tile are kept per row with keys on the lanes, so the online softmax is vectorized
// along keys. Partial O and LSE (f32) go to a workspace; the merge kernel combines the splits by
// LSE.
//
// With config.dpbf16 (bf16, AVX512-BF16), Q·K is VDPBF16PS on the raw bf16 rows: 32 products of
// bf16 pairs per instruction into f32, no conversion of K; the scale is applied to the sums.
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

namespace {

/// The size of the equal slices that cover `total` chunks, each at most `most` (>= 1).
int64_t equalSlice(int64_t total, int64_t most) {
  return llvm::divideCeil(total, llvm::divideCeil(total, std::max<int64_t>(1, most)));
}

class DecodeKernelGen {
public:
  DecodeKernelGen(ImplicitLocOpBuilder &b, const SoftmaxSpec &spec, const CPUKernelConfig &config)
      : b(b), e(b), s(spec), blockK(config.blockK), width(config.vectorWidth),
        decodeRows(config.decodeRows), dpbf16(config.dpbf16 != 0) {
    f32 = b.getF32Type();
    vecF32 = VectorType::get({width}, f32);
    dChunks = s.headDim / width;
    dvChunks = s.headDimV / width;
    kChunks = blockK / width;
    // What fits the register file (vectorRegistersFor): the slice of a K row kept in registers
    // across the group's query rows (with a query vector and four partial sums), and the slice
    // of the output a row accumulates across a tile (with a P broadcast and a V load). A head dim
    // past that is taken in equal slices.
    int64_t registers = vectorRegistersFor(width);
    dSlice = equalSlice(dChunks, registers - 6);
    // 8-lane code (AVX2) also copies f32 V tiles and prefetches: in place, a kv head's V rows
    // of a tile are Hkv x Dv x 4 bytes apart (a page each at 8 x 128) and the rows of the group
    // re-read them from L2 (measured on Zen 3, GQA 32/8 B=4 Skv=16384: +12-19% with both, +5%
    // with the copy alone, -1% with the prefetch alone). AVX-512 hosts measured the prefetch 5%
    // slower for contiguous f32 (below) and keep it in place. There, too, P·V takes the group's
    // rows one at a time; AVX2 takes two (one V load for both: +2-4%, measured here only).
    packV = !s.elementType.isF32() || width <= 8;
    pvRows = width <= 8 ? 2 : 1;
  }

  void emit(func::FuncOp fn);

private:
  void emitItem(Value item);
  void visitTile(Value j0, Value n);
  void updateSoftmax();
  void accumulateRows(Value j0, Value n, Value g, Value r0, int64_t count);
  Value loadRow(Value memref, KvRow row, Value g, int64_t chunk);
  /// Where key j of the item's batch is in K and V (kvRow).
  KvRow rowOf(Value j) { return kvRow(e, s, table, bIdx, j); }
  /// The same for key j0 + j of the current tile: from tileRows for a paged cache.
  KvRow tileRow(Value j0, Value j) {
    if (!tileRows)
      return rowOf(e.add(j0, j));
    return {b.create<memref::LoadOp>(tileRows, ValueRange{j, e.index(0)}),
            b.create<memref::LoadOp>(tileRows, ValueRange{j, e.index(1)})};
  }
  Value vRow(KvRow row, Value j, Value g, int64_t chunk);
  /// Loops over the query rows r of kv head g: body(r, rowInGroup) with rowInGroup = i * G + hh.
  void forRowsOfGroup(Value g, const std::function<void(Value r, Value rowInGroup)> &body);
  /// The query row and head of row r.
  std::pair<Value, Value> rowAndHead(Value r);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  const SoftmaxSpec &s;
  int64_t blockK, width, decodeRows, dChunks, dvChunks, kChunks, dSlice, pvRows;
  bool dpbf16, packV;
  Type f32;
  VectorType vecF32;

  Value q, k, v, oParts, lseParts, seqlensQ, seqlensKv, table, alibi, sinks;
  Value hasSeqlensQ, hasSeqlensKv, numSplits, batch, seqQ, seqKv;
  Value launchScale; // the launch's scale (f32, params[ATTN_PARAM_SCALE])
  Value qs, st, acc, mrow, lrow, alpha, vp, qbf, tileRows, negSlope;
  Value bIdx, partBatch, rowsPerGroup, rowCount, pmin, pmax, lastKey;
};

} // namespace

/// Chunk `chunk` of row j of kv head g of K or V, as f32.
Value DecodeKernelGen::loadRow(Value memref, KvRow row, Value g, int64_t chunk) {
  Value x = b.create<vector::LoadOp>(VectorType::get({width}, s.elementType), memref,
                                     ValueRange{row.first, row.second, g, e.index(chunk * width)});
  return s.elementType.isF32() ? x : b.create<arith::ExtFOp>(vecF32, x);
}

/// Chunk `chunk` of the tile's V row j of kv head g as f32: the converted copy for f16/bf16
/// (made once per head and tile), else in place (at `row`, the key's kvRow).
Value DecodeKernelGen::vRow(KvRow row, Value j, Value g, int64_t chunk) {
  if (vp)
    return b.create<vector::LoadOp>(vecF32, vp, ValueRange{j, e.index(chunk * width)});
  return loadRow(v, row, g, chunk);
}

void DecodeKernelGen::forRowsOfGroup(Value g, const std::function<void(Value, Value)> &body) {
  Value first = e.mul(g, rowsPerGroup);
  e.loop(e.index(0), rowsPerGroup, e.index(1),
         [&](Value rowInGroup) { body(e.add(first, rowInGroup), rowInGroup); });
}

std::pair<Value, Value> DecodeKernelGen::rowAndHead(Value r) {
  Value g = e.divs(r, rowsPerGroup);
  Value rowInGroup = e.rems(r, rowsPerGroup);
  Value row = e.divs(rowInGroup, e.index(s.group));
  Value head = e.add(e.mul(g, e.index(s.group)), e.rems(rowInGroup, e.index(s.group)));
  return {row, head};
}

void DecodeKernelGen::emit(func::FuncOp fn) {
  Block *entry = fn.addEntryBlock();
  b.setInsertionPointToStart(entry);
  q = entry->getArgument(0);
  k = entry->getArgument(1);
  v = entry->getArgument(2);
  oParts = entry->getArgument(3);
  lseParts = entry->getArgument(4);
  seqlensQ = entry->getArgument(5);
  seqlensKv = entry->getArgument(6);
  table = entry->getArgument(7);
  alibi = entry->getArgument(8);
  sinks = entry->getArgument(9);
  Value params = entry->getArgument(10);
  KernelEmitter::LaunchParams launch = e.loadParams(params);
  hasSeqlensQ = launch.hasSeqlensQ;
  hasSeqlensKv = launch.hasSeqlensKv;
  numSplits = launch.numSplits;
  launchScale = launch.scale;
  batch = b.create<memref::DimOp>(q, 0);
  seqQ = b.create<memref::DimOp>(q, 1);
  seqKv = pagedSeqKv(e, s, k, table);

  auto alloc = [&](ArrayRef<int64_t> shape) -> Value {
    return scratchBuffer(b, MemRefType::get(shape, f32));
  };
  if (!dpbf16) // VDPBF16PS reads the raw rows (qbf) instead of scaled f32 ones
    qs = alloc({decodeRows, s.headDim});
  st = alloc({decodeRows, blockK});
  acc = alloc({decodeRows, s.headDimV});
  mrow = alloc({decodeRows});
  lrow = alloc({decodeRows});
  alpha = alloc({decodeRows});
  if (s.alibi) // -ALiBi slope of each row's head
    negSlope = alloc({decodeRows});
  if (packV)
    vp = alloc({blockK, s.headDimV});
  if (s.pageSize) // a paged cache: the tile's keys' (page, slot), looked up once per tile
    tileRows = scratchBuffer(b, MemRefType::get({blockK, 2}, b.getIndexType()));
  if (dpbf16)
    qbf = scratchBuffer(b, MemRefType::get({decodeRows, s.headDim}, s.elementType));
  e.loop(launch.begin, launch.end, e.index(1), [&](Value item) { emitItem(item); });
  b.create<func::ReturnOp>();
  placeScratch(fn);
}

void DecodeKernelGen::emitItem(Value item) {
  Value split = e.divs(item, batch);
  bIdx = e.rems(item, batch);
  partBatch = item; // = split * B + b
  Value lq = e.batchLength(seqlensQ, hasSeqlensQ, bIdx, seqQ);
  Value lkv = e.batchLength(seqlensKv, hasSeqlensKv, bIdx, seqKv);
  // Rows r = (g * rows + i) * G + hh. The runtime sends at most decodeRows rows (Sq x Hq);
  // the clamp keeps the scratch safe regardless.
  int64_t headsQ = s.headsKv * s.group;
  Value rows = e.mins(lq, e.index(decodeRows / headsQ));
  rowsPerGroup = e.mul(rows, e.index(s.group));
  rowCount = e.mul(rows, e.index(headsQ));
  pmin = e.sub(lkv, lq);
  lastKey = e.sub(lkv, e.index(1));
  pmax = e.sub(e.add(pmin, rows), e.index(1));

  Value chunk = e.ceildiv(lkv, numSplits);
  chunk = e.mul(e.ceildiv(chunk, e.index(blockK)), e.index(blockK));
  Value kvBegin = e.mins(e.mul(split, chunk), lkv);
  Value kvEnd = e.mins(e.add(kvBegin, chunk), lkv);

  // Queries (scaled) of every row, and a fresh online-softmax state.
  Value scale = launchScale;
  e.loop(e.index(0), rowCount, e.index(1), [&](Value r) {
    auto [row, head] = rowAndHead(r);
    VectorType pairs = VectorType::get({2 * width}, s.elementType);
    for (int64_t c = 0; dpbf16 && c < s.headDim / (2 * width); ++c) // raw, unscaled
      b.create<vector::StoreOp>(
          b.create<vector::LoadOp>(pairs, q, ValueRange{bIdx, row, head, e.index(c * 2 * width)}),
          qbf, ValueRange{r, e.index(c * 2 * width)});
    for (int64_t c = 0; !dpbf16 && c < dChunks; ++c) {
      Value x = b.create<vector::LoadOp>(VectorType::get({width}, s.elementType), q,
                                         ValueRange{bIdx, row, head, e.index(c * width)});
      if (!s.elementType.isF32())
        x = b.create<arith::ExtFOp>(vecF32, x);
      b.create<vector::StoreOp>(e.mulf(x, e.splat(vecF32, scale)), qs,
                                ValueRange{r, e.index(c * width)});
    }
    for (int64_t c = 0; c < dvChunks; ++c)
      b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), acc, ValueRange{r, e.index(c * width)});
    b.create<memref::StoreOp>(e.f32(-std::numeric_limits<double>::infinity()), mrow, ValueRange{r});
    b.create<memref::StoreOp>(e.f32(0.0), lrow, ValueRange{r});
    if (s.alibi)
      b.create<memref::StoreOp>(
          b.create<arith::NegFOp>(b.create<memref::LoadOp>(alibi, ValueRange{head})), negSlope,
          ValueRange{r});
  });

  KeyRange range = visibleKeys(e, s.mask, pmin, pmax, kvBegin, kvEnd);
  forEachTile(e, range, blockK, [&](Value j0, Value n) { visitTile(j0, n); });

  // Partial results: O = acc / l and LSE = m + log l, or 0 and -inf for a row that saw nothing.
  // Split 0 holds the sinks (so that merging counts each once): its rows' LSE includes them.
  Value zero = e.f32(0.0), one = e.f32(1.0);
  Value firstSplit = e.cmpi(CmpIPredicate::eq, split, e.index(0));
  e.loop(e.index(0), rowCount, e.index(1), [&](Value r) {
    auto [row, head] = rowAndHead(r);
    Value l = b.create<memref::LoadOp>(lrow, ValueRange{r});
    Value m = b.create<memref::LoadOp>(mrow, ValueRange{r});
    Value rescale = one;
    if (s.sinks) {
      Value sink = e.select(firstSplit, b.create<memref::LoadOp>(sinks, ValueRange{head}),
                            e.f32(-std::numeric_limits<double>::infinity()));
      RowState state = foldSink(e, m, l, Value(), sink);
      m = state.m, l = state.l, rescale = state.rescale;
    }
    Value seen = e.cmpf(CmpFPredicate::OGT, l, zero);
    Value inv = e.splat(vecF32, e.select(seen, e.divf(rescale, l), zero));
    for (int64_t c = 0; c < dvChunks; ++c) {
      Value x = b.create<vector::LoadOp>(vecF32, acc, ValueRange{r, e.index(c * width)});
      b.create<vector::StoreOp>(e.mulf(x, inv), oParts,
                                ValueRange{partBatch, row, head, e.index(c * width)});
    }
    Value logSum = e.addf(m, b.create<math::LogOp>(e.select(seen, l, one)));
    Value lse = e.select(seen, logSum, e.f32(-std::numeric_limits<double>::infinity()));
    b.create<memref::StoreOp>(lse, lseParts, ValueRange{partBatch, head, row});
  });
}

void DecodeKernelGen::visitTile(Value j0, Value n) {
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  // Keys past the tile's end score -inf so the softmax can run over whole vectors.
  e.loop(n, e.index(blockK), e.index(1), [&](Value j) {
    e.loop(e.index(0), rowCount, e.index(1), [&](Value r) {
      b.create<memref::StoreOp>(negInf, st, ValueRange{r, j});
    });
  });
  Value full;
  if (s.mask.masked())
    full = tileFullyVisible(e, s.mask, j0, n, pmin, pmax);

  // A whole score: softcap, ALiBi, then the mask on tiles that are not fully visible.
  auto finishScore = [&](Value score, Value key, Value r, Value rowInGroup) {
    if (s.softcap)
      score =
          e.mulf(e.f32(*s.softcap), b.create<math::TanhOp>(e.mulf(score, e.f32(1.0 / *s.softcap))));
    if (s.alibi) {
      auto i32 = [&](Value x) { return b.create<arith::IndexCastOp>(b.getI32Type(), x); };
      Value pos = e.add(pmin, e.divs(rowInGroup, e.index(s.group)));
      score = e.addf(score, alibiBias(e, b.create<memref::LoadOp>(negSlope, ValueRange{r}),
                                      i32(key), i32(pos)));
    }
    if (full) {
      Value pos = e.add(pmin, e.divs(rowInGroup, e.index(s.group)));
      Value visible =
          e.ori(full, keyVisible(e, s.mask, key, pos, [&](int64_t x) { return e.index(x); }));
      score = e.select(visible, score, negInf);
    }
    return score;
  };

  // Scores: one load of each K row (a slice of it at a time when the row does not fit the
  // registers), dotted with every query row of its group; a slice's dot products add to the
  // previous slices' in St.
  e.loop(e.index(0), n, e.index(1), [&](Value j) {
    Value key = e.add(j0, j);
    KvRow row = rowOf(key);
    if (tileRows) {
      b.create<memref::StoreOp>(row.first, tileRows, ValueRange{j, e.index(0)});
      b.create<memref::StoreOp>(row.second, tileRows, ValueRange{j, e.index(1)});
    }
    // Copied V tiles (f16/bf16, f32 in 8-lane code), and f32 in a paged cache (pages are not
    // one stream for the hardware's prefetcher): the lines of the key 16 ahead. Prefetches never
    // fault, but a paged cache's table must not be read past the last key.
    bool prefetch = packV || s.pageSize;
    KvRow aheadRow;
    if (prefetch) {
      Value ahead = e.add(key, e.index(16));
      aheadRow = s.pageSize ? rowOf(e.mins(ahead, lastKey)) : KvRow{bIdx, ahead};
    }
    e.loop(e.index(0), e.index(s.headsKv), e.index(1), [&](Value g) {
      if (prefetch) {
        // The K and V lines of the key 16 ahead (f16/bf16: measured +18-25% at 16384 keys;
        // contiguous f32 on AVX-512 runs at memory speed without, and 5% slower with). Prefetches
        // never fault, so the run past the last key of a contiguous cache is harmless.
        prefetchKvRow(e, s, k, v, aheadRow, g);
      }
      if (dpbf16) {
        // The whole K row in registers as pairs (D / 32 vectors; D <= 512 leaves room).
        VectorType pairs = VectorType::get({2 * width}, s.elementType);
        int64_t pairChunks = s.headDim / (2 * width);
        SmallVector<Value> kv;
        for (int64_t c = 0; c < pairChunks; ++c)
          kv.push_back(b.create<vector::LoadOp>(
              pairs, k, ValueRange{row.first, row.second, g, e.index(c * 2 * width)}));
        forRowsOfGroup(g, [&](Value r, Value rowInGroup) {
          SmallVector<Value> partial(std::min<int64_t>(2, pairChunks), e.splatF32(vecF32, 0.0));
          for (int64_t c = 0; c < pairChunks; ++c) {
            Value qv = b.create<vector::LoadOp>(pairs, qbf, ValueRange{r, e.index(c * 2 * width)});
            partial[c % partial.size()] = dotBf16(e, partial[c % partial.size()], qv, kv[c]);
          }
          Value sum = partial.size() > 1 ? e.addf(partial[0], partial[1]) : partial[0];
          Value score =
              e.mulf(b.create<vector::ReductionOp>(vector::CombiningKind::ADD, sum), launchScale);
          b.create<memref::StoreOp>(finishScore(score, key, r, rowInGroup), st, ValueRange{r, j});
        });
        return;
      }
      for (int64_t c0 = 0; c0 < dChunks; c0 += dSlice) {
        int64_t c1 = std::min(dChunks, c0 + dSlice);
        bool last = c1 == dChunks;
        SmallVector<Value> kv;
        for (int64_t c = c0; c < c1; ++c)
          kv.push_back(loadRow(k, row, g, c));
        forRowsOfGroup(g, [&](Value r, Value rowInGroup) {
          // Four independent partial sums: one FMA chain would wait on the FMA latency.
          SmallVector<Value> partial(std::min<int64_t>(4, c1 - c0), e.splatF32(vecF32, 0.0));
          for (int64_t c = c0; c < c1; ++c) {
            Value qv = b.create<vector::LoadOp>(vecF32, qs, ValueRange{r, e.index(c * width)});
            partial[(c - c0) % partial.size()] =
                e.fma(qv, kv[c - c0], partial[(c - c0) % partial.size()]);
          }
          while (partial.size() > 1) {
            partial[0] = e.addf(partial[0], partial.back());
            partial.pop_back();
            if (partial.size() > 1) {
              partial[1] = e.addf(partial[1], partial.back());
              partial.pop_back();
            }
          }
          Value score = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, partial[0]);
          if (c0 > 0)
            score = e.addf(score, b.create<memref::LoadOp>(st, ValueRange{r, j}));
          if (last)
            score = finishScore(score, key, r, rowInGroup);
          b.create<memref::StoreOp>(score, st, ValueRange{r, j});
        });
      }
    });
  });

  updateSoftmax();

  // O = alpha·O + P·V, pvRows rows at a time with their outputs in registers across the tile's
  // keys (the V tile stays in cache between rows; keeping O in memory instead costs a store and
  // a store-to-load forward per FMA).
  e.loop(e.index(0), e.index(s.headsKv), e.index(1), [&](Value g) {
    if (vp) // convert (f16/bf16) or copy (f32) the head's V tile once, not once per query row
      e.loop(e.index(0), n, e.index(1), [&](Value j) {
        KvRow row = tileRow(j0, j);
        for (int64_t c = 0; c < dvChunks; ++c)
          b.create<vector::StoreOp>(loadRow(v, row, g, c), vp, ValueRange{j, e.index(c * width)});
      });
    // Rows of the group pvRows at a time, then one by one: a V load serves each row of the
    // group, and its accumulators and P broadcasts stay within the registers.
    Value first = e.mul(g, rowsPerGroup);
    Value end = e.add(first, rowsPerGroup);
    Value groupsEnd = e.add(first, e.mul(e.divs(rowsPerGroup, e.index(pvRows)), e.index(pvRows)));
    e.loop(first, groupsEnd, e.index(pvRows),
           [&](Value r) { accumulateRows(j0, n, g, r, pvRows); });
    if (pvRows > 1)
      e.loop(groupsEnd, end, e.index(1), [&](Value r) { accumulateRows(j0, n, g, r, 1); });
  });
}

/// acc[r0 + x] = alpha·acc[r0 + x] + P[r0 + x]·V over the tile for x < count, a slice of the
/// head dims at a time with the slice's outputs in registers across the tile's keys.
void DecodeKernelGen::accumulateRows(Value j0, Value n, Value g, Value r0, int64_t count) {
  int64_t registers = vectorRegistersFor(width);
  // Per slice: count x slice accumulators, count P broadcasts and one V load.
  int64_t slice = equalSlice(dvChunks, (registers - count - 1) / count);
  SmallVector<Value> rows, scale;
  for (int64_t x = 0; x < count; ++x) {
    rows.push_back(e.add(r0, e.index(x)));
    scale.push_back(e.splat(vecF32, b.create<memref::LoadOp>(alpha, ValueRange{rows[x]})));
  }
  for (int64_t c0 = 0; c0 < dvChunks; c0 += slice) {
    int64_t c1 = std::min(dvChunks, c0 + slice), w = c1 - c0;
    SmallVector<Value> inits;
    for (int64_t x = 0; x < count; ++x)
      for (int64_t c = c0; c < c1; ++c)
        inits.push_back(
            e.mulf(b.create<vector::LoadOp>(vecF32, acc, ValueRange{rows[x], e.index(c * width)}),
                   scale[x]));
    SmallVector<Value> out =
        e.loop(e.index(0), n, e.index(1), inits, [&](Value j, ValueRange carried) {
          SmallVector<Value> p;
          for (int64_t x = 0; x < count; ++x)
            p.push_back(e.splat(vecF32, b.create<memref::LoadOp>(st, ValueRange{rows[x], j})));
          KvRow row = vp ? KvRow{} : tileRow(j0, j);
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t c = c0; c < c1; ++c) {
            Value vv = vRow(row, j, g, c);
            for (int64_t x = 0; x < count; ++x)
              next[x * w + c - c0] = e.fma(p[x], vv, next[x * w + c - c0]);
          }
          return next;
        });
    for (int64_t x = 0; x < count; ++x)
      for (int64_t c = c0; c < c1; ++c)
        b.create<vector::StoreOp>(out[x * w + c - c0], acc,
                                  ValueRange{rows[x], e.index(c * width)});
  }
}

/// Per row, vectorized along the tile's keys: new max, rescale factor, probabilities, sum.
void DecodeKernelGen::updateSoftmax() {
  Value negInf = e.f32(-std::numeric_limits<double>::infinity());
  e.loop(e.index(0), rowCount, e.index(1), [&](Value r) {
    Value tileMax = e.splat(vecF32, negInf);
    for (int64_t c = 0; c < kChunks; ++c)
      tileMax =
          e.maxf(tileMax, b.create<vector::LoadOp>(vecF32, st, ValueRange{r, e.index(c * width)}));
    Value oldMax = b.create<memref::LoadOp>(mrow, ValueRange{r});
    auto [newMax, safeMax, rescale] = onlineSoftmaxStep(
        e, oldMax, b.create<vector::ReductionOp>(vector::CombiningKind::MAXNUMF, tileMax), negInf,
        e.f32(0.0));
    Value safeVec = e.splat(vecF32, safeMax);
    Value sum = e.splatF32(vecF32, 0.0);
    for (int64_t c = 0; c < kChunks; ++c) {
      Value x = b.create<vector::LoadOp>(vecF32, st, ValueRange{r, e.index(c * width)});
      Value p = b.create<math::ExpOp>(e.subf(x, safeVec));
      b.create<vector::StoreOp>(p, st, ValueRange{r, e.index(c * width)});
      sum = e.addf(sum, p);
    }
    Value l = b.create<memref::LoadOp>(lrow, ValueRange{r});
    Value total = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, sum);
    b.create<memref::StoreOp>(e.addf(e.mulf(rescale, l), total), lrow, ValueRange{r});
    b.create<memref::StoreOp>(newMax, mrow, ValueRange{r});
    b.create<memref::StoreOp>(rescale, alpha, ValueRange{r});
  });
}

func::FuncOp mlir::attn::buildDecodeKernel(OpBuilder &builder, AttentionOp op,
                                           const CPUKernelConfig &config) {
  MLIRContext *ctx = builder.getContext();
  SoftmaxSpec spec(op);
  Type f32 = Float32Type::get(ctx);
  MemRefType bshd = bshdMemRefType(spec.elementType);
  SmallVector<Type> args = {bshd,
                            bshd,
                            bshd,
                            bshdMemRefType(f32),
                            statMemRefType(ctx),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            vectorMemRefType(IntegerType::get(ctx, 32)),
                            blockTableMemRefType(ctx),
                            vectorMemRefType(f32),
                            vectorMemRefType(f32),
                            vectorMemRefType(IntegerType::get(ctx, 64))};
  func::FuncOp fn = createKernelFunction(builder, op.getLoc(), kSoftmaxDecodeName, args);
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  OpBuilder::InsertionGuard guard(b);
  DecodeKernelGen(b, spec, config).emit(fn);
  return fn;
}
