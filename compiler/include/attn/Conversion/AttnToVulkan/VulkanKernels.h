//===- VulkanKernels.h - the Vulkan kernel generators ----------*- C++ -*-===//
//
// The Vulkan lowering emits kernels in the gpu dialect (gpu.func on 1-D storage buffers, the ABI
// of attn_jit_plugin.h) from the shared attention logic (Conversion/Common); the standard
// gpu-to-SPIR-V conversion then makes a spirv.module of them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H
#define ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H

#include "attn/Conversion/GPU/GpuKernels.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Target/TargetInfo.h"

namespace mlir::attn {

/// The shared SIMT generators' tiling from a Vulkan configuration.
inline SimtConfig simtConfig(VulkanConfigAttr config) {
  return {config.getSubgroupSize(), config.getTeams(), config.getBlockK(), config.getSplitKeys(),
          config.getChunk()};
}

/// The configuration attribute of `op` (nullopt when it has none).
std::optional<VulkanConfigAttr> getVulkanConfig(Operation *op);

/// A configuration for `op` on `target` (heuristics), or why there is none (a dtype the device
/// cannot store, a head dim whose tiles do not fit its shared memory).
FailureOr<VulkanConfigAttr> chooseVulkanConfig(Operation *op, const VulkanTargetInfo &target,
                                               std::string &why);
/// Whether `op` can use the cooperative-matrix prefill on `target` (f16 softmax, head dims
/// multiples of 16, the device exposes the extension unless `deviceChecked`).
bool coopmatFits(Operation *op, const VulkanTargetInfo &target, bool deviceChecked = false);
/// The cooperative-matrix prefill (attn_main when the configuration has coopmat = 1).
void buildVulkanCoopSoftmaxKernel(OpBuilder &builder, AttentionOp op, VulkanConfigAttr config);
/// Why `config` cannot run `op` on `target` ("" when it can).
std::string vulkanConfigDefect(Operation *op, VulkanConfigAttr config,
                               const VulkanTargetInfo &target);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H
