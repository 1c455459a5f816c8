//===- backend.cpp - the Vulkan backend: SPIR-V kernels on a Vulkan device ===//
//
// Kernels are compiled for the context's Vulkan device (an engine's, attn_context_options.
// vulkan_device, or attnc's default one; vulkan/device.h): its description goes to the compiler
// plugin, which returns a SPIR-V image with the Vulkan ABI of attn_jit_plugin.h, and the backend
// makes one compute pipeline per entry point. A launch on host memory (attn_kernel_launch) copies
// the inputs into device-visible buffers, runs the dispatches in one submission and copies the
// outputs back; a launch on an engine's buffers (attn_kernel_launch_vulkan) binds them in place.
//
//===----------------------------------------------------------------------===//

#include "core/backend.h"
#include "core/context.h"
#include "core/error.h"
#include "core/kernel_cache.h"
#include "core/launch_args.h"
#include "vulkan/backend.h"
#include "vulkan/device.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

namespace attn::rt {

namespace {

struct VulkanKernel {
  std::shared_ptr<vk::Device> device;
  std::unique_ptr<vk::Pipeline> main, decode, merge, linear;
};

size_t elementSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

int64_t ceilDiv(int64_t a, int64_t b) { return a / b + (a % b != 0); }

constexpr int64_t kMaxGroups = 65535; // maxComputeWorkGroupCount's guaranteed minimum
constexpr int64_t kMaxIndex = std::numeric_limits<int32_t>::max();

/// The element extent of a tensor [n0, n1, n2, n3] with `strides` (elements past the last one).
int64_t extent(const int64_t (&dims)[4], const int64_t (&strides)[4]) {
  int64_t last = 0;
  for (int i = 0; i < 4; ++i) {
    if (dims[i] == 0)
      return 0;
    last += (dims[i] - 1) * strides[i];
  }
  return last + 1;
}

/// A context's device (the engine's, or attnc's default) and its description for the compiler.
struct ContextDevice {
  std::shared_ptr<vk::Device> device;
  std::string name;
  attn_jit_vulkan_device desc{};
};

std::shared_ptr<ContextDevice> contextDevice(ContextState &context) {
  std::shared_ptr<void> state = context.backendState(ATTN_TARGET_VULKAN, [&] {
    auto made = std::make_shared<ContextDevice>();
    if (const attn_vulkan_device *engine = context.vulkanDevice()) {
      vk::ExternalDevice external;
      external.instance = static_cast<VkInstance>(engine->instance);
      external.physical = static_cast<VkPhysicalDevice>(engine->physical_device);
      external.device = static_cast<VkDevice>(engine->device);
      external.queue = static_cast<VkQueue>(engine->queue);
      external.queueFamily = engine->queue_family_index;
      external.getInstanceProcAddr =
          reinterpret_cast<PFN_vkGetInstanceProcAddr>(engine->get_instance_proc_addr);
      made->device = vk::Device::adopt(external);
    } else {
      made->device = vk::Device::getDefault();
    }
    const vk::DeviceInfo &info = made->device->info();
    made->name = info.name;
    attn_jit_vulkan_device &d = made->desc;
    d.name = made->name.c_str();
    d.vendor_id = info.vendorId;
    d.device_id = info.deviceId;
    d.driver_version = info.driverVersion;
    d.subgroup_size = int32_t(info.subgroupSize);
    d.max_shared_bytes = int32_t(info.maxSharedBytes);
    d.max_workgroup_size = int32_t(info.maxWorkgroupInvocations);
    d.float16 = info.shaderFloat16;
    d.int16 = info.shaderInt16;
    d.storage16 = info.storageBuffer16BitAccess;
    d.cooperative_matrix = info.cooperativeMatrix;
    if (!info.subgroupArithmetic || !info.subgroupShuffle)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the Vulkan device '%s' lacks subgroup arithmetic or shuffles in compute "
                  "shaders, which attnc's kernels need",
                  made->name.c_str()));
    return std::static_pointer_cast<void>(made);
  });
  return std::static_pointer_cast<ContextDevice>(state);
}

class VulkanBackend final : public Backend {
public:
  void prepareCompile(ContextState &context, CompileOptions &options) const override {
    options.vulkanDevice = &contextDevice(context)->desc; // lives as long as the context
  }

  std::shared_ptr<const void> createKernel(ContextState &context, const attn_problem &,
                                           const attn_jit_kernel &entry) const override {
    auto kernel = std::make_shared<VulkanKernel>();
    kernel->device = contextDevice(context)->device;
    const uint32_t *words = static_cast<const uint32_t *>(entry.image);
    size_t count = entry.image_size / sizeof(uint32_t);
    auto pipeline = [&](int index) -> std::unique_ptr<vk::Pipeline> {
      const attn_jit_gpu_entry &e = entry.gpu_entries[index];
      if (!e.name)
        return nullptr;
      return kernel->device->createPipeline(words, count, e.name, uint32_t(e.num_bindings));
    };
    kernel->main = pipeline(ATTN_GPU_ENTRY_MAIN);
    kernel->decode = pipeline(ATTN_GPU_ENTRY_DECODE);
    kernel->merge = pipeline(ATTN_GPU_ENTRY_MERGE);
    kernel->linear = pipeline(ATTN_GPU_ENTRY_LINEAR);
    return kernel;
  }

  void launch(ContextState &, const CompiledKernel &compiled,
              const attn_launch_args &args) const override;
};

/// Where a launch's tensors are: buffers and element offsets (the engine's, or the host path's
/// staging copies at offset 0), and the batch's longest key length when the host knows it.
struct Placement {
  VkBuffer q, k, v, o, lse, entropy, seqlensQ, seqlensKv;
  VkBuffer alibi = VK_NULL_HANDLE, sinks = VK_NULL_HANDLE; // f32 [Hq]
  int64_t alibiOffset = 0, sinksOffset = 0;
  VkBuffer blockTable = VK_NULL_HANDLE; // int32, a paged cache's (its shape is the launch's)
  int64_t blockTableOffset = 0;
  int64_t qOffset = 0, kOffset = 0, vOffset = 0, oOffset = 0, lseOffset = 0, entropyOffset = 0,
          seqlensQOffset = 0, seqlensKvOffset = 0;
  int64_t maxKv = 0; // the longest key length, or seq_kv when the lengths are on the device
};

/// Records and runs the dispatches of one launch (validated shapes and strides in `a`; the data
/// in `at`).
void dispatch(const VulkanKernel &kernel, const attn_jit_kernel &entry, const attn_problem &p,
              const attn_launch_args &a, const Placement &at) {
  const vk::Device &device = *kernel.device;
  int64_t B = a.batch, Sq = a.seq_q, Skv = a.seq_kv;
  int64_t Hq = p.heads_q, Hkv = p.heads_kv, D = p.head_dim, Dv = p.head_dim_v;
  if (B > kMaxGroups)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("batch %lld exceeds the Vulkan backend's %lld", static_cast<long long>(B),
                static_cast<long long>(kMaxGroups)));
  auto index = [&](const char *name, int64_t offset, int64_t extent) {
    if (offset + extent > kMaxIndex)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("%s spans elements past %lld: the Vulkan backend indexes in int32", name,
                  static_cast<long long>(kMaxIndex)));
  };
  auto tensorExtent = [&](const char *name, const attn_tensor &t, int64_t n0, int64_t n1,
                          int64_t n2, int64_t n3, int64_t offset) {
    int64_t dims[4] = {n0, n1, n2, n3};
    for (int i = 0; i < 4; ++i)
      if (t.strides[i] > kMaxIndex)
        fail(ATTN_STATUS_UNSUPPORTED,
             format("a stride of %s exceeds the Vulkan backend's int32 index", name));
    index(name, offset, extent(dims, t.strides));
  };
  // K and V: [B, Skv, ...], or the pages [num_pages, P, ...] of a paged cache.
  const bool paged = p.page_size > 0;
  const int64_t kv0 = paged ? a.num_pages : B, kv1 = paged ? p.page_size : Skv;
  tensorExtent("q", a.q, B, Sq, Hq, D, at.qOffset);
  tensorExtent("k", a.k, kv0, kv1, Hkv, D, at.kOffset);
  tensorExtent("v", a.v, kv0, kv1, Hkv, Dv, at.vOffset);
  tensorExtent("o", a.o, B, Sq, Hq, Dv, at.oOffset);
  if (paged)
    index("block_table", at.blockTableOffset, (B - 1) * a.block_table_stride + a.max_pages);
  index("lse", at.lseOffset, B * Hq * Sq);
  index("entropy", at.entropyOffset, B * Hq * Sq);
  index("alibi_slopes", at.alibiOffset, Hq);
  index("sinks", at.sinksOffset, Hq);

  // Split-KV decode for launches whose query rows fit one workgroup block, when the keys are
  // long enough to split (as on the CPU: a problem asking for entropy never splits).
  const attn_kernel_manifest &m = *entry.manifest;
  int64_t splits = 1;
  if (kernel.decode && !kernel.linear && Sq * Hq <= m.decode_max_rows &&
      at.maxKv >= 2 * m.split_keys)
    splits = std::min({ceilDiv(at.maxKv, m.split_keys), int64_t(64), kMaxGroups / B});
  int64_t splitKeys = splits > 1 ? ceilDiv(ceilDiv(at.maxKv, splits), m.block_k) * m.block_k : 0;
  if (splits > 1)
    splits = ceilDiv(at.maxKv, splitKeys);
  bool decode = splits > 1 && splits * B * Sq * Hq * Dv <= kMaxIndex;
  if (!decode)
    splits = 1;

  int32_t params[ATTN_GPU_PARAM_COUNT] = {};
  params[ATTN_GPU_PARAM_BATCH] = int32_t(B);
  params[ATTN_GPU_PARAM_SEQ_Q] = int32_t(Sq);
  params[ATTN_GPU_PARAM_SEQ_KV] = int32_t(Skv);
  params[ATTN_GPU_PARAM_HAS_SEQLENS_Q] = at.seqlensQ != VK_NULL_HANDLE;
  params[ATTN_GPU_PARAM_HAS_SEQLENS_KV] = at.seqlensKv != VK_NULL_HANDLE;
  params[ATTN_GPU_PARAM_NUM_SPLITS] = int32_t(splits);
  params[ATTN_GPU_PARAM_SPLIT_KEYS] = int32_t(splitKeys);
  params[ATTN_GPU_PARAM_SCALE] = static_cast<int32_t>(launchScaleBits(p, a));
  auto address = [&](int first, const attn_tensor &t, int64_t offset) {
    params[first] = int32_t(offset);
    for (int i = 0; i < 3; ++i)
      params[first + 1 + i] = int32_t(t.strides[i]);
  };
  address(ATTN_GPU_PARAM_Q, a.q, at.qOffset);
  address(ATTN_GPU_PARAM_K, a.k, at.kOffset);
  address(ATTN_GPU_PARAM_V, a.v, at.vOffset);
  address(ATTN_GPU_PARAM_O, a.o, at.oOffset);
  params[ATTN_GPU_PARAM_LSE] = int32_t(at.lseOffset);
  params[ATTN_GPU_PARAM_ENTROPY] = int32_t(at.entropyOffset);
  params[ATTN_GPU_PARAM_SEQLENS_Q] = int32_t(at.seqlensQOffset);
  params[ATTN_GPU_PARAM_SEQLENS_KV] = int32_t(at.seqlensKvOffset);
  params[ATTN_GPU_PARAM_ALIBI] = int32_t(at.alibiOffset);
  params[ATTN_GPU_PARAM_SINKS] = int32_t(at.sinksOffset);
  if (paged) {
    params[ATTN_GPU_PARAM_BLOCK_TABLE] = int32_t(at.blockTableOffset);
    params[ATTN_GPU_PARAM_BLOCK_TABLE_STRIDE] = int32_t(a.block_table_stride);
    params[ATTN_GPU_PARAM_NUM_PAGES] = int32_t(a.num_pages);
  }
  auto paramBuf = device.createBuffer(sizeof(params));
  std::memcpy(paramBuf->mapped(), params, sizeof(params));
  // Bindings the problem does not use still need a buffer.
  VkBuffer any = paramBuf->handle();
  auto or_ = [&](VkBuffer b) { return b ? b : any; };

  int64_t rows = m.block_q;
  uint32_t qGroups = uint32_t(std::min(std::max<int64_t>(ceilDiv(Sq, rows), 1), kMaxGroups));
  uint32_t yGroups = uint32_t(Hkv * entry.gpu_head_chunks);
  std::vector<vk::Dispatch> dispatches;
  std::unique_ptr<vk::Buffer> parts, partLse;
  if (kernel.linear) {
    int64_t columns = entry.gpu_entries[ATTN_GPU_ENTRY_LINEAR].workgroup_size[0];
    dispatches.push_back(
        {kernel.linear.get(),
         {at.q, at.k, at.v, at.o, or_(at.seqlensQ), or_(at.seqlensKv), paramBuf->handle()},
         {uint32_t(ceilDiv(Dv, columns)), uint32_t(Hq), uint32_t(B)}});
  } else if (!decode) {
    dispatches.push_back(
        {kernel.main.get(),
         {at.q, at.k, at.v, at.o, or_(at.lse), or_(at.entropy), or_(at.seqlensQ), or_(at.seqlensKv),
          or_(at.alibi), or_(at.sinks), or_(at.blockTable), paramBuf->handle()},
         {qGroups, yGroups, uint32_t(B)}});
  } else {
    parts = device.createBuffer(size_t(splits * B * Sq * Hq * Dv) * sizeof(float));
    partLse = device.createBuffer(size_t(splits * B * Hq * Sq) * sizeof(float));
    dispatches.push_back(
        {kernel.decode.get(),
         {at.q, at.k, at.v, parts->handle(), partLse->handle(), or_(at.seqlensQ), or_(at.seqlensKv),
          or_(at.alibi), or_(at.sinks), or_(at.blockTable), paramBuf->handle()},
         {qGroups, yGroups, uint32_t(splits * B)}});
    uint32_t mergeGroups =
        uint32_t(std::min(std::max<int64_t>(ceilDiv(Sq * Hq, entry.gpu_teams), 1), kMaxGroups));
    dispatches.push_back({kernel.merge.get(),
                          {parts->handle(), partLse->handle(), at.o, or_(at.lse), or_(at.seqlensQ),
                           paramBuf->handle()},
                          {mergeGroups, 1, uint32_t(B)}});
  }
  device.run(dispatches);
}

/// The host-memory path: inputs copied into staging buffers, outputs copied back.
void launchFromHost(const VulkanKernel &kernel, const attn_jit_kernel &entry, const attn_problem &p,
                    const attn_launch_args &a) {
  const vk::Device &device = *kernel.device;
  size_t esize = elementSize(p.dtype);
  int64_t B = a.batch, Sq = a.seq_q, Skv = a.seq_kv, Hq = p.heads_q;
  auto span = [&](const attn_tensor &t, int64_t n0, int64_t n1, int64_t n2, int64_t n3) {
    int64_t dims[4] = {n0, n1, n2, n3};
    int64_t elements = extent(dims, t.strides);
    if (elements > kMaxIndex)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("a tensor spans %lld elements; the Vulkan backend indexes at most %lld",
                  static_cast<long long>(elements), static_cast<long long>(kMaxIndex)));
    return size_t(elements) * esize;
  };
  auto upload = [&](const void *data, size_t bytes) {
    auto buffer = device.createBuffer(bytes);
    if (data && bytes)
      std::memcpy(buffer->mapped(), data, bytes);
    return buffer;
  };
  for (int i = 0; i < 4; ++i)
    for (const attn_tensor *t : {&a.q, &a.k, &a.v, &a.o})
      if (t->strides[i] > kMaxIndex)
        fail(ATTN_STATUS_UNSUPPORTED, "a tensor stride exceeds the Vulkan backend's int32 index");
  // K and V: [B, Skv, ...], or every page of a paged cache (a launch may read any of them).
  const bool paged = p.page_size > 0;
  const int64_t kv0 = paged ? a.num_pages : B, kv1 = paged ? p.page_size : Skv;
  auto q = upload(a.q.data, span(a.q, B, Sq, Hq, p.head_dim));
  auto k = upload(a.k.data, span(a.k, kv0, kv1, p.heads_kv, p.head_dim));
  auto v = upload(a.v.data, span(a.v, kv0, kv1, p.heads_kv, p.head_dim_v));
  auto o = device.createBuffer(span(a.o, B, Sq, Hq, p.head_dim_v));
  size_t statBytes = size_t(B * Hq * Sq) * sizeof(float);
  auto lse = p.return_lse ? device.createBuffer(statBytes) : nullptr;
  auto ent = p.return_entropy ? device.createBuffer(statBytes) : nullptr;
  auto lensQ = a.seqlens_q ? upload(a.seqlens_q, size_t(B) * 4) : nullptr;
  auto lensKv = a.seqlens_kv ? upload(a.seqlens_kv, size_t(B) * 4) : nullptr;
  auto slopes = a.alibi_slopes ? upload(a.alibi_slopes, size_t(Hq) * 4) : nullptr;
  auto sinks = a.sinks ? upload(a.sinks, size_t(Hq) * 4) : nullptr;
  auto table = paged
                   ? upload(a.block_table, size_t((B - 1) * a.block_table_stride + a.max_pages) * 4)
                   : nullptr;
  Placement at{q->handle(),
               k->handle(),
               v->handle(),
               o->handle(),
               lse ? lse->handle() : VK_NULL_HANDLE,
               ent ? ent->handle() : VK_NULL_HANDLE,
               lensQ ? lensQ->handle() : VK_NULL_HANDLE,
               lensKv ? lensKv->handle() : VK_NULL_HANDLE};
  at.alibi = slopes ? slopes->handle() : VK_NULL_HANDLE;
  at.sinks = sinks ? sinks->handle() : VK_NULL_HANDLE;
  at.blockTable = table ? table->handle() : VK_NULL_HANDLE;
  at.maxKv = Skv;
  if (a.seqlens_kv) {
    at.maxKv = 0;
    for (int64_t b = 0; b < B; ++b)
      at.maxKv = std::max<int64_t>(at.maxKv, a.seqlens_kv[b]);
  }
  dispatch(kernel, entry, p, a, at);

  // Only O's own elements go back: the gaps of a strided O belong to the caller.
  const char *src = static_cast<const char *>(o->mapped());
  char *dst = static_cast<char *>(a.o.data);
  for (int64_t b = 0; b < B; ++b) {
    int64_t lq = a.seqlens_q ? a.seqlens_q[b] : Sq;
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t h = 0; h < Hq; ++h) {
        size_t off = size_t(b * a.o.strides[0] + i * a.o.strides[1] + h * a.o.strides[2]);
        std::memcpy(dst + off * esize, src + off * esize, size_t(p.head_dim_v) * esize);
      }
  }
  // LSE/entropy: rows i < Lq of each batch entry (the rest are the caller's, as on the CPU).
  auto copyStats = [&](float *out, const vk::Buffer &buf) {
    const float *in = static_cast<const float *>(buf.mapped());
    for (int64_t b = 0; b < B; ++b) {
      int64_t lq = a.seqlens_q ? a.seqlens_q[b] : Sq;
      for (int64_t h = 0; h < Hq; ++h) {
        size_t off = size_t((b * Hq + h) * Sq);
        std::memcpy(out + off, in + off, size_t(lq) * sizeof(float));
      }
    }
  };
  if (lse)
    copyStats(a.lse, *lse);
  if (ent)
    copyStats(a.entropy, *ent);
}

void VulkanBackend::launch(ContextState &, const CompiledKernel &compiled,
                           const attn_launch_args &args) const {
  const auto &kernel = *static_cast<const VulkanKernel *>(compiled.device());
  launchFromHost(kernel, compiled.entry(), compiled.problem(), args);
}

} // namespace

const Backend &vulkanBackend() {
  static const VulkanBackend backend;
  return backend;
}

void launchOnVulkanBuffers(const CompiledKernel &compiled, const attn_launch_args &shapes,
                           const attn_vulkan_launch_args &args) {
  const attn_problem &p = compiled.problem();
  const auto &kernel = *static_cast<const VulkanKernel *>(compiled.device());
  size_t esize = elementSize(p.dtype);
  auto buffer = [](uint64_t handle) { return reinterpret_cast<VkBuffer>(handle); };
  Placement at{buffer(args.q.buffer),         buffer(args.k.buffer),
               buffer(args.v.buffer),         buffer(args.o.buffer),
               buffer(args.lse.buffer),       buffer(args.entropy.buffer),
               buffer(args.seqlens_q.buffer), buffer(args.seqlens_kv.buffer)};
  at.qOffset = int64_t(args.q.offset / esize);
  at.kOffset = int64_t(args.k.offset / esize);
  at.vOffset = int64_t(args.v.offset / esize);
  at.oOffset = int64_t(args.o.offset / esize);
  at.lseOffset = int64_t(args.lse.offset / 4);
  at.entropyOffset = int64_t(args.entropy.offset / 4);
  at.seqlensQOffset = int64_t(args.seqlens_q.offset / 4);
  at.seqlensKvOffset = int64_t(args.seqlens_kv.offset / 4);
  at.alibi = buffer(args.alibi_slopes.buffer);
  at.sinks = buffer(args.sinks.buffer);
  at.alibiOffset = int64_t(args.alibi_slopes.offset / 4);
  at.sinksOffset = int64_t(args.sinks.offset / 4);
  at.blockTable = buffer(args.block_table.buffer);
  at.blockTableOffset = int64_t(args.block_table.offset / 4);
  at.maxKv = shapes.seq_kv; // the lengths are on the device (a paged cache's capacity resolved)
  dispatch(kernel, compiled.entry(), p, shapes, at);
}

} // namespace attn::rt
