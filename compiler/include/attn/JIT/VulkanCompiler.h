//===- VulkanCompiler.h - problem descriptor -> SPIR-V kernel image -*- C++ -*-===//
#ifndef ATTN_JIT_VULKANCOMPILER_H
#define ATTN_JIT_VULKANCOMPILER_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_jit_plugin.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::attn {

/// A compiled Vulkan kernel: the SPIR-V module, its manifest, and the launch layout of
/// attn_jit_kernel (entry points, workgroup shape).
struct VulkanImage {
  std::vector<uint32_t> words;
  attn_kernel_manifest manifest;
  int32_t workgroupSize = 0, sharedBytes = 0;
  int64_t teams = 0, headChunks = 0;
  bool hasDecode = false; // attn_decode + attn_merge
  bool linear = false;    // attn_linear (else attn_main)
};

/// The pipeline options that describe `target` to attn-lower-to-vulkan.
struct VulkanPipelineOptions;
void describeVulkanTarget(const VulkanTargetInfo &target, VulkanPipelineOptions &options);

/// Configures a problem module (attn-configure-vulkan for `target`) and returns its cache key.
FailureOr<std::string> prepareVulkanModule(ModuleOp module, const VulkanTargetInfo &target,
                                           std::string &error);
/// The image of a prepared module without its code: manifest and launch layout, read off the
/// configured op (what a disk-cache hit needs besides the cached words).
FailureOr<VulkanImage> describeVulkanModule(ModuleOp module, std::string &error);
/// Lowers a prepared module to SPIR-V (attn-lower-to-vulkan's lowering stage + serialization)
/// into image.words (image from describeVulkanModule).
LogicalResult compileVulkanModule(ModuleOp module, VulkanImage &image, std::string &error);
/// Takes SPIR-V bytes (a disk-cache entry) as image.words; false when they are not a SPIR-V
/// module.
bool adoptSpirv(const std::string &bytes, VulkanImage &image);

/// A Vulkan target from the runtime's description of the device it opened.
VulkanTargetInfo vulkanTargetFrom(const attn_jit_vulkan_device &device);

} // namespace mlir::attn

#endif // ATTN_JIT_VULKANCOMPILER_H
