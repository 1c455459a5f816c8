//===- kernel_handle.h - what an attn_kernel is ---------------------------===//
//
// A handle: one reference to the shared CompiledKernel and one to its context's state (the pool
// it launches on). JIT-compiled and bundle-loaded kernels are the same kind of handle.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_KERNEL_HANDLE_H
#define ATTN_RUNTIME_CORE_KERNEL_HANDLE_H

#include "core/context.h"
#include "core/kernel_cache.h"

#include <memory>

struct attn_kernel {
  std::shared_ptr<attn::rt::ContextState> context;
  std::shared_ptr<const attn::rt::CompiledKernel> compiled;
};

#endif // ATTN_RUNTIME_CORE_KERNEL_HANDLE_H
