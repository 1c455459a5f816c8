//===- VulkanTarget.h - attnc --target=vulkan -------------------*- C++ -*-===//
#ifndef ATTNC_VULKANTARGET_H
#define ATTNC_VULKANTARGET_H

#include "attn/Target/TargetInfo.h"
#include "attn/attn_kernel_manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>

#include <string>

struct attn_context;

namespace attnc {

/// The Vulkan device `context` runs kernels on (the runtime opens it: $ATTN_VULKAN_DEVICE picks
/// one), as the compiler builds code for it; nullopt with `error` when there is none.
std::optional<mlir::attn::VulkanTargetInfo> vulkanTargetOf(attn_context *context,
                                                           std::string &error);
/// The device --vulkan-device names: a kind VulkanTargetInfo knows (lavapipe, nvidia, amd), or
/// "local", the device the runtime opens on this machine. nullopt with `error` otherwise.
std::optional<mlir::attn::VulkanTargetInfo> vulkanTargetNamed(const std::string &name,
                                                              std::string &error);

/// Lowers a problem module with attn-lower-to-vulkan for `target` and appends the
/// spirv.module's text (`binary` false) or its SPIR-V words. A configuration in the input is kept
/// and checked against the device. False, with `error` set, for a problem the device or the
/// backend cannot run (a user error).
bool compileForVulkan(mlir::ModuleOp module, const mlir::attn::VulkanTargetInfo &target,
                      bool binary, std::string &output, std::string &error);

/// The kernel image container (core/kernel_image.h, a bundle's Vulkan payload) of a problem
/// module for `target`, and its manifest. False, with `error` set, as compileForVulkan.
bool imageForVulkan(mlir::ModuleOp module, const mlir::attn::VulkanTargetInfo &target,
                    std::string &container, attn_kernel_manifest &manifest, std::string &error);

/// The manifest of a kernel image container (nullopt when the bytes are not one).
std::optional<attn_kernel_manifest> imageManifest(llvm::StringRef container);

} // namespace attnc

#endif // ATTNC_VULKANTARGET_H
