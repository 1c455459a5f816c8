//===- CUDACompiler.h - problem descriptor -> PTX/cubin kernel image -*- C++ -*-===//
#ifndef ATTN_JIT_CUDACOMPILER_H
#define ATTN_JIT_CUDACOMPILER_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_jit_plugin.h"
#include "core/kernel_image.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::attn {

/// A compiled CUDA kernel: PTX text (the driver JIT-compiles it) or a cubin, and the header of
/// its kernel image container (core/kernel_image.h), which the disk cache and bundles store.
struct CUDAImage {
  std::string code;
  ::attn::image::ImageHeader header{};
  std::string encode() const { return ::attn::image::encode(header, code.data(), code.size()); }
};

/// How a CUDA kernel is compiled for a GPU: the NVVM chip, whether ptxas makes a cubin (else
/// the driver JITs the PTX), and the toolkit it is taken from.
struct CUDACodegen {
  std::string chip;
  bool cubin = false;
  std::string toolkit;
};
/// The codegen for `target`: a cubin for its exact architecture when `toolkit` has ptxas (and
/// NVVM knows the architecture), else PTX for the newest architecture NVVM knows up to it.
CUDACodegen cudaCodegenFor(const CUDATargetInfo &target, const std::string &toolkit);

/// A CUDA target from the runtime's description of the GPU it found; failure (with `error`)
/// below sm_80 (the kernels need bf16 mma.sync and cp.async).
FailureOr<CUDATargetInfo> cudaTargetFrom(const attn_jit_cuda_device &device, std::string &error);
/// The same from attn_context_get_device's description (attnc tune).
FailureOr<CUDATargetInfo> cudaTargetFrom(const attn_device_info &info, std::string &error);

/// Configures a problem module (attn-configure-cuda for `target`) and returns its cache key
/// (content, device, codegen).
FailureOr<std::string> prepareCUDAModule(ModuleOp module, const CUDATargetInfo &target,
                                         const CUDACodegen &codegen, std::string &error);
/// The image of a prepared module without its code or per-entry launch sizes: manifest, entry
/// points and layout, read off the configured op.
FailureOr<CUDAImage> describeCUDAModule(ModuleOp module, const CUDACodegen &codegen,
                                        std::string &error);
/// Lowers a prepared module to PTX or a cubin (image from describeCUDAModule), filling the
/// entries' CTA sizes and dynamic shared memory from the generated kernels.
LogicalResult compileCUDAModule(ModuleOp module, const CUDATargetInfo &target,
                                const CUDACodegen &codegen, CUDAImage &image, std::string &error);
/// Takes a stored container as the image: false (with `why`) when the bytes are not an intact
/// container or were built for another problem, layout or code kind.
bool adoptStoredCUDAImage(const std::string &bytes, CUDAImage &image, std::string &why);

} // namespace mlir::attn

#endif // ATTN_JIT_CUDACOMPILER_H
