//===- CUDAKernels.h - the CUDA kernel generators --------------*- C++ -*-===//
//
// The CUDA lowering emits kernels in the gpu, nvgpu and nvvm dialects (gpu.func on bare-pointer
// buffers, then the i64 launch parameters: the CUDA ABI of attn_jit_plugin.h). The tensor-core
// prefill is CUDA's own; the SIMT kernels are the ones every GPU target shares
// (Conversion/GPU), behind CUDAKernelTarget.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCUDA_CUDAKERNELS_H
#define ATTN_CONVERSION_ATTNTOCUDA_CUDAKERNELS_H

#include "attn/Conversion/GPU/GpuKernels.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Target/TargetInfo.h"

namespace mlir::attn {

/// Threads per warp.
constexpr int64_t kCUDAWarpSize = 32;
/// Rows of the packed (query row, head) axis one warp owns on the tensor-core path.
constexpr int64_t kCUDARowsPerWarp = 16;
/// Static shared memory a CTA gets without opting in (cuFuncSetAttribute beyond it).
constexpr int64_t kCUDADefaultSharedBytes = 48 * 1024;

/// CUDA's side of the shared SIMT generators: buffers are statically shaped 1-D memrefs (the
/// bare-pointer convention needs static shapes; their size is never used: kernels index with
/// the launch parameters), launch parameters are trailing i64 arguments, shared memory is carved
/// out of the dynamic shared memory (recorded in attn.dynamic_shared_bytes), and subgroup
/// reductions are xor butterflies of warp shuffles (gpu.subgroup_reduce does not lower to NVVM).
class CUDAKernelTarget : public GpuKernelTarget {
public:
  MemRefType buffer(Type element) const override;
  gpu::GPUFuncOp createKernel(OpBuilder &builder, Location loc, StringRef name,
                              ArrayRef<Type> buffers, int64_t workgroupSize) const override;
  std::unique_ptr<GpuEmitter> emitter(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn,
                                      unsigned numBuffers) const override;
};

/// A view of `bytes` bytes at byte `offset` of the dynamic shared memory as a 1-D memref of
/// `element` in the workgroup address space; raises fn's attn.dynamic_shared_bytes to cover it.
Value cudaSharedView(ImplicitLocOpBuilder &b, gpu::GPUFuncOp fn, int64_t offset, int64_t count,
                     Type element);

/// The shared SIMT generators' tiling from a CUDA configuration.
inline SimtConfig simtConfig(CUDAConfigAttr config) {
  return {kCUDAWarpSize, config.getWarps(), config.getBlockN(), config.getSplitKeys(),
          config.getChunk()};
}

/// The configuration attribute of `op` (nullopt when it has none).
std::optional<CUDAConfigAttr> getCUDAConfig(Operation *op);
/// Whether `op` can take the tensor-core path: f16/bf16 softmax attention, head dims multiples
/// of 16 up to kMaxCUDAMmaHeadDim.
bool cudaMmaFits(Operation *op);
/// A configuration for `op` on `target` (heuristics), or why there is none.
FailureOr<CUDAConfigAttr> chooseCUDAConfig(Operation *op, const CUDATargetInfo &target,
                                           std::string &why);
/// Why `config` cannot run `op` on `target` ("" when it can).
std::string cudaConfigDefect(Operation *op, CUDAConfigAttr config, const CUDATargetInfo &target);
/// Dynamic shared memory of the kernels `config` gives `op`, the largest of them.
int64_t cudaSharedBytes(Operation *op, CUDAConfigAttr config);

/// The tensor-core prefill attn_main (`warps` from the configuration), or with `decode`
/// attn_decode (one warp per CTA, over one KV split, writing f32 partials).
void buildCUDAFlashKernel(OpBuilder &builder, AttentionOp op, CUDAConfigAttr config, bool decode);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOCUDA_CUDAKERNELS_H
