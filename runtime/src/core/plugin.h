//===- plugin.h - loading the compiler plugin (libattn_jit.so) ------------===//
//
// The runtime never links LLVM or MLIR: when a kernel must be compiled it
// dlopens the compiler plugin, once per process, on first use. A machine
// without the plugin still loads libattn_runtime; creating a kernel then fails
// with ATTN_STATUS_UNSUPPORTED and says where the plugin was looked for.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_PLUGIN_H
#define ATTN_RUNTIME_CORE_PLUGIN_H

#include "attn/attn_jit_plugin.h"

#include <string>

namespace attn::rt {

/// How a context compiles: its disk cache (directory, NULL = off; size bound) and the CPU the code
/// is for ("host", "x86-64-v3", "x86-64-v4"); a GPU target's device (Backend::prepareCompile).
struct CompileOptions {
  const char *cacheDir = nullptr;
  int64_t cacheMaxBytes = 0;
  const char *cpuTarget = "host";
  const attn_jit_vulkan_device *vulkanDevice = nullptr; // set by the Vulkan backend
  const attn_jit_cuda_device *cudaDevice = nullptr;     // set by the CUDA backend
  const char *tuningDb = nullptr;                       // a tuning database; NULL = none
  int32_t threads = 1;                                  // the threads kernels run on
};

class Plugin {
public:
  /// The process's plugin, loaded on the first call (thread-safe). Throws Error:
  /// UNSUPPORTED when no plugin was found, COMPILE_ERROR when one was found but
  /// cannot be used (dlopen failure, missing symbol, other ABI version).
  static const Plugin &get();

  /// Compiles a normalized problem with a context's options. Throws Error with
  /// the plugin's status and message on failure. The result has the entry
  /// points the problem's variant needs and a manifest that matches the problem.
  attn_jit_kernel compile(const attn_problem &problem, const CompileOptions &options) const;

  /// Releases a kernel handle returned by compile().
  void release(void *handle) const noexcept;

  const std::string &path() const { return path_; }

private:
  std::string path_;
  attn_jit_compile_fn compile_ = nullptr;
  attn_jit_release_fn release_ = nullptr;
  friend struct PluginLoader;
};

/// Why kernel code for problem cannot be launched ("" when it can): an entry
/// point its launches may call is missing, or its manifest (core/manifest.h)
/// disagrees with the problem or the tiles. The text completes "the kernel
/// code ...".
std::string kernelDefect(const attn_problem &problem, const attn_jit_kernel &kernel);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_PLUGIN_H
