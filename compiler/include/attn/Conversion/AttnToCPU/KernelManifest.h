//===- KernelManifest.h - what generated code says it was built for -*- C++ -*-===//
//
// Every kernel module the CPU backend generates defines a constant `attn_kernel_manifest`
// (runtime/include/attn/attn_kernel_manifest.h): the problem of its attn op in the runtime's
// normalized form, the tiles it was generated with and this attnc's version. The runtime checks
// it against what it is asked to run; bundle entries and linked-kernel headers are written from it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_KERNELMANIFEST_H
#define ATTN_CONVERSION_ATTNTOCPU_KERNELMANIFEST_H

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/attn_kernel_manifest.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

/// The manifest of the code generated for `op` (attn.attention or attn.linear_attention) with
/// `config`; failure for other ops.
FailureOr<attn_kernel_manifest> buildKernelManifest(Operation *op, const CPUKernelConfig &config);

/// The tiles of any target's code, as its manifest records them (vectorWidth: a GPU's subgroup
/// size; decodeRows: Sq x Hq at most for the split-KV decode kernel).
struct ManifestTiles {
  int32_t target;
  int64_t vectorWidth, blockQ, blockK, decodeRows, splitKeys;
  uint32_t cpuFeatures = 0; // ATTN_KERNEL_MANIFEST_CPU_* bits
};
FailureOr<attn_kernel_manifest> buildKernelManifest(Operation *op, const ManifestTiles &tiles);

/// Defines `manifest` as the constant global ATTN_KERNEL_MANIFEST_SYMBOL at the end of `module`.
void emitKernelManifest(ModuleOp module, const attn_kernel_manifest &manifest);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOCPU_KERNELMANIFEST_H
