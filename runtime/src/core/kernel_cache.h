//===- kernel_cache.h - compiled kernels and a context's in-memory cache --===//
//
// A CompiledKernel is shared: the context's cache and every attn_kernel handle
// for the same problem hold it, and the plugin's handle is released when the
// last of them goes. The cache compiles each problem once even when many
// threads ask for it at the same moment (SPEC section 6): the first one
// compiles, the others wait for its result. A failed compile is not kept, so
// a later create tries again.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_KERNEL_CACHE_H
#define ATTN_RUNTIME_CORE_KERNEL_CACHE_H

#include "attn/attn_jit_plugin.h"

#include <atomic>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace attn::rt {

class ContextState;
class Plugin;
struct CompileOptions;

class CompiledKernel {
public:
  CompiledKernel(const attn_problem &problem, const attn_jit_kernel &entry, const Plugin &plugin);
  /// Code that does not come from the plugin (a bundle): `release` frees it.
  CompiledKernel(const attn_problem &problem, const attn_jit_kernel &entry,
                 std::function<void()> release)
      : problem_(problem), entry_(entry), release_(std::move(release)) {}
  ~CompiledKernel();
  CompiledKernel(const CompiledKernel &) = delete;
  CompiledKernel &operator=(const CompiledKernel &) = delete;

  /// The normalized problem (see validateProblem).
  const attn_problem &problem() const { return problem_; }
  /// The plugin's entry points and blocking.
  const attn_jit_kernel &entry() const { return entry_; }
  /// The target's side of the kernel (Backend::createKernel), e.g. Vulkan pipelines; null for
  /// host code.
  const void *device() const { return device_.get(); }
  void setDevice(std::shared_ptr<const void> device) { device_ = std::move(device); }

private:
  attn_problem problem_;
  attn_jit_kernel entry_;
  std::shared_ptr<const void> device_; // released before the plugin's code
  std::function<void()> release_;      // gives the code back (the plugin's handle, or dlclose)
};

struct CacheCounters {
  std::atomic<int64_t> kernelsCompiled{0};
  std::atomic<int64_t> memoryCacheHits{0};
  std::atomic<int64_t> diskCacheHits{0};
  std::atomic<int64_t> diskCacheRejected{0};
};

class KernelCache {
public:
  /// The kernel for a normalized problem: from memory, or compiled by the
  /// plugin with the context's options (the same for every call on one cache).
  /// Throws Error. Thread-safe.
  std::shared_ptr<const CompiledKernel>
  getOrCompile(ContextState &context, const attn_problem &problem, const CompileOptions &options);

  const CacheCounters &counters() const { return counters_; }

private:
  using Result = std::shared_future<std::shared_ptr<const CompiledKernel>>;

  std::shared_ptr<const CompiledKernel> compile(ContextState &context, const attn_problem &problem,
                                                const CompileOptions &options);

  std::mutex mutex_;
  std::unordered_map<std::string, Result> entries_; // by problemCacheKey
  CacheCounters counters_;
};

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_KERNEL_CACHE_H
