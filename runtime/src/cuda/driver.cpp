//===- driver.cpp - the CUDA driver API, loaded with dlopen ---------------===//

#include "cuda/driver.h"

#include "core/error.h"

#include <cstdlib>
#include <dlfcn.h>
#include <mutex>

namespace attn::rt::cu {

namespace {
struct Loaded {
  Driver driver{};
  attn_status status = ATTN_STATUS_SUCCESS;
  std::string error;
};

Loaded load() {
  Loaded loaded;
  const char *path = std::getenv("ATTN_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *why = dlerror();
    loaded.status = ATTN_STATUS_UNSUPPORTED;
    loaded.error = format("no CUDA driver: %s could not be loaded (%s); CUDA kernels need an "
                          "NVIDIA GPU and its driver",
                          path, why ? why : "unknown error");
    return loaded;
  }
  Driver &d = loaded.driver;
  bool missing = false;
  std::string missingName;
  auto bind = [&](auto &fn, const char *name, bool required = true) {
    void *symbol = dlsym(library, name);
    if (!symbol && required && !missing) {
      missing = true;
      missingName = name;
    }
    fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(symbol);
  };
  // Versioned names where cuda.h maps the API to them (_v2: 64-bit device pointers).
  bind(d.cuInit, "cuInit");
  bind(d.cuDriverGetVersion, "cuDriverGetVersion");
  bind(d.cuDeviceGetCount, "cuDeviceGetCount");
  bind(d.cuDeviceGet, "cuDeviceGet");
  bind(d.cuDeviceGetName, "cuDeviceGetName");
  bind(d.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(d.cuDevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
  bind(d.cuCtxGetCurrent, "cuCtxGetCurrent");
  bind(d.cuCtxSetCurrent, "cuCtxSetCurrent");
  bind(d.cuCtxGetDevice, "cuCtxGetDevice");
  bind(d.cuModuleLoadDataEx, "cuModuleLoadDataEx");
  bind(d.cuModuleUnload, "cuModuleUnload");
  bind(d.cuModuleGetFunction, "cuModuleGetFunction");
  bind(d.cuFuncSetAttribute, "cuFuncSetAttribute");
  bind(d.cuLaunchKernel, "cuLaunchKernel");
  bind(d.cuMemAlloc, "cuMemAlloc_v2");
  bind(d.cuMemFree, "cuMemFree_v2");
  bind(d.cuMemAllocAsync, "cuMemAllocAsync", /*required=*/false);
  bind(d.cuMemFreeAsync, "cuMemFreeAsync", /*required=*/false);
  bind(d.cuMemcpyHtoD, "cuMemcpyHtoD_v2");
  bind(d.cuMemcpyDtoH, "cuMemcpyDtoH_v2");
  bind(d.cuStreamSynchronize, "cuStreamSynchronize");
  bind(d.cuCtxSynchronize, "cuCtxSynchronize");
  bind(d.cuGetErrorName, "cuGetErrorName");
  bind(d.cuGetErrorString, "cuGetErrorString");
  if (missing) {
    loaded.status = ATTN_STATUS_UNSUPPORTED;
    loaded.error =
        format("the CUDA driver %s lacks %s (too old a driver)", path, missingName.c_str());
    return loaded;
  }
  CUresult init = d.cuInit(0);
  if (init != CUDA_SUCCESS) {
    const char *name = nullptr;
    d.cuGetErrorName(init, &name);
    loaded.status = ATTN_STATUS_UNSUPPORTED;
    loaded.error =
        format("the CUDA driver found no usable GPU (cuInit: %s)", name ? name : "unknown error");
  }
  return loaded;
}
} // namespace

const Driver &driver() {
  static Loaded loaded = load();
  if (loaded.status != ATTN_STATUS_SUCCESS)
    fail(loaded.status, loaded.error);
  return loaded.driver;
}

void check(CUresult result, const char *what) {
  if (result == CUDA_SUCCESS)
    return;
  const Driver &d = driver();
  const char *name = nullptr, *message = nullptr;
  d.cuGetErrorName(result, &name);
  d.cuGetErrorString(result, &message);
  fail(ATTN_STATUS_INTERNAL_ERROR,
       format("%s failed: %s (%s)", what, name ? name : "?", message ? message : "no message"));
}

} // namespace attn::rt::cu
