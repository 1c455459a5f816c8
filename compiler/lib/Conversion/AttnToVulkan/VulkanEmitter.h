//===- VulkanEmitter.h - what the Vulkan generators add to KernelEmitter -*- C++ -*-===//
//
// The Vulkan-specific micro-operations behind the shared attention logic: element loads and
// stores in the storage type (bf16 as 16-bit integers), shared memory (memref.alloc in address
// space 3: the only form the SPIR-V conversion accepts, ../shared/GPU.md), subgroup reductions
// and lane broadcasts, and tensor addressing from the launch parameters.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H
#define ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H

#include "attn/Conversion/Common/KernelEmitter.h"
#include "attn/attn_jit_plugin.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::attn {

/// The element type a tensor of `type` is stored as in a buffer: bf16 as i16.
Type storageType(Type type);
/// A 1-D storage buffer of `element`.
MemRefType buffer(Type element);
/// An empty kernel `name` (gpu.func with the SPIR-V entry point ABI) in the module's gpu.module
/// (created on first use, with the SPIR-V target environment the module was given).
gpu::GPUFuncOp createVulkanKernel(OpBuilder &builder, Location loc, StringRef name,
                                  ArrayRef<Type> args, int64_t workgroupSize);

/// A tensor's offset and strides of dims 0..2 (elements), from the launch parameters.
struct TensorAddress {
  Value offset, stride0, stride1, stride2;
  /// The element offset of [i0, i1, i2, 0].
  Value at(KernelEmitter &e, Value i0, Value i1, Value i2) const {
    return e.add(e.add(offset, e.mul(i0, stride0)), e.add(e.mul(i1, stride1), e.mul(i2, stride2)));
  }
};

class GpuEmitter {
public:
  explicit GpuEmitter(ImplicitLocOpBuilder &b) : b(b), e(b, /*guardEmptyLoops=*/true) {}

  Value loadIndex(Value buf, Value i);
  /// Batch b's query (key) length: lens[offset + b] clamped to [0, full] when the launch
  /// parameters say the lengths are given (their flag and offset are read from `params`), else
  /// full. (Lengths are device data the runtime cannot check: clamping keeps accesses in bounds.)
  Value queryLength(Value params, Value lens, Value batchIndex, Value full);
  Value keyLength(Value params, Value lens, Value batchIndex, Value full);
  TensorAddress tensorAddress(Value params, int64_t first);
  /// buf[i] as f32 (buf holds `type`: f32, f16 or bf16 as i16).
  Value loadF32(Value buf, Value i, Type type);
  /// buf[i] = x rounded to `type` (round to nearest even; NaN stays NaN).
  void storeF32(Value x, Value buf, Value i, Type type);
  /// f32[count] in workgroup memory.
  Value shared(int64_t count);
  void barrier() { b.create<gpu::BarrierOp>(); }
  Value subgroupMax(Value x);
  Value subgroupSum(Value x);
  /// x of lane `src` (an index) to every lane of a subgroup of `lanes`.
  Value broadcastLane(Value x, Value src, int64_t lanes);

private:
  Value batchLength(Value params, int64_t flag, int64_t offset, Value lens, Value batchIndex,
                    Value full);

  ImplicitLocOpBuilder &b;
  KernelEmitter e;
};

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H
