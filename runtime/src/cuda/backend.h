//===- backend.h - the CUDA backend's entry points beyond the table -------===//
#ifndef ATTN_RUNTIME_CUDA_BACKEND_H
#define ATTN_RUNTIME_CUDA_BACKEND_H

#include "attn/attn_runtime.h"

namespace attn::rt {

class CompiledKernel;

/// Enqueues a CUDA kernel on an engine's device memory and stream (attn_kernel_launch_cuda):
/// `shapes` holds the validated shapes and strides, `args` the device pointers. Throws Error.
void launchOnCudaMemory(const CompiledKernel &kernel, const attn_launch_args &shapes,
                        const attn_cuda_launch_args &args);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CUDA_BACKEND_H
