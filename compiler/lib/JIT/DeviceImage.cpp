//===- DeviceImage.cpp - what every device target's kernel image shares ---===//

#include "attn/JIT/DeviceImage.h"

#include "attn/Dialect/Attn/IR/AttnDialect.h"

using namespace mlir;
using namespace mlir::attn;

Operation *mlir::attn::deviceProblemOp(ModuleOp module) {
  Operation *op = nullptr;
  module.walk([&](Operation *found) {
    if (isa<AttentionOp, LinearAttentionOp>(found))
      op = found;
  });
  return op;
}

LogicalResult mlir::attn::describeDeviceKernels(Operation *op, ManifestTiles tiles, int64_t chunk,
                                                ::attn::image::ImageHeader &h, std::string &error) {
  auto attention = dyn_cast<AttentionOp>(op);
  if (!attention)
    h.entryMask = 1u << ATTN_GPU_ENTRY_LINEAR;
  else if (attention.getReturnEntropy())
    h.entryMask = 1u << ATTN_GPU_ENTRY_MAIN;
  else
    h.entryMask =
        (1u << ATTN_GPU_ENTRY_MAIN) | (1u << ATTN_GPU_ENTRY_DECODE) | (1u << ATTN_GPU_ENTRY_MERGE);
  if (!attention) {
    tiles.blockQ = tiles.blockK = chunk;
    tiles.decodeRows = 1;
  }
  FailureOr<attn_kernel_manifest> manifest = buildKernelManifest(op, tiles);
  if (failed(manifest)) {
    error = "no manifest for the problem";
    return failure();
  }
  h.manifest = *manifest;
  return success();
}
