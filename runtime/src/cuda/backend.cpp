//===- backend.cpp - the CUDA backend: PTX/cubin kernels on an NVIDIA GPU --===//
//
// Kernels are compiled for the GPU of the context: the device of the CUDA context current on the
// creating thread (an engine's, e.g. torch's), else $ATTN_CUDA_DEVICE's (default 0) primary
// context. The plugin returns PTX (JIT-compiled by the driver) or a cubin with the CUDA ABI of
// attn_jit_plugin.h; the backend loads it as a module. A launch on host memory
// (attn_kernel_launch) copies through device buffers and waits; a launch on an engine's device
// memory (attn_kernel_launch_cuda) is enqueued on the engine's stream and returns.
//
//===----------------------------------------------------------------------===//

#include "core/backend.h"
#include "core/context.h"
#include "core/error.h"
#include "core/kernel_cache.h"
#include "core/launch_args.h"
#include "cuda/backend.h"
#include "cuda/driver.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace attn::rt {

namespace {

using namespace cu;

int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }
size_t elementSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }
constexpr int64_t kMaxGridYZ = 65535;
constexpr int kDefaultSharedBytes = 48 * 1024;

/// Makes `context` current for the scope, restoring the thread's previous one.
class Current {
public:
  explicit Current(CUcontext context) : d(driver()) {
    check(d.cuCtxGetCurrent(&previous), "cuCtxGetCurrent");
    if (previous != context)
      check(d.cuCtxSetCurrent(context), "cuCtxSetCurrent");
    switched = previous != context;
  }
  ~Current() {
    if (switched)
      d.cuCtxSetCurrent(previous);
  }

private:
  const Driver &d;
  CUcontext previous = nullptr;
  bool switched = false;
};

/// A context's GPU and its description for the compiler.
struct ContextDevice {
  CUdevice device = 0;
  CUcontext context = nullptr;
  bool retained = false;    // the primary context, released with the state
  bool memoryPools = false; // cuMemAllocAsync works on this device
  std::string name;
  attn_jit_cuda_device desc{};
  ~ContextDevice() {
    if (retained)
      driver().cuDevicePrimaryCtxRelease(device);
  }
};

std::shared_ptr<ContextDevice> contextDevice(ContextState &context) {
  std::shared_ptr<void> state = context.backendState(ATTN_TARGET_CUDA, [&] {
    const Driver &d = driver();
    auto made = std::make_shared<ContextDevice>();
    CUcontext current = nullptr;
    check(d.cuCtxGetCurrent(&current), "cuCtxGetCurrent");
    if (current) {
      made->context = current; // the engine's
      check(d.cuCtxGetDevice(&made->device), "cuCtxGetDevice");
    } else {
      int count = 0;
      check(d.cuDeviceGetCount(&count), "cuDeviceGetCount");
      const char *env = std::getenv("ATTN_CUDA_DEVICE");
      int ordinal = env && *env ? std::atoi(env) : 0;
      if (count == 0)
        fail(ATTN_STATUS_UNSUPPORTED, "the CUDA driver reports no GPU");
      if (ordinal < 0 || ordinal >= count)
        fail(ATTN_STATUS_UNSUPPORTED,
             format("ATTN_CUDA_DEVICE is %d, but there are %d CUDA GPUs", ordinal, count));
      check(d.cuDeviceGet(&made->device, ordinal), "cuDeviceGet");
      check(d.cuDevicePrimaryCtxRetain(&made->context, made->device), "cuDevicePrimaryCtxRetain");
      made->retained = true;
    }
    char name[256] = {};
    check(d.cuDeviceGetName(name, sizeof(name) - 1, made->device), "cuDeviceGetName");
    made->name = name;
    auto attribute = [&](int which) {
      int value = 0;
      check(d.cuDeviceGetAttribute(&value, which, made->device), "cuDeviceGetAttribute");
      return value;
    };
    attn_jit_cuda_device &desc = made->desc;
    desc.name = made->name.c_str();
    desc.compute_capability = attribute(kAttrComputeMajor) * 10 + attribute(kAttrComputeMinor);
    check(d.cuDriverGetVersion(&desc.driver_version), "cuDriverGetVersion");
    desc.max_shared_bytes = attribute(kAttrMaxSharedOptin);
    desc.multiprocessors = attribute(kAttrMultiprocessors);
    made->memoryPools = d.cuMemAllocAsync && d.cuMemFreeAsync && attribute(kAttrMemoryPools);
    if (desc.compute_capability < 80)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the CUDA GPU '%s' has compute capability %d.%d; attnc's CUDA kernels need "
                  "8.0 or newer",
                  name, desc.compute_capability / 10, desc.compute_capability % 10));
    return std::static_pointer_cast<void>(made);
  });
  return std::static_pointer_cast<ContextDevice>(state);
}

struct CudaKernel {
  std::shared_ptr<ContextDevice> device;
  CUmodule module = nullptr;
  CUfunction functions[ATTN_GPU_ENTRY_COUNT] = {};
  ~CudaKernel() {
    if (!module)
      return;
    try {
      Current current(device->context);
      driver().cuModuleUnload(module);
    } catch (const Error &) {
      // A driver that cannot switch contexts at teardown: the module goes with the context.
    }
  }
};

class CudaBackend final : public Backend {
public:
  void prepareCompile(ContextState &context, CompileOptions &options) const override {
    options.cudaDevice = &contextDevice(context)->desc; // lives as long as the context
  }

  std::shared_ptr<const void> createKernel(ContextState &context, const attn_problem &,
                                           const attn_jit_kernel &entry) const override {
    const Driver &d = driver();
    auto kernel = std::make_shared<CudaKernel>();
    kernel->device = contextDevice(context);
    Current current(kernel->device->context);
    // PTX must end in a NUL for the driver; the image holds it without one.
    std::string ptx;
    const void *image = entry.image;
    if (entry.image_kind == ATTN_IMAGE_PTX) {
      ptx.assign(static_cast<const char *>(entry.image), entry.image_size);
      image = ptx.c_str();
    }
    char log[8192] = {};
    int options[2] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
    void *values[2] = {log, reinterpret_cast<void *>(uintptr_t(sizeof(log) - 1))};
    CUresult loaded = d.cuModuleLoadDataEx(&kernel->module, image, 2, options, values);
    if (loaded != CUDA_SUCCESS) {
      kernel->module = nullptr;
      const char *name = nullptr;
      d.cuGetErrorName(loaded, &name);
      fail(ATTN_STATUS_COMPILE_ERROR,
           format("the CUDA driver cannot load the kernels (%s): %s", name ? name : "?", log));
    }
    for (int i = 0; i < ATTN_GPU_ENTRY_COUNT; ++i) {
      const attn_jit_gpu_entry &e = entry.gpu_entries[i];
      if (!e.name)
        continue;
      check(d.cuModuleGetFunction(&kernel->functions[i], kernel->module, e.name),
            "cuModuleGetFunction");
      if (e.shared_bytes > kDefaultSharedBytes) {
        if (e.shared_bytes > kernel->device->desc.max_shared_bytes)
          fail(ATTN_STATUS_UNSUPPORTED,
               format("%s needs %d bytes of shared memory; the GPU allows %d", e.name,
                      e.shared_bytes, kernel->device->desc.max_shared_bytes));
        check(d.cuFuncSetAttribute(kernel->functions[i], kFuncMaxDynamicShared, e.shared_bytes),
              "cuFuncSetAttribute");
      }
    }
    return kernel;
  }

  void launch(ContextState &, const CompiledKernel &compiled,
              const attn_launch_args &args) const override;
};

/// Where a launch's data is on the device (element offsets are 0: pointers point at element 0).
struct Placement {
  CUdeviceptr q = 0, k = 0, v = 0, o = 0, lse = 0, entropy = 0, seqlensQ = 0, seqlensKv = 0;
  int64_t maxKv = 0; // the longest key length (seq_kv when the lengths are on the device)
  CUstream stream = nullptr;
};

void launchOne(CUfunction fn, const attn_jit_gpu_entry &e, const int64_t grid[3],
               std::vector<CUdeviceptr> buffers, const int64_t (&params)[ATTN_GPU_PARAM_COUNT],
               CUstream stream) {
  std::vector<void *> args;
  for (CUdeviceptr &b : buffers)
    args.push_back(&b);
  for (const int64_t &p : params)
    args.push_back(const_cast<int64_t *>(&p));
  for (int i = 0; i < 3; ++i)
    if (grid[i] < 1)
      return; // nothing to do
  if (grid[1] > kMaxGridYZ || grid[2] > kMaxGridYZ)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the launch needs a grid of (%lld, %lld, %lld) CTAs; CUDA allows 65535 along y "
                "and z",
                static_cast<long long>(grid[0]), static_cast<long long>(grid[1]),
                static_cast<long long>(grid[2])));
  check(driver().cuLaunchKernel(fn, unsigned(grid[0]), unsigned(grid[1]), unsigned(grid[2]),
                                unsigned(e.workgroup_size[0]), 1, 1, unsigned(e.shared_bytes),
                                stream, args.data(), nullptr),
        e.name);
}

/// CTAs along x: the SIMT kernels loop over query blocks (a capped grid covers them all), the
/// tensor-core kernels own one block each.
int64_t gridX(int64_t x, bool ownsOneBlock) {
  if (x <= INT32_MAX)
    return x;
  if (ownsOneBlock)
    fail(ATTN_STATUS_UNSUPPORTED, format("the launch needs %lld CTAs along x; CUDA allows %d",
                                         static_cast<long long>(x), INT32_MAX));
  return INT32_MAX;
}

/// Enqueues the kernels of one launch on `at.stream` (workspace from the stream-ordered
/// allocator where the driver has it; else allocated and freed around a synchronization).
void dispatch(const CudaKernel &kernel, const attn_jit_kernel &entry, const attn_problem &p,
              const attn_launch_args &a, const Placement &at) {
  const Driver &d = driver();
  int64_t B = a.batch, Sq = a.seq_q, Skv = a.seq_kv;
  int64_t Hq = p.heads_q, Hkv = p.heads_kv, Dv = p.head_dim_v, G = Hq / Hkv;
  const attn_kernel_manifest &m = *entry.manifest;
  bool packed = entry.gpu_layout == ATTN_GPU_LAYOUT_PACKED_ROWS;
  bool linear = kernel.functions[ATTN_GPU_ENTRY_LINEAR] != nullptr;
  if (packed) {
    // cp.async moves 16-byte chunks: Q, K and V rows must be 16-byte aligned.
    for (auto [name, ptr, t] :
         {std::tuple<const char *, CUdeviceptr, const attn_tensor *>{"q", at.q, &a.q},
          {"k", at.k, &a.k},
          {"v", at.v, &a.v}}) {
      if (ptr % 16 || t->strides[0] % 8 || t->strides[1] % 8 || t->strides[2] % 8)
        fail(ATTN_STATUS_INVALID_ARGUMENT,
             format("the CUDA tensor-core kernels need %s's rows 16-byte aligned (its pointer a "
                    "multiple of 16 bytes and its strides multiples of 8 elements)",
                    name));
    }
  }

  int64_t splits = 1;
  if (kernel.functions[ATTN_GPU_ENTRY_DECODE] && !linear && Sq * Hq <= m.decode_max_rows &&
      at.maxKv >= 2 * m.split_keys)
    splits = std::min({ceilDiv(at.maxKv, m.split_keys), int64_t(128), kMaxGridYZ / B});
  int64_t splitKeys = splits > 1 ? ceilDiv(ceilDiv(at.maxKv, splits), m.block_k) * m.block_k : 0;
  if (splits > 1)
    splits = ceilDiv(at.maxKv, splitKeys);
  bool decode = splits > 1;
  if (!decode)
    splits = 1;

  int64_t params[ATTN_GPU_PARAM_COUNT] = {};
  params[ATTN_GPU_PARAM_BATCH] = B;
  params[ATTN_GPU_PARAM_SEQ_Q] = Sq;
  params[ATTN_GPU_PARAM_SEQ_KV] = Skv;
  params[ATTN_GPU_PARAM_HAS_SEQLENS_Q] = at.seqlensQ != 0;
  params[ATTN_GPU_PARAM_HAS_SEQLENS_KV] = at.seqlensKv != 0;
  params[ATTN_GPU_PARAM_NUM_SPLITS] = splits;
  params[ATTN_GPU_PARAM_SPLIT_KEYS] = splitKeys;
  params[ATTN_GPU_PARAM_SCALE] = static_cast<int32_t>(launchScaleBits(p, a));
  auto address = [&](int first, const attn_tensor &t) {
    params[first] = 0;
    for (int i = 0; i < 3; ++i)
      params[first + 1 + i] = t.strides[i];
  };
  address(ATTN_GPU_PARAM_Q, a.q);
  address(ATTN_GPU_PARAM_K, a.k);
  address(ATTN_GPU_PARAM_V, a.v);
  address(ATTN_GPU_PARAM_O, a.o);
  CUdeviceptr any = at.q; // bound where the problem uses no buffer; never read
  auto or_ = [&](CUdeviceptr ptr) { return ptr ? ptr : any; };

  const attn_jit_gpu_entry *e = entry.gpu_entries;
  auto rowsOf = [&](int index) {
    return int64_t(e[index].workgroup_size[0]) / ATTN_CUDA_WARP_SIZE * ATTN_CUDA_ROWS_PER_WARP;
  };
  if (linear) {
    int64_t grid[3] = {ceilDiv(Dv, e[ATTN_GPU_ENTRY_LINEAR].workgroup_size[0]), Hq, B};
    launchOne(kernel.functions[ATTN_GPU_ENTRY_LINEAR], e[ATTN_GPU_ENTRY_LINEAR], grid,
              {at.q, at.k, at.v, at.o, or_(at.seqlensQ), or_(at.seqlensKv)}, params, at.stream);
    return;
  }
  int64_t yGroups = packed ? Hkv : Hkv * entry.gpu_head_chunks;
  if (!decode) {
    int64_t x = packed ? ceilDiv(Sq * G, rowsOf(ATTN_GPU_ENTRY_MAIN)) : ceilDiv(Sq, m.block_q);
    int64_t grid[3] = {gridX(x, packed), yGroups, B};
    launchOne(kernel.functions[ATTN_GPU_ENTRY_MAIN], e[ATTN_GPU_ENTRY_MAIN], grid,
              {at.q, at.k, at.v, at.o, or_(at.lse), or_(at.entropy), or_(at.seqlensQ),
               or_(at.seqlensKv), any, any,
               any}, // alibi_slopes, sinks, block_table: the CUDA backend refuses them
              params, at.stream);
    return;
  }
  size_t partBytes = size_t(splits * B * Sq * Hq * Dv) * sizeof(float);
  size_t lseBytes = size_t(splits * B * Hq * Sq) * sizeof(float);
  CUdeviceptr workspace = 0;
  bool async = kernel.device->memoryPools;
  CUresult allocated = async ? d.cuMemAllocAsync(&workspace, partBytes + lseBytes, at.stream)
                             : d.cuMemAlloc(&workspace, partBytes + lseBytes);
  if (allocated == 2 /* CUDA_ERROR_OUT_OF_MEMORY */)
    fail(ATTN_STATUS_OUT_OF_MEMORY, "no device memory for the split-KV partial results");
  check(allocated, "allocating the split-KV workspace");
  CUdeviceptr parts = workspace, partLse = workspace + partBytes;
  auto release = [&] {
    if (async) {
      d.cuMemFreeAsync(workspace, at.stream);
    } else {
      d.cuStreamSynchronize(at.stream);
      d.cuMemFree(workspace);
    }
  };
  try {
    int64_t x = packed ? ceilDiv(Sq * G, rowsOf(ATTN_GPU_ENTRY_DECODE)) : ceilDiv(Sq, m.block_q);
    int64_t grid[3] = {gridX(x, packed), yGroups, splits * B};
    launchOne(
        kernel.functions[ATTN_GPU_ENTRY_DECODE], e[ATTN_GPU_ENTRY_DECODE], grid,
        {at.q, at.k, at.v, parts, partLse, or_(at.seqlensQ), or_(at.seqlensKv), any, any, any},
        params, at.stream);
    int64_t teams = e[ATTN_GPU_ENTRY_MERGE].workgroup_size[0] / ATTN_CUDA_WARP_SIZE;
    int64_t mergeGrid[3] = {std::min<int64_t>(ceilDiv(Sq * Hq, teams), INT32_MAX), 1, B};
    launchOne(kernel.functions[ATTN_GPU_ENTRY_MERGE], e[ATTN_GPU_ENTRY_MERGE], mergeGrid,
              {parts, partLse, at.o, or_(at.lse), or_(at.seqlensQ)}, params, at.stream);
  } catch (...) {
    release();
    throw;
  }
  release();
}

/// The element extent of [B, n1, n2, n3] with `strides`.
int64_t extent(int64_t B, int64_t n1, int64_t n2, int64_t n3, const int64_t (&strides)[4]) {
  int64_t dims[4] = {B, n1, n2, n3}, last = 0;
  for (int i = 0; i < 4; ++i) {
    if (dims[i] == 0)
      return 0;
    last += (dims[i] - 1) * strides[i];
  }
  return last + 1;
}

void CudaBackend::launch(ContextState &, const CompiledKernel &compiled,
                         const attn_launch_args &a) const {
  const auto &kernel = *static_cast<const CudaKernel *>(compiled.device());
  const attn_problem &p = compiled.problem();
  const Driver &d = driver();
  Current current(kernel.device->context);
  size_t esize = elementSize(p.dtype);
  int64_t B = a.batch, Sq = a.seq_q, Skv = a.seq_kv, Hq = p.heads_q;
  std::vector<CUdeviceptr> owned;
  struct Free {
    std::vector<CUdeviceptr> &owned;
    ~Free() {
      // A launch that failed half-way may have kernels running on these buffers.
      if (!owned.empty())
        driver().cuCtxSynchronize();
      for (CUdeviceptr ptr : owned)
        driver().cuMemFree(ptr);
    }
  } freeAll{owned};
  auto allocate = [&](size_t bytes) {
    CUdeviceptr ptr = 0;
    CUresult result = d.cuMemAlloc(&ptr, std::max<size_t>(bytes, 16));
    if (result == 2)
      fail(ATTN_STATUS_OUT_OF_MEMORY, "no device memory for the launch's staging buffers");
    check(result, "cuMemAlloc");
    owned.push_back(ptr);
    return ptr;
  };
  auto upload = [&](const void *data, size_t bytes) {
    CUdeviceptr ptr = allocate(bytes);
    if (data && bytes)
      check(d.cuMemcpyHtoD(ptr, data, bytes), "cuMemcpyHtoD");
    return ptr;
  };
  size_t oBytes = size_t(extent(B, Sq, Hq, p.head_dim_v, a.o.strides)) * esize;
  Placement at;
  at.q = upload(a.q.data, size_t(extent(B, Sq, Hq, p.head_dim, a.q.strides)) * esize);
  at.k = upload(a.k.data, size_t(extent(B, Skv, p.heads_kv, p.head_dim, a.k.strides)) * esize);
  at.v = upload(a.v.data, size_t(extent(B, Skv, p.heads_kv, p.head_dim_v, a.v.strides)) * esize);
  // O's gaps (a strided O) belong to the caller: copy them in, so copying back keeps them.
  at.o = upload(a.o.data, oBytes);
  size_t statBytes = size_t(B * Hq * Sq) * sizeof(float);
  if (p.return_lse)
    at.lse = upload(a.lse, statBytes);
  if (p.return_entropy)
    at.entropy = upload(a.entropy, statBytes);
  if (a.seqlens_q)
    at.seqlensQ = upload(a.seqlens_q, size_t(B) * 4);
  if (a.seqlens_kv)
    at.seqlensKv = upload(a.seqlens_kv, size_t(B) * 4);
  at.maxKv = Skv;
  if (a.seqlens_kv) {
    at.maxKv = 0;
    for (int64_t b = 0; b < B; ++b)
      at.maxKv = std::max<int64_t>(at.maxKv, a.seqlens_kv[b]);
  }
  dispatch(kernel, compiled.entry(), p, a, at);
  check(d.cuCtxSynchronize(), "the attention kernels");
  check(d.cuMemcpyDtoH(a.o.data, at.o, oBytes), "cuMemcpyDtoH");
  if (p.return_lse)
    check(d.cuMemcpyDtoH(a.lse, at.lse, statBytes), "cuMemcpyDtoH");
  if (p.return_entropy)
    check(d.cuMemcpyDtoH(a.entropy, at.entropy, statBytes), "cuMemcpyDtoH");
}

} // namespace

const Backend &cudaBackend() {
  static const CudaBackend backend;
  return backend;
}

void launchOnCudaMemory(const CompiledKernel &compiled, const attn_launch_args &shapes,
                        const attn_cuda_launch_args &args) {
  const auto &kernel = *static_cast<const CudaKernel *>(compiled.device());
  Current current(kernel.device->context);
  Placement at;
  at.q = args.q.data;
  at.k = args.k.data;
  at.v = args.v.data;
  at.o = args.o.data;
  at.lse = args.lse;
  at.entropy = args.entropy;
  at.seqlensQ = args.seqlens_q;
  at.seqlensKv = args.seqlens_kv;
  at.maxKv = args.seq_kv; // the lengths are on the device
  at.stream = static_cast<CUstream>(args.stream);
  dispatch(kernel, compiled.entry(), compiled.problem(), shapes, at);
}

} // namespace attn::rt
