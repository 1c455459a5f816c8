//===- CUDATarget.h - attnc --target=cuda -----------------------*- C++ -*-===//
#ifndef ATTNC_CUDATARGET_H
#define ATTNC_CUDATARGET_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_kernel_manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>
#include <string>

struct attn_context;

namespace attnc {

/// The CUDA GPU `context` runs kernels on, as the compiler builds code for it; nullopt with
/// `error` when there is none (no driver, no GPU, below sm_80).
std::optional<mlir::attn::CUDATargetInfo> cudaTargetOf(attn_context *context, std::string &error);

enum class CUDAEmit { Kernels, PTX, Cubin };

/// Lowers a problem module with attn-lower-to-cuda for `arch` (a name CUDATargetInfo knows) and
/// appends the kernels in the gpu/nvgpu dialects (Kernels), their PTX, or a cubin (ptxas from
/// `toolkit`). A configuration in the input is kept and checked. False, with `error` set, for a
/// problem the architecture or the backend cannot run, or a cubin without a toolkit.
bool compileForCUDA(mlir::ModuleOp module, const std::string &arch, const std::string &toolkit,
                    CUDAEmit emit, std::string &output, std::string &error);

/// The kernel image container (a bundle's CUDA payload: a cubin when `toolkit` has ptxas, else
/// PTX) of a problem module for `arch`, and its manifest.
bool imageForCUDA(mlir::ModuleOp module, const std::string &arch, const std::string &toolkit,
                  std::string &container, attn_kernel_manifest &manifest, bool &cubin,
                  std::string &error);
/// The same for a GPU's target description (attnc tune: the GPU the runtime found).
bool imageForCUDA(mlir::ModuleOp module, const mlir::attn::CUDATargetInfo &target,
                  const std::string &toolkit, std::string &container,
                  attn_kernel_manifest &manifest, bool &cubin, std::string &error);

} // namespace attnc

#endif // ATTNC_CUDATARGET_H
