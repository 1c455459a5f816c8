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
#include <string>

struct attn_kernel {
  std::shared_ptr<attn::rt::ContextState> context;
  std::shared_ptr<const attn::rt::CompiledKernel> compiled;
  attn::rt::MetricSeries *series = nullptr; // the context's series for (kernel, label), or null
  std::string label;
  uint32_t health = 0; // ATTN_HEALTH_* flags of this handle
};

namespace attn::rt {
/// Counts the new handle among the context's kernels and points it at its series (metrics on).
void attachMetrics(attn_kernel &kernel);
} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_KERNEL_HANDLE_H
