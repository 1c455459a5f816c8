//===- kernel_cache.cpp - compiled kernels and a context's in-memory cache ===//

#include "core/kernel_cache.h"

#include "core/backend.h"
#include "core/context.h"
#include "core/plugin.h"
#include "core/problem.h"

#include <chrono>

namespace attn::rt {

// Plugins are never unloaded: the reference stays valid for the kernel's life.
CompiledKernel::CompiledKernel(const attn_problem &problem, const attn_jit_kernel &entry,
                               const Plugin &plugin)
    : problem_(problem), entry_(entry),
      release_([&plugin, handle = entry.handle] { plugin.release(handle); }) {}

CompiledKernel::~CompiledKernel() {
  device_.reset();
  if (release_)
    release_();
}

std::shared_ptr<const CompiledKernel> KernelCache::compile(ContextState &context,
                                                           const attn_problem &problem,
                                                           const CompileOptions &options) {
  const Backend &backend = backendFor(problem.target);
  CompileOptions targetOptions = options;
  backend.prepareCompile(context, targetOptions);
  const Plugin &plugin = Plugin::get();
  auto started = std::chrono::steady_clock::now();
  attn_jit_kernel entry = plugin.compile(problem, targetOptions);
  if (Metrics *metrics = context.metrics())
    metrics->recordCompile(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count(),
        entry.from_disk_cache != 0);
  std::shared_ptr<CompiledKernel> kernel;
  try {
    kernel = std::make_shared<CompiledKernel>(problem, entry, plugin);
  } catch (...) {
    plugin.release(entry.handle); // no CompiledKernel owns it yet
    throw;
  }
  kernel->setDevice(backend.createKernel(context, problem, entry));
  if (entry.from_disk_cache)
    counters_.diskCacheHits.fetch_add(1, std::memory_order_relaxed);
  else
    counters_.kernelsCompiled.fetch_add(1, std::memory_order_relaxed);
  if (entry.disk_cache_rejected)
    counters_.diskCacheRejected.fetch_add(1, std::memory_order_relaxed);
  return kernel;
}

std::shared_ptr<const CompiledKernel> KernelCache::getOrCompile(ContextState &context,
                                                                const attn_problem &problem,
                                                                const CompileOptions &options) {
  std::string key = problemCacheKey(problem);
  std::promise<std::shared_ptr<const CompiledKernel>> promise;
  Result result;
  bool compiles = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      result = it->second;
    } else {
      result = promise.get_future().share();
      entries_.emplace(key, result);
      compiles = true;
    }
  }
  if (!compiles) {
    // Ready, or being compiled by another thread: wait for that compile. A
    // failure rethrows the compiling thread's Error (same status and message).
    std::shared_ptr<const CompiledKernel> kernel = result.get();
    counters_.memoryCacheHits.fetch_add(1, std::memory_order_relaxed);
    return kernel;
  }
  try {
    std::shared_ptr<const CompiledKernel> kernel = compile(context, problem, options);
    promise.set_value(kernel);
    return kernel;
  } catch (...) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      entries_.erase(key);
    }
    promise.set_exception(std::current_exception());
    throw;
  }
}

} // namespace attn::rt
