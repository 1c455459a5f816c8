//===- LinearKernel.cpp - kernelized linear attention for the CPU ---------===//
//
// One work item is (batch b, kv head g) with all G query heads of the group. Keys are taken in
// chunks of C: each chunk's φ(K) (transposed, D x C) and V (C x Dv) are packed once as f32, and
// the state S = Σ φ(k_j) v_jᵀ (D x Dv) and z = Σ φ(k_j) grow by one product per chunk.
// Non-causal: every query reads the final state. Causal (bottom-right aligned, p_i = i + Lkv -
// Lq): the queries whose position falls in a chunk read the state of the previous chunks plus
// the chunk's keys j <= p_i, then the chunk is folded in:
//   A   = φ(Q) φ(K_c)ᵀ, masked to j <= p_i        (rows x C)
//   num = φ(Q) S + A V_c,  den = φ(Q)·z + Σ_j A    (one product over D + C terms per output)
// Cost O(S·D·Dv + S·C·(D + Dv)): linear in the sequence length.
//
// Every product is one register-blocked micro-kernel (`block`): R rows x T vectors of columns of
// f32 accumulators, a broadcast scalar of the left operand times T vectors of the right one per
// step, with R·T filling the register file (24 accumulators of 32 zmm, 8 of 16 ymm). The column
// tiles are the outer loop so that the right operand's tile stays in L1 across the row blocks.
// Rows left over after the blocks of R go through blocks of 8, 4, 2 and 1. φ(K) is transposed in
// registers (two-source shuffles) as it is packed: A's right operand is φ(K)ᵀ.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"

#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

namespace {

// Rows (keys, queries) ahead of the ones in use whose lines are prefetched.
constexpr int64_t kAhead = 32;

/// One sum of a product: Σ_{kk < end} lhs(r, kk) · rhs(kk, column vector c).
struct Term {
  std::function<Value(Value r0, int64_t rows)> end; // bound for the block of rows at r0
  std::function<Value(Value r, Value kk)> lhs;      // f32 scalar
  std::function<Value(Value kk, int64_t c)> rhs;    // f32 vector of `width` columns
};
/// Consumes the accumulator of row r, column vector c.
using Epilogue = std::function<void(Value r, int64_t c, Value acc)>;
/// Emits the block of rows [r0, r0 + rows) x column vectors [c0, c0 + tile).
using BlockFn = std::function<void(Value r0, int64_t rows, int64_t c0, int64_t tile)>;

class LinearKernelGen {
public:
  LinearKernelGen(ImplicitLocOpBuilder &b, LinearAttentionOp op, const CPUKernelConfig &config)
      : b(b), e(b), width(config.vectorWidth), chunkKeys(config.blockK) {
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
    f32 = b.getF32Type();
    vecF32 = VectorType::get({width}, f32);
    dChunks = headDim / width;
    dvChunks = headDimV / width;
    keyChunks = chunkKeys / width;
    // 8 registers stay free for the right operand's tile and the broadcast.
    accumulators = vectorRegistersFor(width) - 8;
    tileV = std::min<int64_t>(dvChunks, accumulators >= 24 ? 4 : 2);
    rowsV = std::min<int64_t>(8, accumulators / tileV);
    // A's columns are keys: tiles of two vectors, so that a row block skips the masked ones.
    tileA = std::min<int64_t>(keyChunks, 2);
    rowsA = std::min<int64_t>(16, accumulators / tileA);
  }

  void emit(func::FuncOp fn);

private:
  Value phi(Value x);
  Value load(Value memref, ValueRange indices, Type type);
  Value loadF32(Value memref, ValueRange indices) {
    return b.create<memref::LoadOp>(memref, indices);
  }
  Value loadVec(Value memref, Value i, int64_t c) {
    return b.create<vector::LoadOp>(vecF32, memref, ValueRange{i, e.index(c * width)});
  }
  void storeVec(Value x, Value memref, Value i, int64_t c) {
    b.create<vector::StoreOp>(x, memref, ValueRange{i, e.index(c * width)});
  }
  void block(Value r0, int64_t rows, int64_t c0, int64_t tile, ArrayRef<Term> terms,
             const Epilogue &epilogue);
  void tiled(Value rowCount, int64_t rowsPerBlock, int64_t chunks, int64_t tile, const BlockFn &fn);
  void prefetchRow(Value memref, Value row, Value head, int64_t dim, bool write);
  void packChunk(Value c0, Value n);
  void foldChunk(Value n);
  void answer(Value i0, Value count, Value c0, Value n, bool intra);
  Value rowOf(Value i0, Value r) { return e.add(i0, e.divs(r, e.index(group))); }
  Value headOf(Value r) { return e.add(e.mul(gIdx, e.index(group)), e.rems(r, e.index(group))); }

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
  int64_t width, chunkKeys, headsKv, group, headDim, headDimV, dChunks, dvChunks, keyChunks;
  int64_t accumulators, tileV, rowsV, tileA, rowsA;
  Type elt, f32;
  VectorType vecF32;
  FeatureMap featureMap;
  bool causal, normalize;
  Value scale; // the launch's (f32, params[ATTN_PARAM_SCALE])

  Value q, k, v, o;
  Value state, z, kt, vc, zc, fq, att, den; // scratch
  Value bIdx, gIdx, shift, seqQ, seqKv;
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

/// Accumulators acc[x][c] = Σ_terms Σ_kk lhs(r0 + x, kk) rhs(kk, c0 + c), kept in registers over
/// every term's loop, then handed to the epilogue.
void LinearKernelGen::block(Value r0, int64_t rows, int64_t c0, int64_t tile, ArrayRef<Term> terms,
                            const Epilogue &epilogue) {
  SmallVector<Value> rs;
  for (int64_t x = 0; x < rows; ++x)
    rs.push_back(e.add(r0, e.index(x)));
  SmallVector<Value> acc(rows * tile, e.splatF32(vecF32, 0.0));
  for (const Term &term : terms)
    acc =
        e.loop(e.index(0), term.end(r0, rows), e.index(1), acc, [&](Value kk, ValueRange carried) {
          SmallVector<Value> rhs;
          for (int64_t c = 0; c < tile; ++c)
            rhs.push_back(term.rhs(kk, c0 + c));
          SmallVector<Value> next(carried.begin(), carried.end());
          for (int64_t x = 0; x < rows; ++x) {
            Value l = e.splat(vecF32, term.lhs(rs[x], kk));
            for (int64_t c = 0; c < tile; ++c)
              next[x * tile + c] = e.fma(l, rhs[c], next[x * tile + c]);
          }
          return next;
        });
  for (int64_t x = 0; x < rows; ++x)
    for (int64_t c = 0; c < tile; ++c)
      epilogue(rs[x], c0 + c, acc[x * tile + c]);
}

/// Rows [0, rowCount) x column vectors [0, chunks): tiles of `tile` vectors (outer), blocks of
/// `rowsPerBlock` (<= 16) rows, then the rest in blocks of 8, 4, 2 and 1.
void LinearKernelGen::tiled(Value rowCount, int64_t rowsPerBlock, int64_t chunks, int64_t tile,
                            const BlockFn &fn) {
  for (int64_t c0 = 0; c0 < chunks; c0 += tile) {
    int64_t t = std::min(tile, chunks - c0);
    Value per = e.index(rowsPerBlock);
    Value mainEnd = e.mul(e.divs(rowCount, per), per);
    e.loop(e.index(0), mainEnd, per, [&](Value r0) { fn(r0, rowsPerBlock, c0, t); });
    Value rest = e.sub(rowCount, mainEnd); // < rowsPerBlock <= 16
    for (int64_t size : {8, 4, 2, 1}) {
      if (size >= rowsPerBlock)
        continue;
      Value done = e.andi(rest, e.index(~(2 * size - 1) & 15)); // the larger blocks before this
      e.ifThen(e.cmpi(CmpIPredicate::ne, e.andi(rest, e.index(size)), e.index(0)),
               [&] { fn(e.add(mainEnd, done), size, c0, t); });
    }
  }
}

/// The rows of a head are 4 KiB apart or more in [B, S, H, D], one page each: the hardware
/// prefetcher does not follow them, so the kernel asks for the lines a chunk ahead.
void LinearKernelGen::prefetchRow(Value memref, Value row, Value head, int64_t dim, bool write) {
  int64_t perLine = 64 / (elt.getIntOrFloatBitWidth() / 8);
  for (int64_t d = 0; d < dim; d += perLine)
    b.create<memref::PrefetchOp>(memref, ValueRange{bIdx, row, head, e.index(d)}, write,
                                 /*localityHint=*/3, /*isDataCache=*/true);
}

/// The transpose of the width x width block whose rows are `rows`, in registers: log2(width)
/// stages of two-source shuffles, stage s swapping the off-diagonal s x s sub-blocks of every 2s x
/// 2s block (bit s of the row index with bit s of the column index), width shuffles each.
static SmallVector<Value> transposeBlock(ImplicitLocOpBuilder &b, SmallVector<Value> rows) {
  int64_t w = rows.size();
  for (int64_t s = 1; s < w; s *= 2) {
    SmallVector<int64_t> lo, hi;
    for (int64_t l = 0; l < w; ++l) {
      lo.push_back(l & s ? w + l - s : l);
      hi.push_back(l & s ? w + l : l + s);
    }
    for (int64_t i = 0; i < w; ++i)
      if (!(i & s)) {
        Value x = rows[i], y = rows[i + s];
        rows[i] = b.create<vector::ShuffleOp>(x, y, lo);
        rows[i + s] = b.create<vector::ShuffleOp>(x, y, hi);
      }
  }
  return rows;
}

/// kt[:, j] = φ(k_{c0+j}), vc[j] = v_{c0+j} for j < n; zc = Σ_{j<n} φ(k_{c0+j}). Keys go in
/// groups of `width` (block_k is a multiple of it), each group's φ(K) transposed in registers;
/// a last group's keys past n read a row in bounds and are masked out of zc (kt's and vc's
/// columns and rows past n are never used unmasked).
void LinearKernelGen::packChunk(Value c0, Value n) {
  SmallVector<Value> zero(dChunks, e.splatF32(vecF32, 0.0));
  Value step = e.index(width), lastKey = e.sub(seqKv, e.index(1));
  SmallVector<Value> sums = e.loop(
      e.index(0), e.mul(e.ceildiv(n, step), step), step, zero, [&](Value j0, ValueRange carried) {
        SmallVector<Value> keys, valid;
        for (int64_t jj = 0; jj < width; ++jj) {
          Value j = e.add(j0, e.index(jj));
          keys.push_back(e.mins(e.add(c0, j), lastKey));
          valid.push_back(e.cmpi(CmpIPredicate::slt, j, n));
          Value ahead = e.mins(e.add(keys.back(), e.index(kAhead)), lastKey);
          prefetchRow(k, ahead, gIdx, headDim, /*write=*/false);
          prefetchRow(v, ahead, gIdx, headDimV, /*write=*/false);
          for (int64_t c = 0; c < dvChunks; ++c)
            storeVec(load(v, {bIdx, keys.back(), gIdx, e.index(c * width)}, elt), vc, j, c);
        }
        SmallVector<Value> next(carried.begin(), carried.end());
        Value zeroVec = e.splatF32(vecF32, 0.0);
        for (int64_t c = 0; c < dChunks; ++c) {
          SmallVector<Value> rows;
          for (int64_t jj = 0; jj < width; ++jj) {
            rows.push_back(phi(load(k, {bIdx, keys[jj], gIdx, e.index(c * width)}, elt)));
            next[c] = e.addf(next[c], e.select(valid[jj], rows.back(), zeroVec));
          }
          SmallVector<Value> cols = transposeBlock(b, rows);
          for (int64_t l = 0; l < width; ++l)
            b.create<vector::StoreOp>(cols[l], kt, ValueRange{e.index(c * width + l), j0});
        }
        return next;
      });
  for (int64_t c = 0; c < dChunks; ++c)
    b.create<vector::StoreOp>(sums[c], zc, ValueRange{e.index(c * width)});
}

/// S += φ(K_c)ᵀ V_c over the chunk's n keys, z += zc.
void LinearKernelGen::foldChunk(Value n) {
  Term term{[&](Value, int64_t) { return n; },
            [&](Value d, Value j) {
              return loadF32(kt, {d, j});
            },
            [&](Value j, int64_t c) { return loadVec(vc, j, c); }};
  tiled(e.index(headDim), rowsV, dvChunks, tileV,
        [&](Value d0, int64_t rows, int64_t c0, int64_t tile) {
          block(d0, rows, c0, tile, term, [&](Value d, int64_t c, Value acc) {
            storeVec(e.addf(loadVec(state, d, c), acc), state, d, c);
          });
        });
  for (int64_t c = 0; c < dChunks; ++c) {
    Value off = e.index(c * width);
    Value sum = e.addf(b.create<vector::LoadOp>(vecF32, z, ValueRange{off}),
                       b.create<vector::LoadOp>(vecF32, zc, ValueRange{off}));
    b.create<vector::StoreOp>(sum, z, ValueRange{off});
  }
}

/// Answers queries [i0, i0 + count) of every head of the group (rows r = ii * G + hh) from the
/// state, plus, when `intra`, the keys of the chunk at c0 (n of them) up to each query's position.
void LinearKernelGen::answer(Value i0, Value count, Value c0, Value n, bool intra) {
  Value rowCount = e.mul(count, e.index(group));
  Value scaleValue = e.splat(vecF32, scale);
  // fq[r] = φ(scale · q_r), den[r] = fq[r]·z.
  e.loop(e.index(0), rowCount, e.index(1), [&](Value r) {
    Value row = rowOf(i0, r), head = headOf(r);
    prefetchRow(q, e.mins(e.add(row, e.index(kAhead)), e.sub(seqQ, e.index(1))), head, headDim,
                /*write=*/false);
    prefetchRow(o, row, head, headDimV, /*write=*/true); // written by this chunk's product
    Value dot = e.splatF32(vecF32, 0.0);
    for (int64_t c = 0; c < dChunks; ++c) {
      Value off = e.index(c * width);
      Value x = phi(e.mulf(load(q, {bIdx, row, head, off}, elt), scaleValue));
      storeVec(x, fq, r, c);
      dot = e.fma(x, b.create<vector::LoadOp>(vecF32, z, ValueRange{off}), dot);
    }
    b.create<memref::StoreOp>(b.create<vector::ReductionOp>(vector::CombiningKind::ADD, dot), den,
                              ValueRange{r});
  });
  // p_r - c0 for row r (within [0, n) for the rows a chunk answers), and the largest of a block:
  // rows grow with r, so it is the block's last row's.
  auto last = [&](Value r) { return e.sub(e.add(rowOf(i0, r), shift), c0); };
  auto blockLast = [&](Value r0, int64_t rows) { return last(e.add(r0, e.index(rows - 1))); };
  Term stateTerm{[&](Value, int64_t) { return e.index(headDim); },
                 [&](Value r, Value d) {
                   return loadF32(fq, {r, d});
                 },
                 [&](Value d, int64_t c) { return loadVec(state, d, c); }};
  SmallVector<Term> terms = {stateTerm};
  if (intra) {
    // att = φ(Q) φ(K_c)ᵀ masked to j <= p_r, den += Σ_j att; a tile of keys past every row of
    // the block is zero without a product.
    SmallVector<int32_t> lanes;
    for (int64_t l = 0; l < width; ++l)
      lanes.push_back(static_cast<int32_t>(l));
    auto vecI32 = VectorType::get({width}, b.getI32Type());
    Value iota = b.create<arith::ConstantOp>(DenseElementsAttr::get(vecI32, ArrayRef(lanes)));
    Term keyTerm{[&](Value, int64_t) { return e.index(headDim); },
                 [&](Value r, Value d) {
                   return loadF32(fq, {r, d});
                 },
                 [&](Value d, int64_t c) { return loadVec(kt, d, c); }};
    tiled(rowCount, rowsA, keyChunks, tileA, [&](Value r0, int64_t rows, int64_t c0, int64_t tile) {
      Value first = e.index(c0 * width);
      e.ifThenElse(
          e.cmpi(CmpIPredicate::sle, first, blockLast(r0, rows)),
          [&] {
            block(r0, rows, c0, tile, keyTerm, [&](Value r, int64_t c, Value acc) {
              Value lastI32 = b.create<arith::IndexCastOp>(b.getI32Type(), last(r));
              Value keys = b.create<arith::AddIOp>(
                  iota, e.splat(vecI32, e.i32(static_cast<int32_t>(c * width))));
              Value visible = e.cmpi(CmpIPredicate::sle, keys, e.splat(vecI32, lastI32));
              Value masked = e.select(visible, acc, e.splatF32(vecF32, 0.0));
              storeVec(masked, att, r, c);
              Value sum = b.create<vector::ReductionOp>(vector::CombiningKind::ADD, masked);
              b.create<memref::StoreOp>(e.addf(loadF32(den, {r}), sum), den, ValueRange{r});
            });
          },
          [&] {
            for (int64_t x = 0; x < rows; ++x)
              for (int64_t c = c0; c < c0 + tile; ++c)
                storeVec(e.splatF32(vecF32, 0.0), att, e.add(r0, e.index(x)), c);
          });
    });
    terms.push_back(
        {[&](Value r0, int64_t rows) { return e.mins(n, e.add(blockLast(r0, rows), e.index(1))); },
         [&](Value r, Value j) {
           return loadF32(att, {r, j});
         },
         [&](Value j, int64_t c) { return loadVec(vc, j, c); }});
  }
  // o_r = (fq[r] S + att[r] V_c) / (den[r] + eps).
  tiled(rowCount, rowsV, dvChunks, tileV, [&](Value r0, int64_t rows, int64_t c0, int64_t tile) {
    block(r0, rows, c0, tile, terms, [&](Value r, int64_t c, Value acc) {
      Value x = acc;
      if (normalize) {
        Value inv = e.divf(e.f32(1.0), e.addf(loadF32(den, {r}), e.f32(1e-6)));
        x = e.mulf(x, e.splat(vecF32, inv));
      }
      if (elt != f32)
        x = b.create<arith::TruncFOp>(VectorType::get({width}, elt), x);
      b.create<vector::StoreOp>(x, o,
                                ValueRange{bIdx, rowOf(i0, r), headOf(r), e.index(c * width)});
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
  KernelEmitter::LaunchParams launch = e.loadParams(params);
  scale = launch.scale;
  seqQ = b.create<memref::DimOp>(q, 1);
  seqKv = b.create<memref::DimOp>(k, 1);

  auto alloc = [&](ArrayRef<int64_t> shape) -> Value {
    return scratchBuffer(b, MemRefType::get(shape, f32));
  };
  state = alloc({headDim, headDimV});
  z = alloc({headDim});
  kt = alloc({headDim, chunkKeys});
  vc = alloc({chunkKeys, headDimV});
  zc = alloc({headDim});
  fq = alloc({chunkKeys * group, headDim});
  att = alloc({chunkKeys * group, chunkKeys});
  den = alloc({chunkKeys * group});
  Value chunk = e.index(chunkKeys);

  e.loop(launch.begin, launch.end, e.index(1), [&](Value item) {
    bIdx = e.divs(item, e.index(headsKv));
    gIdx = e.rems(item, e.index(headsKv));
    Value lq = e.batchLength(seqlensQ, launch.hasSeqlensQ, bIdx, seqQ);
    Value lkv = e.batchLength(seqlensKv, launch.hasSeqlensKv, bIdx, seqKv);
    shift = e.sub(lkv, lq);
    e.loop(e.index(0), e.index(headDim), e.index(1), [&](Value d) {
      for (int64_t c = 0; c < dvChunks; ++c)
        storeVec(e.splatF32(vecF32, 0.0), state, d, c);
    });
    for (int64_t c = 0; c < dChunks; ++c)
      b.create<vector::StoreOp>(e.splatF32(vecF32, 0.0), z, ValueRange{e.index(c * width)});

    auto answerAll = [&](Value lo, Value hi, Value c0, Value n, bool intra) {
      e.loop(lo, hi, chunk,
             [&](Value i0) { answer(i0, e.mins(chunk, e.sub(hi, i0)), c0, n, intra); });
    };
    if (!causal) {
      e.loop(e.index(0), lkv, chunk, [&](Value c0) {
        Value n = e.mins(chunk, e.sub(lkv, c0));
        packChunk(c0, n);
        foldChunk(n);
      });
      answerAll(e.index(0), lq, e.index(0), e.index(0), /*intra=*/false);
      return;
    }
    // Queries before the first key (p_i < 0) see nothing: the empty state answers 0.
    Value blind = e.mins(lq, e.maxs(e.index(0), e.sub(e.index(0), shift)));
    answerAll(e.index(0), blind, e.index(0), e.index(0), /*intra=*/false);
    e.loop(e.index(0), lkv, chunk, [&](Value c0) {
      Value n = e.mins(chunk, e.sub(lkv, c0));
      packChunk(c0, n);
      // The queries whose position falls in this chunk: at most n of them.
      Value qlo = e.maxs(e.index(0), e.sub(c0, shift));
      Value qhi = e.mins(lq, e.sub(e.add(c0, n), shift));
      answerAll(qlo, qhi, c0, n, /*intra=*/true);
      foldChunk(n);
    });
  });
  b.create<func::ReturnOp>();
  placeScratch(fn);
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
