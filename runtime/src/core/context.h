//===- context.h - the state behind an attn_context -----------------------===//
//
// ContextState is shared (std::shared_ptr) by the attn_context handle and by
// every kernel created from it, so a kernel keeps the pool it launches on
// alive even if the context handle is destroyed first.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_CONTEXT_H
#define ATTN_RUNTIME_CORE_CONTEXT_H

#include "attn/attn_runtime.h"
#include "core/kernel_cache.h"
#include "core/metrics.h"
#include "core/plugin.h"
#include "core/thread_pool.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace attn::rt {

class ContextState {
public:
  /// options: already validated; NULL = defaults.
  explicit ContextState(const attn_context_options *options);

  /// Runs task over [0, n) on the engine's parallel_for or the built-in pool.
  void parallelFor(int64_t n, attn_parallel_task_fn task, void *taskCtx);

  /// The number of threads work is spread over (sizes the split-KV decision).
  int32_t concurrency() const { return concurrency_; }

  /// How kernels are compiled: the on-disk cache (NULL directory when off), its size bound, the
  /// CPU the code is for.
  CompileOptions compileOptions() const {
    CompileOptions options{diskCache_ ? cacheDir_.c_str() : nullptr, cacheMaxBytes_,
                           cpuTarget_.c_str()};
    options.tuningDb = tuningDb_.empty() ? nullptr : tuningDb_.c_str();
    options.threads = concurrency_;
    return options;
  }

  KernelCache &kernels() { return kernels_; }
  /// The runtime metrics, or null when they are off (attn_context_options.metrics).
  Metrics *metrics() const { return metrics_.get(); }

  /// The engine's Vulkan device (attn_context_options.vulkan_device), or null.
  const attn_vulkan_device *vulkanDevice() const {
    return vulkanDevice_.struct_size ? &vulkanDevice_ : nullptr;
  }
  /// A backend's per-context state (a GPU backend's device), made by `create` on first use
  /// (thread-safe); a failure is not kept, so a later call tries again.
  std::shared_ptr<void> backendState(attn_target target,
                                     const std::function<std::shared_ptr<void>()> &create);

private:
  int32_t concurrency_;
  attn_parallel_for_fn engineParallelFor_;
  void *engineUser_;
  std::unique_ptr<ThreadPool> pool_; // only without an engine parallel_for
  bool diskCache_;
  std::string cacheDir_;
  int64_t cacheMaxBytes_;
  std::string cpuTarget_;
  std::string tuningDb_; // empty: none
  attn_vulkan_device vulkanDevice_{};
  std::mutex backendMutex_;
  std::shared_ptr<void> backendStates_[3]; // by attn_target
  std::unique_ptr<Metrics> metrics_;       // before kernels_: the cache's kernels may record to it
  KernelCache kernels_;
};

} // namespace attn::rt

struct attn_context {
  std::shared_ptr<attn::rt::ContextState> state;
};

#endif // ATTN_RUNTIME_CORE_CONTEXT_H
