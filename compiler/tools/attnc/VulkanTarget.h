//===- VulkanTarget.h - attnc --target=vulkan -------------------*- C++ -*-===//
#ifndef ATTNC_VULKANTARGET_H
#define ATTNC_VULKANTARGET_H

#include "attn/attn_kernel_manifest.h"

#include "mlir/IR/BuiltinOps.h"

#include <optional>

#include <string>

namespace attnc {

/// Lowers a problem module with attn-lower-to-vulkan for `device` (a name VulkanTargetInfo
/// knows) and appends the spirv.module's text (`binary` false) or its SPIR-V words. A
/// configuration in the input is kept and checked against the device. False, with `error` set,
/// for a problem the device or the backend cannot run (a user error).
bool compileForVulkan(mlir::ModuleOp module, const std::string &device, bool binary,
                      std::string &output, std::string &error);

/// The kernel image container (core/kernel_image.h, a bundle's Vulkan payload) of a problem
/// module for `device`, and its manifest. False, with `error` set, as compileForVulkan.
bool imageForVulkan(mlir::ModuleOp module, const std::string &device, std::string &container,
                    attn_kernel_manifest &manifest, std::string &error);

/// The manifest of a kernel image container (nullopt when the bytes are not one).
std::optional<attn_kernel_manifest> imageManifest(llvm::StringRef container);

} // namespace attnc

#endif // ATTNC_VULKANTARGET_H
