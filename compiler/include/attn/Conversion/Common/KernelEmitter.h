//===- KernelEmitter.h - small builder helpers for kernel bodies -*- C++ -*-===//
//
// The kernel generators build loops, vector arithmetic and memory accesses directly (as Triton
// builds its kernels) so that the register blocking of the micro-kernels is exactly what was
// asked for. These helpers keep that code short: loops with loop-carried values, constants,
// scalar/vector arithmetic.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H
#define ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include <functional>

namespace mlir::attn {

class KernelEmitter {
public:
  /// `guardEmptyLoops`: wrap every loop with carried values whose trip count is not known to be
  /// positive in `scf.if (lo < hi)`. MLIR 19's SCF-to-SPIR-V conversion returns a loop's results
  /// through variables stored in its body, so a loop that runs zero times yields uninitialized
  /// values instead of its inits (seen on lavapipe: a causal linear-attention chunk of one row
  /// read garbage); the GPU generators set it.
  explicit KernelEmitter(ImplicitLocOpBuilder &b, bool guardEmptyLoops = false)
      : b(b), guardEmptyLoops(guardEmptyLoops) {}

  ImplicitLocOpBuilder &builder() { return b; }

  Value index(int64_t v) { return b.create<arith::ConstantIndexOp>(v); }
  Value f32(double v) { return b.create<arith::ConstantOp>(b.getF32FloatAttr(v)); }
  Value i32(int64_t v) { return b.create<arith::ConstantOp>(b.getI32IntegerAttr(v)); }
  Value splat(VectorType type, Value scalar) { return b.create<vector::BroadcastOp>(type, scalar); }
  Value splatF32(VectorType type, double v) { return splat(type, f32(v)); }

  Value add(Value x, Value y) { return b.create<arith::AddIOp>(x, y); }
  Value sub(Value x, Value y) { return b.create<arith::SubIOp>(x, y); }
  Value mul(Value x, Value y) { return b.create<arith::MulIOp>(x, y); }
  Value divs(Value x, Value y) { return b.create<arith::DivSIOp>(x, y); }
  Value rems(Value x, Value y) { return b.create<arith::RemSIOp>(x, y); }
  Value ceildiv(Value x, Value y) { return b.create<arith::CeilDivSIOp>(x, y); }
  Value mins(Value x, Value y) { return b.create<arith::MinSIOp>(x, y); }
  Value maxs(Value x, Value y) { return b.create<arith::MaxSIOp>(x, y); }
  Value cmpi(arith::CmpIPredicate p, Value x, Value y) { return b.create<arith::CmpIOp>(p, x, y); }
  Value andi(Value x, Value y) { return b.create<arith::AndIOp>(x, y); }
  Value ori(Value x, Value y) { return b.create<arith::OrIOp>(x, y); }
  Value select(Value c, Value x, Value y) { return b.create<arith::SelectOp>(c, x, y); }

  Value addf(Value x, Value y) { return b.create<arith::AddFOp>(x, y); }
  Value subf(Value x, Value y) { return b.create<arith::SubFOp>(x, y); }
  Value mulf(Value x, Value y) { return b.create<arith::MulFOp>(x, y); }
  Value divf(Value x, Value y) { return b.create<arith::DivFOp>(x, y); }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) { return b.create<arith::CmpFOp>(p, x, y); }
  /// max without NaN bookkeeping (inputs are never NaN): compiles to a plain vmaxps.
  Value maxf(Value x, Value y) { return select(cmpf(arith::CmpFPredicate::OGT, x, y), x, y); }
  Value fma(Value x, Value y, Value acc) { return b.create<vector::FMAOp>(x, y, acc); }

  Value indexCast(Value v) { return b.create<arith::IndexCastOp>(b.getIndexType(), v); }

  /// The entry points' params memref (attn_jit_plugin.h): item range, seqlens flags, splits,
  /// and the launch's scale (an f32).
  struct LaunchParams {
    Value begin, end, hasSeqlensQ, hasSeqlensKv, numSplits, scale;
  };
  LaunchParams loadParams(Value params);
  /// lens[batchIndex] when `has`, else `full` (a batch's length under optional seqlens).
  Value batchLength(Value lens, Value has, Value batchIndex, Value full);

  using LoopBody = std::function<SmallVector<Value>(Value iv, ValueRange carried)>;
  /// for (iv = lo; iv < hi; iv += step) carried = body(iv, carried); returns the final values.
  SmallVector<Value> loop(Value lo, Value hi, Value step, ValueRange inits, const LoopBody &body);
  /// A loop without carried values.
  void loop(Value lo, Value hi, Value step, const std::function<void(Value iv)> &body);
  void ifThen(Value cond, const std::function<void()> &then);
  /// scf.if without results, with an else branch.
  void ifThenElse(Value cond, const std::function<void()> &then,
                  const std::function<void()> &otherwise);
  /// cond ? then() : otherwise(), both yielding values of `types`.
  SmallVector<Value> ifThenElse(Value cond, TypeRange types,
                                const std::function<SmallVector<Value>()> &then,
                                const std::function<SmallVector<Value>()> &otherwise);

private:
  SmallVector<Value> forLoop(Value lo, Value hi, Value step, ValueRange inits,
                             const LoopBody &body);

  ImplicitLocOpBuilder &b;
  bool guardEmptyLoops;
};

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOCPU_KERNELEMITTER_H
