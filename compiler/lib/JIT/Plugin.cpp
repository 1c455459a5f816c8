//===- Plugin.cpp - libattn_jit.so: the runtime's compiler plugin ---------===//
//
// Implements attn_jit_plugin.h. Compiled kernels are shared by content key within the process
// (two descriptors that canonicalize to one problem share one kernel) and, when the runtime gives
// a cache directory, persisted in the on-disk cache.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/CUDACompiler.h"
#include "attn/JIT/DiskCache.h"
#include "attn/JIT/ObjectLoader.h"
#include "attn/JIT/VulkanCompiler.h"
#include "attn/Tuning/Tuning.h"
#include "attn/attn_jit_plugin.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

using namespace mlir;
using namespace mlir::attn;

namespace {

struct CompiledKernel {
  std::unique_ptr<LoadedObject> object; // host code
  std::optional<VulkanImage> vulkan;    // or device code
  std::optional<CUDAImage> cuda;
  const attn_kernel_manifest *manifest = nullptr; // in the object
  attn_softmax_fn softmaxMain = nullptr;
  attn_decode_fn softmaxDecode = nullptr;
  attn_merge_fn merge = nullptr;
  attn_merge_fn mergeParts = nullptr; // parts in the problem's dtype (merge itself for f32)
  attn_linear_fn linear = nullptr;
};

using KernelHandle = std::shared_ptr<CompiledKernel>;

std::mutex kernelsMutex;
llvm::StringMap<std::weak_ptr<CompiledKernel>> kernelsByKey;

attn_status fail(attn_status status, const std::string &message, char *error, size_t size) {
  if (error && size)
    std::snprintf(error, size, "%s", message.c_str());
  return status;
}

/// Links `object` into the process and resolves the entry points of the problem's variant and
/// its manifest, which must be `expected` (the code was built for this very problem and tiles).
FailureOr<KernelHandle> loadKernel(const CacheEntry &entry, bool softmax,
                                   const attn_kernel_manifest &expected, std::string &error) {
  auto object = LoadedObject::load(entry.objects);
  if (!object) {
    error = "cannot load the kernel object: " + llvm::toString(object.takeError());
    return failure();
  }
  auto kernel = std::make_shared<CompiledKernel>();
  kernel->object = std::move(*object);
  kernel->manifest = static_cast<const attn_kernel_manifest *>(
      kernel->object->lookup(ATTN_KERNEL_MANIFEST_SYMBOL));
  if (!kernel->manifest || std::memcmp(kernel->manifest, &expected, sizeof(expected)) != 0) {
    error = "the kernel object's manifest does not match its problem";
    return failure();
  }
  auto resolve = [&](StringRef name) {
    return kernel->object->lookup(("_mlir_ciface_" + name).str());
  };
  if (softmax) {
    kernel->softmaxMain = reinterpret_cast<attn_softmax_fn>(resolve(kSoftmaxMainName));
    kernel->softmaxDecode = reinterpret_cast<attn_decode_fn>(resolve(kSoftmaxDecodeName));
    kernel->merge = reinterpret_cast<attn_merge_fn>(resolve(kMergeName));
    kernel->mergeParts = expected.dtype == ATTN_DTYPE_F32
                             ? kernel->merge
                             : reinterpret_cast<attn_merge_fn>(resolve(kMergePartsName));
    if (!kernel->softmaxMain || !kernel->softmaxDecode || !kernel->merge || !kernel->mergeParts) {
      error = "the kernel object lacks a softmax entry point";
      return failure();
    }
  } else {
    kernel->linear = reinterpret_cast<attn_linear_fn>(resolve(kLinearName));
    if (!kernel->linear) {
      error = "the kernel object lacks the linear attention entry point";
      return failure();
    }
  }
  return kernel;
}

void describe(const KernelHandle &kernel, attn_jit_kernel *out) {
  out->handle = new KernelHandle(kernel);
  out->image_kind = ATTN_IMAGE_HOST;
  out->image = nullptr;
  out->image_size = 0;
  std::memset(out->gpu_entries, 0, sizeof(out->gpu_entries));
  out->gpu_teams = out->gpu_head_chunks = 0;
  out->gpu_layout = ATTN_GPU_LAYOUT_TEAMS;
  if (const std::optional<VulkanImage> &image = kernel->vulkan)
    ::attn::image::describe(image->header, image->words.data(), *out);
  if (const std::optional<CUDAImage> &image = kernel->cuda)
    ::attn::image::describe(image->header, image->code.data(), *out);
  out->softmax_main = kernel->softmaxMain;
  out->softmax_decode = kernel->softmaxDecode;
  out->merge = kernel->merge;
  out->merge_parts = kernel->mergeParts;
  out->linear = kernel->linear;
  out->manifest = kernel->manifest;
  out->block_q = kernel->manifest->block_q;
  out->block_k = kernel->manifest->block_k;
  out->decode_max_rows = kernel->manifest->decode_max_rows;
  out->split_keys = kernel->manifest->split_keys;
}

/// Describes `kernel` into `out`, with the time since `start`.
attn_status describeCompiled(const KernelHandle &kernel, attn_jit_kernel *out,
                             std::chrono::steady_clock::time_point start) {
  describe(kernel, out);
  out->compile_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return ATTN_STATUS_SUCCESS;
}

/// The kernel of `key` still alive in this process (shared by content), or null.
KernelHandle liveKernel(const std::string &key) {
  std::lock_guard<std::mutex> lock(kernelsMutex);
  return kernelsByKey.lookup(key).lock();
}

/// The device targets' common path once a module is prepared and keyed: the kernel alive in
/// this process, else the disk cache's kernel image container (core/kernel_image.h, as bundles
/// hold it; its manifest and layout must be the ones `image` recomputed from the configured
/// module: `adopt` checks), else `compile`, stored in the cache. `install` puts the image into
/// the shared kernel.
template <typename Image, typename Adopt, typename Compile, typename Install>
attn_status finishDeviceKernel(const std::string &key, Image image, const attn_jit_request &request,
                               attn_jit_kernel *out, std::chrono::steady_clock::time_point start,
                               char *error, size_t errorSize, Adopt adopt, Compile compile,
                               Install install) {
  std::optional<DiskCache> disk;
  if (request.cache_dir && *request.cache_dir)
    disk.emplace(request.cache_dir, request.cache_max_bytes);
  bool loaded = false;
  if (disk) {
    CacheEntry entry;
    CacheLookup lookup = disk->lookup(key, entry);
    if (lookup == CacheLookup::Hit) {
      std::string why;
      loaded = entry.objects.size() == 1 && adopt(entry.objects[0], image, why);
      if (!loaded) { // intact bytes, wrong code: as good as corrupt
        disk->remove(key);
        lookup = CacheLookup::Rejected;
      }
    }
    out->from_disk_cache = loaded;
    out->disk_cache_rejected = lookup == CacheLookup::Rejected;
  }
  if (!loaded) {
    std::string message;
    if (failed(compile(image, message)))
      return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);
    if (disk) {
      CacheEntry entry;
      entry.objects.push_back(image.encode());
      disk->store(key, entry);
    }
  }
  auto kernel = std::make_shared<CompiledKernel>();
  install(*kernel, std::move(image));
  std::lock_guard<std::mutex> lock(kernelsMutex);
  kernelsByKey[key] = kernel;
  return describeCompiled(kernel, out, start);
}

/// The tuning database a request names (NULL: none, or a request older than ABI 7).
const char *tuningDbOf(const attn_jit_request &request) {
  constexpr size_t kRequestSizeTuning =
      offsetof(attn_jit_request, num_threads) + sizeof(attn_jit_request::num_threads);
  if (request.struct_size < kRequestSizeTuning || !request.tuning_db || !*request.tuning_db)
    return nullptr;
  return request.tuning_db;
}

/// Vulkan: SPIR-V for the device the runtime opened, shared by content key + device within the
/// process and kept in the disk cache. (The runtime creates pipelines from the image; the driver
/// caches their compilation.)
attn_status compileVulkan(ModuleOp module, const attn_jit_request &request, attn_jit_kernel *out,
                          std::chrono::steady_clock::time_point start, char *error,
                          size_t errorSize) {
  if (!request.vulkan_device)
    return fail(ATTN_STATUS_INVALID_ARGUMENT, "attn_jit_compile: a Vulkan problem needs a device",
                error, errorSize);
  VulkanTargetInfo target = vulkanTargetFrom(*request.vulkan_device);
  if (const char *db = tuningDbOf(request)) {
    std::string warnings;
    module->walk([&](Operation *op) { applyTunedVulkanConfig(op, db, target, warnings); });
    if (!warnings.empty())
      std::fputs(warnings.c_str(), stderr);
  }
  std::string message;
  FailureOr<std::string> key = prepareVulkanModule(module, target, message);
  if (failed(key))
    return fail(ATTN_STATUS_UNSUPPORTED, message, error, errorSize);
  if (KernelHandle existing = liveKernel(*key))
    return describeCompiled(existing, out, start);
  FailureOr<VulkanImage> image = describeVulkanModule(module, message);
  if (failed(image))
    return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);
  return finishDeviceKernel(
      *key, std::move(*image), request, out, start, error, errorSize, adoptStoredImage,
      [&](VulkanImage &img, std::string &why) { return compileVulkanModule(module, img, why); },
      [](CompiledKernel &kernel, VulkanImage img) {
        kernel.vulkan = std::move(img);
        kernel.manifest = &kernel.vulkan->header.manifest;
      });
}

/// CUDA: PTX or a cubin for the GPU the runtime found, shared by content key + device within the
/// process and kept in the disk cache (the driver loads the module; PTX is JIT-compiled by it).
attn_status compileCUDA(ModuleOp module, const attn_jit_request &request, attn_jit_kernel *out,
                        std::chrono::steady_clock::time_point start, char *error,
                        size_t errorSize) {
  if (!request.cuda_device)
    return fail(ATTN_STATUS_INVALID_ARGUMENT, "attn_jit_compile: a CUDA problem needs a device",
                error, errorSize);
  std::string message;
  FailureOr<CUDATargetInfo> target = cudaTargetFrom(*request.cuda_device, message);
  if (failed(target))
    return fail(ATTN_STATUS_UNSUPPORTED, message, error, errorSize);
  if (const char *db = tuningDbOf(request)) {
    std::string warnings;
    module->walk([&](Operation *op) { applyTunedCUDAConfig(op, db, *target, warnings); });
    if (!warnings.empty())
      std::fputs(warnings.c_str(), stderr);
  }
  const char *toolkit = std::getenv("ATTN_CUDA_TOOLKIT");
  CUDACodegen codegen = cudaCodegenFor(*target, toolkit ? toolkit : "/usr/local/cuda");
  FailureOr<std::string> key = prepareCUDAModule(module, *target, codegen, message);
  if (failed(key))
    return fail(ATTN_STATUS_UNSUPPORTED, message, error, errorSize);
  if (KernelHandle existing = liveKernel(*key))
    return describeCompiled(existing, out, start);
  FailureOr<CUDAImage> image = describeCUDAModule(module, codegen, message);
  if (failed(image))
    return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);
  return finishDeviceKernel(
      *key, std::move(*image), request, out, start, error, errorSize, adoptStoredCUDAImage,
      [&](CUDAImage &img, std::string &why) {
        return compileCUDAModule(module, *target, codegen, img, why);
      },
      [](CompiledKernel &kernel, CUDAImage img) {
        kernel.cuda = std::move(img);
        kernel.manifest = &kernel.cuda->header.manifest;
      });
}

} // namespace

extern "C" {

int32_t attn_jit_abi_version(void) { return ATTN_JIT_ABI_VERSION; }

attn_status attn_jit_compile(const attn_jit_request *request, attn_jit_kernel *out, char *error,
                             size_t errorSize) {
  auto start = std::chrono::steady_clock::now();
  if (!request || !request->problem || !out || out->struct_size < sizeof(attn_jit_kernel))
    return fail(ATTN_STATUS_INVALID_ARGUMENT, "attn_jit_compile: bad request", error, errorSize);
  const attn_problem &problem = *request->problem;
  bool softmax = problem.variant == ATTN_VARIANT_SOFTMAX;
  out->from_disk_cache = 0;
  out->disk_cache_rejected = 0;

  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  std::string message;
  auto module = buildProblemModule(ctx, problem, message);
  if (failed(module))
    return fail(ATTN_STATUS_INVALID_ARGUMENT, message, error, errorSize);
  if (problem.target == ATTN_TARGET_VULKAN)
    return compileVulkan(**module, *request, out, start, error, errorSize);
  if (problem.target == ATTN_TARGET_CUDA)
    return compileCUDA(**module, *request, out, start, error, errorSize);
  std::optional<CPUTargetInfo> target =
      CPUTargetInfo::fromName(request->cpu_target ? request->cpu_target : "host");
  if (!target)
    return fail(ATTN_STATUS_INVALID_ARGUMENT,
                std::string("unknown CPU target '") + request->cpu_target + "' (expected " +
                    CPUTargetInfo::kNames + ")",
                error, errorSize);
  // A tuning database's entry for this problem, device and thread count; a miss or an unusable
  // database leaves the op to the configure pass's heuristic.
  if (const char *db = tuningDbOf(*request)) {
    std::string warnings;
    (*module)->walk([&](Operation *op) {
      applyTunedCPUConfig(op, db, *target, std::max(1, request->num_threads), warnings);
    });
    if (!warnings.empty())
      std::fputs(warnings.c_str(), stderr);
  }
  CPUKernelConfig config;
  FailureOr<std::string> key = prepareProblemModule(**module, *target, config, message);
  if (failed(key))
    return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);

  auto finish = [&](const KernelHandle &kernel) { return describeCompiled(kernel, out, start); };
  if (KernelHandle existing = liveKernel(*key))
    return finish(existing);

  FailureOr<attn_kernel_manifest> expected = failure();
  (*module)->walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp>(op))
      expected = buildKernelManifest(op, config);
  });
  if (failed(expected))
    return fail(ATTN_STATUS_INTERNAL_ERROR, "the problem module holds no attention op", error,
                errorSize);

  std::optional<DiskCache> disk;
  if (request->cache_dir && *request->cache_dir)
    disk.emplace(request->cache_dir, request->cache_max_bytes);
  FailureOr<KernelHandle> kernel = failure();
  CacheEntry entry;
  if (disk) {
    CacheLookup lookup = disk->lookup(*key, entry);
    if (lookup == CacheLookup::Hit) {
      kernel = loadKernel(entry, softmax, *expected, message);
      if (failed(kernel)) { // intact bytes, wrong code: as good as corrupt
        disk->remove(*key);
        lookup = CacheLookup::Rejected;
      }
    }
    out->from_disk_cache = succeeded(kernel);
    out->disk_cache_rejected = lookup == CacheLookup::Rejected;
  }
  if (failed(kernel)) {
    FailureOr<std::vector<std::string>> objects = compileToObjects(**module, *target, message);
    if (failed(objects))
      return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);
    entry.objects = std::move(*objects);
    kernel = loadKernel(entry, softmax, *expected, message);
    if (failed(kernel))
      return fail(ATTN_STATUS_COMPILE_ERROR, message, error, errorSize);
    if (disk)
      disk->store(*key, entry);
  }
  std::lock_guard<std::mutex> lock(kernelsMutex);
  kernelsByKey[*key] = *kernel;
  return finish(*kernel);
}

void attn_jit_release(void *handle) { delete static_cast<KernelHandle *>(handle); }

} // extern "C"
