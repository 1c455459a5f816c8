//===- VulkanEmitter.h - the Vulkan side of the shared GPU generators -*- C++ -*-===//
//
// Vulkan's GpuKernelTarget: 1-D storage buffers (bf16 as 16-bit integers), the SPIR-V entry point
// ABI, launch parameters in a trailing int32 storage buffer, shared memory as memref.alloc in
// address space 3 (the only form the SPIR-V conversion accepts, ../shared/GPU.md) and
// gpu.subgroup_reduce.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H
#define ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H

#include "attn/Conversion/GPU/GpuKernels.h"

namespace mlir::attn {

/// A 1-D storage buffer of `element`.
MemRefType buffer(Type element);

class VulkanKernelTarget : public GpuKernelTarget {
public:
  MemRefType buffer(Type element) const override { return attn::buffer(element); }
  /// The kernel takes one more buffer: the int32 launch parameters.
  gpu::GPUFuncOp createKernel(OpBuilder &builder, Location loc, StringRef name,
                              ArrayRef<Type> buffers, int64_t workgroupSize) const override;
  std::unique_ptr<GpuEmitter> emitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn,
                                      unsigned numBuffers) const override;
};

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOVULKAN_VULKANEMITTER_H
