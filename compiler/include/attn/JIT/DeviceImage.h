//===- DeviceImage.h - what every device target's kernel image shares -*- C++ -*-===//
//
// The parts of a device kernel image (core/kernel_image.h) that do not depend on the target: the
// configured op of a prepared problem module, the entry points its kernels have, and its
// manifest.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_DEVICEIMAGE_H
#define ATTN_JIT_DEVICEIMAGE_H

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "core/kernel_image.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace mlir::attn {

/// The attn.attention / attn.linear_attention of a prepared problem module (null when none).
Operation *deviceProblemOp(ModuleOp module);

/// Sets h.entryMask from `op`'s kernels (attn_linear; attn_main alone when the problem returns
/// entropy, which does not merge; else main + split-KV decode + merge) and h.manifest from
/// `tiles` (linear attention: its scan `chunk` as both tiles, one decode row). Failure (with
/// `error`) when no manifest can be built.
LogicalResult describeDeviceKernels(Operation *op, ManifestTiles tiles, int64_t chunk,
                                    ::attn::image::ImageHeader &h, std::string &error);

} // namespace mlir::attn

#endif // ATTN_JIT_DEVICEIMAGE_H
