//===- plugin.cpp - loading the compiler plugin (libattn_jit.so) ----------===//

#include "core/plugin.h"

#include "core/error.h"
#include "core/manifest.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <unistd.h>

namespace attn::rt {

namespace {

constexpr const char *kPluginName = "libattn_jit.so";

// The directory holding libattn_runtime.so: a build or install puts the plugin
// beside it. dladdr on an address inside this library finds its file.
std::string runtimeDirectory() {
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&runtimeDirectory), &info) || !info.dli_fname)
    return "";
  std::string file = info.dli_fname;
  size_t slash = file.rfind('/');
  return slash == std::string::npos ? "." : file.substr(0, slash);
}

std::string lastDlError() {
  const char *message = dlerror();
  return message ? message : "unknown dlopen error";
}

bool fileExists(const std::string &path) { return access(path.c_str(), F_OK) == 0; }

} // namespace

// Loads the plugin exactly once; a failure is remembered too, so every later
// kernel create reports the same reason without touching the file system.
struct PluginLoader {
  Plugin plugin;
  attn_status status = ATTN_STATUS_SUCCESS;
  std::string error;

  PluginLoader() {
    const char *env = std::getenv("ATTN_JIT_PLUGIN");
    if (env && *env) {
      if (!fileExists(env))
        setError(ATTN_STATUS_UNSUPPORTED,
                 format("no compiler plugin was found: ATTN_JIT_PLUGIN is '%s', which does not "
                        "exist",
                        env));
      else
        open(env);
      return;
    }
    std::string besideRuntime;
    std::string directory = runtimeDirectory();
    if (!directory.empty()) {
      besideRuntime = directory + "/" + kPluginName;
      if (fileExists(besideRuntime)) {
        open(besideRuntime);
        return;
      }
    }
    // Not beside the runtime: try the default search path (LD_LIBRARY_PATH, ...).
    if (void *handle = dlopen(kPluginName, RTLD_NOW | RTLD_LOCAL)) {
      bind(handle, kPluginName);
      return;
    }
    setError(ATTN_STATUS_UNSUPPORTED,
             format("no compiler plugin was found, so kernels cannot be compiled: looked for "
                    "%s (no such file) and for %s on the default library search path (%s); "
                    "set ATTN_JIT_PLUGIN to the plugin's path",
                    besideRuntime.empty() ? kPluginName : besideRuntime.c_str(), kPluginName,
                    lastDlError().c_str()));
  }

  void setError(attn_status failure, std::string message) {
    status = failure;
    error = std::move(message);
  }

  void open(const std::string &path) {
    void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      setError(ATTN_STATUS_COMPILE_ERROR, format("the compiler plugin %s could not be loaded: %s",
                                                 path.c_str(), lastDlError().c_str()));
      return;
    }
    bind(handle, path);
  }

  // The handle is never dlclose'd: kernels' code lives in the plugin's JIT and
  // may be released as late as process exit.
  void bind(void *handle, const std::string &path) {
    auto abiVersion =
        reinterpret_cast<attn_jit_abi_version_fn>(dlsym(handle, "attn_jit_abi_version"));
    auto compile = reinterpret_cast<attn_jit_compile_fn>(dlsym(handle, "attn_jit_compile"));
    auto release = reinterpret_cast<attn_jit_release_fn>(dlsym(handle, "attn_jit_release"));
    const char *missing = !abiVersion ? "attn_jit_abi_version"
                          : !compile  ? "attn_jit_compile"
                          : !release  ? "attn_jit_release"
                                      : nullptr;
    if (missing) {
      setError(ATTN_STATUS_COMPILE_ERROR,
               format("%s is not an attnc compiler plugin: it does not export %s", path.c_str(),
                      missing));
      return;
    }
    int32_t version = abiVersion();
    if (version != ATTN_JIT_ABI_VERSION) {
      setError(ATTN_STATUS_COMPILE_ERROR,
               format("the compiler plugin %s has ABI version %d, but this runtime needs %d "
                      "(the runtime and the plugin come from different builds)",
                      path.c_str(), version, ATTN_JIT_ABI_VERSION));
      return;
    }
    plugin.path_ = path;
    plugin.compile_ = compile;
    plugin.release_ = release;
  }
};

const Plugin &Plugin::get() {
  // Initialized once, thread-safely (C++11 statics). Never destroyed: kernels may be released
  // during static destruction at exit, and they still need the plugin's release function.
  static const PluginLoader *loader = new PluginLoader();
  if (loader->status != ATTN_STATUS_SUCCESS)
    fail(loader->status, loader->error);
  return loader->plugin;
}

void Plugin::release(void *handle) const noexcept {
  if (handle)
    release_(handle);
}

std::string kernelDefect(const attn_problem &problem, const attn_jit_kernel &kernel) {
  bool device = problem.target != ATTN_TARGET_CPU;
  if (device != (kernel.image_kind != ATTN_IMAGE_HOST))
    return format("is a kernel image of kind %d for a problem of target %d", kernel.image_kind,
                  int(problem.target));
  if (device) {
    if (problem.target == ATTN_TARGET_VULKAN &&
        (kernel.image_kind != ATTN_IMAGE_SPIRV || !kernel.image || kernel.image_size < 20 ||
         kernel.image_size % 4 != 0 || *static_cast<const uint32_t *>(kernel.image) != 0x07230203))
      return "is not a SPIR-V module";
    if (problem.target == ATTN_TARGET_CUDA &&
        ((kernel.image_kind != ATTN_IMAGE_PTX && kernel.image_kind != ATTN_IMAGE_CUBIN) ||
         !kernel.image || kernel.image_size < 4))
      return "is not a PTX or cubin image";
    const bool linear = problem.variant == ATTN_VARIANT_LINEAR;
    const bool decodes = !linear && !problem.return_entropy;
    const attn_jit_gpu_entry *entries = kernel.gpu_entries;
    const char *missing = linear && !entries[ATTN_GPU_ENTRY_LINEAR].name    ? "attn_linear"
                          : !linear && !entries[ATTN_GPU_ENTRY_MAIN].name   ? "attn_main"
                          : decodes && !entries[ATTN_GPU_ENTRY_DECODE].name ? "attn_decode"
                          : decodes && !entries[ATTN_GPU_ENTRY_MERGE].name  ? "attn_merge"
                                                                            : nullptr;
    if (missing)
      return format("lacks the %s entry point", missing);
    if (kernel.gpu_teams < 1 || kernel.gpu_head_chunks < 1)
      return "has no workgroup layout";
    return manifestDefect(problem, kernel);
  }
  if (problem.variant == ATTN_VARIANT_LINEAR) {
    if (!kernel.linear)
      return "lacks the linear entry point";
  } else {
    // Decode (softmax_decode + merge) may run for any problem that does not ask
    // for entropy; one that does always runs softmax_main.
    const bool decodes = !problem.return_entropy;
    const char *missing = !kernel.softmax_main                ? "softmax_main"
                          : decodes && !kernel.softmax_decode ? "softmax_decode"
                          : decodes && !kernel.merge          ? "merge"
                                                              : nullptr;
    if (missing)
      return format("lacks the %s entry point", missing);
  }
  return manifestDefect(problem, kernel);
}

attn_jit_kernel Plugin::compile(const attn_problem &problem, const CompileOptions &options) const {
  attn_jit_request request;
  std::memset(&request, 0, sizeof(request));
  request.struct_size = sizeof(request);
  request.problem = &problem;
  request.cache_dir = options.cacheDir;
  request.cache_max_bytes = options.cacheMaxBytes;
  request.cpu_target = options.cpuTarget;
  request.vulkan_device = options.vulkanDevice;
  request.cuda_device = options.cudaDevice;
  request.tuning_db = options.tuningDb;
  request.num_threads = options.threads;

  attn_jit_kernel kernel;
  std::memset(&kernel, 0, sizeof(kernel));
  kernel.struct_size = sizeof(kernel);
  char message[4096] = "";
  attn_status status = compile_(&request, &kernel, message, sizeof(message));
  message[sizeof(message) - 1] = '\0';
  if (status != ATTN_STATUS_SUCCESS) {
    bool known = status > ATTN_STATUS_SUCCESS && status <= ATTN_STATUS_INTERNAL_ERROR;
    fail(known ? status : ATTN_STATUS_INTERNAL_ERROR,
         format("compiling the kernel failed: %s",
                message[0] ? message : "the compiler plugin gave no message"));
  }
  std::string defect = kernelDefect(problem, kernel);
  if (!defect.empty()) {
    release(kernel.handle);
    fail(ATTN_STATUS_INTERNAL_ERROR, format("the compiler plugin %s returned kernel code that %s",
                                            path_.c_str(), defect.c_str()));
  }
  return kernel;
}

} // namespace attn::rt
