//===- backend.h - the Vulkan backend's entry points beyond the table ------===//
#ifndef ATTN_RUNTIME_VULKAN_BACKEND_H
#define ATTN_RUNTIME_VULKAN_BACKEND_H

#include "attn/attn_runtime.h"

namespace attn::rt {

class CompiledKernel;

/// Runs a Vulkan kernel on an engine's buffers (attn_kernel_launch_vulkan): `shapes` holds the
/// validated shapes and strides, `args` the buffers and byte offsets (checked by the caller).
/// Throws Error.
void launchOnVulkanBuffers(const CompiledKernel &kernel, const attn_launch_args &shapes,
                           const attn_vulkan_launch_args &args);

} // namespace attn::rt

#endif // ATTN_RUNTIME_VULKAN_BACKEND_H
