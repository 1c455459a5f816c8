//===- VulkanCompiler.h - problem descriptor -> SPIR-V kernel image -*- C++ -*-===//
#ifndef ATTN_JIT_VULKANCOMPILER_H
#define ATTN_JIT_VULKANCOMPILER_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_jit_plugin.h"
#include "core/kernel_image.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::attn {

/// A compiled Vulkan kernel: the SPIR-V module and the header of its kernel image container
/// (core/kernel_image.h: manifest, entry points, launch layout), which is also what the disk
/// cache and bundles store.
struct VulkanImage {
  std::vector<uint32_t> words;
  ::attn::image::ImageHeader header{};
  /// The container (header + code), as stored.
  std::string encode() const {
    return ::attn::image::encode(header, words.data(), words.size() * sizeof(uint32_t));
  }
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
/// Takes a stored container's code as image.words: false (with `why`) when the bytes are not an
/// intact container or its manifest is not image.header's (the code of another problem).
bool adoptStoredImage(const std::string &bytes, VulkanImage &image, std::string &why);

/// A Vulkan target from the runtime's description of the device it opened: the plugin
/// request's, or attn_context_get_device's (attnc tune, tests).
VulkanTargetInfo vulkanTargetFrom(const attn_jit_vulkan_device &device);
VulkanTargetInfo vulkanTargetFrom(const attn_device_info &info);

} // namespace mlir::attn

#endif // ATTN_JIT_VULKANCOMPILER_H
