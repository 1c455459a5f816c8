//===- backend.cpp - the Vulkan backend: SPIR-V kernels on a Vulkan device ===//
//
// Kernels are compiled for the process's default Vulkan device (vulkan/device.h): its
// description goes to the compiler plugin, which returns a SPIR-V image with the Vulkan ABI of
// attn_jit_plugin.h; the backend makes one compute pipeline per entry point. A launch on host
// memory (the C API's attn_kernel_launch) copies the inputs into device-visible buffers, runs the
// dispatches in one submission and copies the outputs back.
//
//===----------------------------------------------------------------------===//

#include "core/backend.h"
#include "core/context.h"
#include "core/error.h"
#include "core/kernel_cache.h"
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

class VulkanBackend final : public Backend {
public:
  void prepareCompile(CompileOptions &options) const override {
    std::shared_ptr<vk::Device> device = vk::Device::getDefault();
    std::call_once(describeOnce_, [&] {
      const vk::DeviceInfo &info = device->info();
      name_ = info.name;
      desc_.name = name_.c_str();
      desc_.vendor_id = info.vendorId;
      desc_.device_id = info.deviceId;
      desc_.driver_version = info.driverVersion;
      desc_.subgroup_size = int32_t(info.subgroupSize);
      desc_.max_shared_bytes = int32_t(info.maxSharedBytes);
      desc_.max_workgroup_size = int32_t(info.maxWorkgroupInvocations);
      desc_.float16 = info.shaderFloat16;
      desc_.int16 = info.shaderInt16;
      desc_.storage16 = info.storageBuffer16BitAccess;
      desc_.cooperative_matrix = info.cooperativeMatrix;
      usable_ = info.subgroupArithmetic && info.subgroupShuffle;
    });
    if (!usable_)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("the Vulkan device '%s' lacks subgroup arithmetic or shuffles in compute "
                  "shaders, which attnc's kernels need",
                  name_.c_str()));
    options.vulkanDevice = &desc_;
  }

  std::shared_ptr<const void> createKernel(const attn_problem &,
                                           const attn_jit_kernel &entry) const override {
    auto kernel = std::make_shared<VulkanKernel>();
    kernel->device = vk::Device::getDefault();
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

private:
  mutable std::once_flag describeOnce_;
  mutable std::string name_;
  mutable attn_jit_vulkan_device desc_{};
  mutable bool usable_ = false;
};

/// The host-memory path: one launch's device buffers.
class HostLaunch {
public:
  HostLaunch(const vk::Device &device, const attn_problem &p, const attn_launch_args &a)
      : device_(device), p_(p), a_(a), esize_(elementSize(p.dtype)) {}

  void run(const VulkanKernel &kernel, const attn_jit_kernel &entry);

private:
  struct Tensor {
    int64_t dims[4];
    const attn_tensor *t;
    int64_t extent;
  };
  Tensor tensor(const attn_tensor &t, int64_t n1, int64_t n2, int64_t n3) {
    Tensor x{{a_.batch, n1, n2, n3}, &t, 0};
    x.extent = extent(x.dims, t.strides);
    for (int i = 0; i < 4; ++i)
      if (t.strides[i] > kMaxIndex)
        fail(ATTN_STATUS_UNSUPPORTED, "a tensor stride exceeds the Vulkan backend's int32 index");
    if (x.extent > kMaxIndex)
      fail(ATTN_STATUS_UNSUPPORTED,
           format("a tensor spans %lld elements; the Vulkan backend indexes at most %lld",
                  static_cast<long long>(x.extent), static_cast<long long>(kMaxIndex)));
    return x;
  }
  std::unique_ptr<vk::Buffer> upload(const Tensor &x) {
    auto buffer = device_.createBuffer(size_t(x.extent) * esize_);
    if (x.extent)
      std::memcpy(buffer->mapped(), x.t->data, size_t(x.extent) * esize_);
    return buffer;
  }
  std::unique_ptr<vk::Buffer> upload(const void *data, size_t bytes) {
    auto buffer = device_.createBuffer(bytes);
    if (data && bytes)
      std::memcpy(buffer->mapped(), data, bytes);
    return buffer;
  }

  const vk::Device &device_;
  const attn_problem &p_;
  const attn_launch_args &a_;
  size_t esize_;
};

void HostLaunch::run(const VulkanKernel &kernel, const attn_jit_kernel &entry) {
  int64_t B = a_.batch, Sq = a_.seq_q, Skv = a_.seq_kv;
  int64_t Hq = p_.heads_q, Hkv = p_.heads_kv, D = p_.head_dim, Dv = p_.head_dim_v;
  if (B > kMaxGroups)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("batch %lld exceeds the Vulkan backend's %lld", static_cast<long long>(B),
                static_cast<long long>(kMaxGroups)));
  if (B * Hq * Sq > kMaxIndex || B * Sq * Hq * Dv > kMaxIndex)
    fail(ATTN_STATUS_UNSUPPORTED, "the launch's outputs exceed the Vulkan backend's int32 index");
  Tensor q = tensor(a_.q, Sq, Hq, D), k = tensor(a_.k, Skv, Hkv, D);
  Tensor v = tensor(a_.v, Skv, Hkv, Dv), o = tensor(a_.o, Sq, Hq, Dv);

  // Split-KV decode for launches whose query rows fit one workgroup block, when the keys are
  // long enough to split (as on the CPU: a problem asking for entropy never splits).
  int64_t maxKv = Skv;
  if (a_.seqlens_kv) {
    maxKv = 0;
    for (int64_t b = 0; b < B; ++b)
      maxKv = std::max<int64_t>(maxKv, a_.seqlens_kv[b]);
  }
  const attn_kernel_manifest &m = *entry.manifest;
  int64_t splits = 1;
  if (kernel.decode && !kernel.linear && Sq * Hq <= m.decode_max_rows &&
      maxKv >= 2 * m.split_keys)
    splits = std::min({ceilDiv(maxKv, m.split_keys), int64_t(64), kMaxGroups / B});
  bool decode = splits > 1;
  int64_t splitKeys = decode ? ceilDiv(ceilDiv(maxKv, splits), m.block_k) * m.block_k : 0;
  if (decode)
    splits = ceilDiv(maxKv, splitKeys);
  if (decode && splits * B * Sq * Hq * Dv > kMaxIndex)
    decode = false, splits = 1;

  int32_t params[ATTN_VK_PARAM_COUNT] = {};
  params[ATTN_VK_PARAM_BATCH] = int32_t(B);
  params[ATTN_VK_PARAM_SEQ_Q] = int32_t(Sq);
  params[ATTN_VK_PARAM_SEQ_KV] = int32_t(Skv);
  params[ATTN_VK_PARAM_HAS_SEQLENS_Q] = a_.seqlens_q != nullptr;
  params[ATTN_VK_PARAM_HAS_SEQLENS_KV] = a_.seqlens_kv != nullptr;
  params[ATTN_VK_PARAM_NUM_SPLITS] = int32_t(splits);
  params[ATTN_VK_PARAM_SPLIT_KEYS] = int32_t(splitKeys);
  auto address = [&](int first, const Tensor &x) {
    params[first] = 0; // each tensor is copied to the start of its own buffer
    for (int i = 0; i < 3; ++i)
      params[first + 1 + i] = int32_t(x.t->strides[i]);
  };
  address(ATTN_VK_PARAM_Q, q);
  address(ATTN_VK_PARAM_K, k);
  address(ATTN_VK_PARAM_V, v);
  address(ATTN_VK_PARAM_O, o);

  auto qBuf = upload(q), kBuf = upload(k), vBuf = upload(v);
  auto oBuf = device_.createBuffer(size_t(o.extent) * esize_);
  size_t statBytes = size_t(B * Hq * Sq) * sizeof(float);
  auto lseBuf = device_.createBuffer(p_.return_lse ? statBytes : 0);
  auto entBuf = device_.createBuffer(p_.return_entropy ? statBytes : 0);
  auto lensQ = upload(a_.seqlens_q, a_.seqlens_q ? size_t(B) * 4 : 0);
  auto lensKv = upload(a_.seqlens_kv, a_.seqlens_kv ? size_t(B) * 4 : 0);
  auto paramBuf = upload(params, sizeof(params));

  int64_t rows = m.block_q;
  uint32_t qGroups = uint32_t(std::min(std::max<int64_t>(ceilDiv(Sq, rows), 1), kMaxGroups));
  uint32_t yGroups = uint32_t(Hkv * entry.gpu_head_chunks);
  std::vector<vk::Dispatch> dispatches;
  std::unique_ptr<vk::Buffer> parts, partLse;
  if (kernel.linear) {
    int64_t columns = entry.gpu_entries[ATTN_GPU_ENTRY_LINEAR].workgroup_size[0];
    dispatches.push_back({kernel.linear.get(),
                          {qBuf.get(), kBuf.get(), vBuf.get(), oBuf.get(), lensQ.get(),
                           lensKv.get(), paramBuf.get()},
                          {uint32_t(ceilDiv(Dv, columns)), uint32_t(Hq), uint32_t(B)}});
  } else if (!decode) {
    dispatches.push_back({kernel.main.get(),
                          {qBuf.get(), kBuf.get(), vBuf.get(), oBuf.get(), lseBuf.get(),
                           entBuf.get(), lensQ.get(), lensKv.get(), paramBuf.get()},
                          {qGroups, yGroups, uint32_t(B)}});
  } else {
    parts = device_.createBuffer(size_t(splits * B * Sq * Hq * Dv) * sizeof(float));
    partLse = device_.createBuffer(size_t(splits * B * Hq * Sq) * sizeof(float));
    dispatches.push_back({kernel.decode.get(),
                          {qBuf.get(), kBuf.get(), vBuf.get(), parts.get(), partLse.get(),
                           lensQ.get(), lensKv.get(), paramBuf.get()},
                          {qGroups, yGroups, uint32_t(splits * B)}});
    uint32_t mergeGroups =
        uint32_t(std::min(std::max<int64_t>(ceilDiv(Sq * Hq, entry.gpu_teams), 1), kMaxGroups));
    dispatches.push_back({kernel.merge.get(),
                          {parts.get(), partLse.get(), oBuf.get(), lseBuf.get(), lensQ.get(),
                           paramBuf.get()},
                          {mergeGroups, 1, uint32_t(B)}});
  }
  device_.run(dispatches);

  // Only O's own elements go back: the gaps of a strided O belong to the caller.
  const char *src = static_cast<const char *>(oBuf->mapped());
  char *dst = static_cast<char *>(a_.o.data);
  for (int64_t b = 0; b < B; ++b) {
    int64_t lq = a_.seqlens_q ? a_.seqlens_q[b] : Sq;
    for (int64_t i = 0; i < lq; ++i)
      for (int64_t h = 0; h < Hq; ++h) {
        size_t at = size_t(b * a_.o.strides[0] + i * a_.o.strides[1] + h * a_.o.strides[2]);
        std::memcpy(dst + at * esize_, src + at * esize_, size_t(Dv) * esize_);
      }
  }
  // LSE/entropy: rows i < Lq of each batch entry (the rest are the caller's, as on the CPU).
  auto copyStats = [&](float *out, const vk::Buffer &buf) {
    const float *in = static_cast<const float *>(buf.mapped());
    for (int64_t b = 0; b < B; ++b) {
      int64_t lq = a_.seqlens_q ? a_.seqlens_q[b] : Sq;
      for (int64_t h = 0; h < Hq; ++h) {
        size_t at = size_t((b * Hq + h) * Sq);
        std::memcpy(out + at, in + at, size_t(lq) * sizeof(float));
      }
    }
  };
  if (p_.return_lse)
    copyStats(a_.lse, *lseBuf);
  if (p_.return_entropy)
    copyStats(a_.entropy, *entBuf);
}

void VulkanBackend::launch(ContextState &, const CompiledKernel &compiled,
                           const attn_launch_args &args) const {
  const auto &kernel = *static_cast<const VulkanKernel *>(compiled.device());
  HostLaunch(*kernel.device, compiled.problem(), args).run(kernel, compiled.entry());
}

} // namespace

const Backend &vulkanBackend() {
  static const VulkanBackend backend;
  return backend;
}

} // namespace attn::rt
