//===- VulkanTarget.h - attnc --target=vulkan -------------------*- C++ -*-===//
#ifndef ATTNC_VULKANTARGET_H
#define ATTNC_VULKANTARGET_H

#include "mlir/IR/BuiltinOps.h"

#include <string>

namespace attnc {

/// Lowers a problem module with attn-lower-to-vulkan for `device` (a name VulkanTargetInfo
/// knows) and appends the spirv.module's text (`binary` false) or its SPIR-V words. A
/// configuration in the input is kept and checked against the device. False, with `error` set,
/// for a problem the device or the backend cannot run (a user error).
bool compileForVulkan(mlir::ModuleOp module, const std::string &device, bool binary,
                      std::string &output, std::string &error);

} // namespace attnc

#endif // ATTNC_VULKANTARGET_H
