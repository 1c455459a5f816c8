//===- SimtMergeKernel.cpp - the LSE merge of split-KV partials, SIMT ------===//
//
// One team (subgroup) per (query row, head), its lanes splitting Dv: the shared merge logic
// (Conversion/Common) over the num_splits partials of attn_decode.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/GPU/GpuKernels.h"

#include "mlir/Dialect/Math/IR/Math.h"

#include <limits>

using namespace mlir;
using namespace mlir::attn;
using arith::CmpIPredicate;

void mlir::attn::buildSimtMergeKernel(OpBuilder &builder, const GpuKernelTarget &target,
                                      AttentionOp op, const SimtConfig &config) {
  SoftmaxSpec s(op);
  MLIRContext *ctx = builder.getContext();
  Type f32 = Float32Type::get(ctx), i32 = IntegerType::get(ctx, 32);
  int64_t lanes = config.subgroupSize, teams = config.teams;
  int64_t heads = s.group * s.headsKv, dvSlots = llvm::divideCeil(s.headDimV, lanes);
  auto buf = [&](Type t) -> Type { return target.buffer(t); };
  SmallVector<Type> args = {buf(f32), buf(f32), buf(storageType(s.elementType)), buf(f32),
                            buf(i32)};
  gpu::GPUFuncOp fn = target.createKernel(builder, op.getLoc(), kGpuMergeName, args, teams * lanes);
  OpBuilder::InsertionGuard guard(builder);
  builder.setInsertionPointToStart(&fn.getBody().front());
  ImplicitLocOpBuilder b(op.getLoc(), builder);
  KernelEmitter e(b, /*guardEmptyLoops=*/true);
  std::unique_ptr<GpuEmitter> emitter = target.emitter(b, fn, args.size());
  GpuEmitter &g = *emitter;
  Value parts = fn.getArgument(0), lseParts = fn.getArgument(1), o = fn.getArgument(2);
  Value lse = fn.getArgument(3), seqlensQ = fn.getArgument(4);

  auto param = [&](int64_t i) { return g.param(i); };
  Value batch = param(ATTN_GPU_PARAM_BATCH), seqQ = param(ATTN_GPU_PARAM_SEQ_Q);
  Value numSplits = param(ATTN_GPU_PARAM_NUM_SPLITS);
  TensorAddress oAddr = g.tensorAddress(ATTN_GPU_PARAM_O);
  Value tid = b.create<gpu::ThreadIdOp>(gpu::Dimension::x);
  Value lane = e.rems(tid, e.index(lanes)), team = e.divs(tid, e.index(lanes));
  Value bIdx = b.create<gpu::BlockIdOp>(gpu::Dimension::z);
  Value lq = g.queryLength(seqlensQ, bIdx, seqQ);
  Value lseOffset = param(ATTN_GPU_PARAM_LSE);
  Value items = e.mul(seqQ, e.index(heads));
  Value first = e.add(e.mul(b.create<gpu::BlockIdOp>(gpu::Dimension::x), e.index(teams)), team);
  Value stride = e.mul(b.create<gpu::GridDimOp>(gpu::Dimension::x), e.index(teams));
  Value negInf = e.f32(-std::numeric_limits<double>::infinity()), zero = e.f32(0.0);

  e.loop(first, items, stride, [&](Value item) {
    Value row = e.divs(item, e.index(heads)), head = e.rems(item, e.index(heads));
    e.ifThen(e.cmpi(CmpIPredicate::slt, row, lq), [&] {
      auto part = [&](Value p) { return e.add(e.mul(p, batch), bIdx); };
      auto partLse = [&](Value p) -> Value {
        Value at = e.add(e.mul(e.add(e.mul(part(p), e.index(heads)), head), seqQ), row);
        return b.create<memref::LoadOp>(lseParts, ValueRange{at});
      };
      Value maxLse = e.loop(e.index(0), numSplits, e.index(1), ValueRange{negInf},
                            [&](Value p, ValueRange acc) {
                              return SmallVector<Value>{e.maxf(acc[0], partLse(p))};
                            })[0];
      MergeShift shift = mergeShift(e, maxLse);
      auto weight = [&](Value p) {
        return b.create<math::ExpOp>(e.subf(partLse(p), shift.shift)).getResult();
      };
      Value sum =
          e.loop(e.index(0), numSplits, e.index(1), ValueRange{zero}, [&](Value p, ValueRange acc) {
            return SmallVector<Value>{e.addf(acc[0], weight(p))};
          })[0];
      Value inv = e.select(shift.any, e.divf(e.f32(1.0), sum), zero);
      Value outBase = oAddr.at(e, bIdx, row, head);
      for (int64_t c = 0; c < dvSlots; ++c) {
        Value col = e.add(lane, e.index(c * lanes));
        e.ifThen(e.cmpi(CmpIPredicate::slt, col, e.index(s.headDimV)), [&] {
          Value acc = e.loop(
              e.index(0), numSplits, e.index(1), ValueRange{zero},
              [&](Value p, ValueRange carried) {
                Value at = e.add(
                    e.mul(e.add(e.mul(e.add(e.mul(part(p), seqQ), row), e.index(heads)), head),
                          e.index(s.headDimV)),
                    col);
                Value x = b.create<memref::LoadOp>(parts, ValueRange{at});
                return SmallVector<Value>{e.addf(carried[0], e.mulf(e.mulf(weight(p), inv), x))};
              })[0];
          g.storeF32(acc, o, e.add(outBase, col), s.elementType);
        });
      }
      if (s.lse)
        e.ifThen(e.cmpi(CmpIPredicate::eq, lane, e.index(0)), [&] {
          Value at = e.add(e.mul(e.add(e.mul(bIdx, e.index(heads)), head), seqQ), row);
          b.create<memref::StoreOp>(mergedLse(e, shift, sum), lse,
                                    ValueRange{e.add(lseOffset, at)});
        });
    });
  });
  b.create<gpu::ReturnOp>();
}
