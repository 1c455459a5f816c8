//===- device.h - a Vulkan device for attnc's compute kernels -------------===//
//
// libattn_runtime never links Vulkan: libvulkan.so.1 is dlopen'ed on first use and every entry
// point is fetched through vkGetInstanceProcAddr / vkGetDeviceProcAddr (Vulkan headers with
// VK_NO_PROTOTYPES). A machine without a loader or a device still loads the runtime: creating a
// device then throws Error(ATTN_STATUS_UNSUPPORTED, <what is missing>).
//
// Thread-safety: a Device may be used from many threads; submissions to its queue are serialized
// by the Device. Buffers and Pipelines are immutable after creation (a Buffer's contents are the
// caller's business).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_VULKAN_DEVICE_H
#define ATTN_RUNTIME_VULKAN_DEVICE_H

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace attn::rt::vk {

/// What kernels are compiled for and cached by (the device fingerprint is vendor, device id,
/// driver version and subgroup size).
struct DeviceInfo {
  std::string name;
  uint32_t vendorId = 0, deviceId = 0, driverVersion = 0, apiVersion = 0;
  uint32_t subgroupSize = 0; // what kernels are built for: the default size, or 32 when the
                             // device's compute subgroup size can be pinned to it
  uint32_t minSubgroupSize = 0, maxSubgroupSize = 0; // the device's range
  uint32_t maxSharedBytes = 0;          // maxComputeSharedMemorySize
  uint32_t maxWorkgroupInvocations = 0; // maxComputeWorkGroupInvocations
  bool shaderFloat16 = false;           // enabled at device creation when present
  bool shaderInt16 = false;
  bool storageBuffer16BitAccess = false;
  bool subgroupArithmetic = false; // SUBGROUP_FEATURE_ARITHMETIC_BIT in compute
  bool subgroupShuffle = false;    // SUBGROUP_FEATURE_SHUFFLE_BIT in compute
  bool cooperativeMatrix = false;  // VK_KHR_cooperative_matrix exposed
};

class Device;

/// A storage buffer in host-visible, host-coherent memory (the host-memory path: attnc copies).
class Buffer {
public:
  ~Buffer();
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  void *mapped() const { return mapped_; }
  size_t size() const { return size_; }
  VkBuffer handle() const { return buffer_; }

private:
  friend class Device;
  Buffer() = default;
  std::shared_ptr<const Device> device_;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  VkDeviceMemory memory_ = VK_NULL_HANDLE;
  void *mapped_ = nullptr;
  size_t size_ = 0;
};

/// A compute pipeline: one entry point of a SPIR-V module whose bindings are storage buffers
/// 0 .. numBindings-1 of descriptor set 0 (convert-gpu-to-spirv's ABI), no push constants.
class Pipeline {
public:
  ~Pipeline();
  Pipeline(const Pipeline &) = delete;
  Pipeline &operator=(const Pipeline &) = delete;
  uint32_t numBindings() const { return numBindings_; }

private:
  friend class Device;
  Pipeline() = default;
  std::shared_ptr<const Device> device_;
  VkShaderModule module_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout setLayout_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  uint32_t numBindings_ = 0;
};

/// One dispatch: buffer `bindings[i]` (this device's, or an engine's on it) is bound whole to
/// binding i (bindings.size() == pipeline->numBindings()).
struct Dispatch {
  const Pipeline *pipeline = nullptr;
  std::vector<VkBuffer> bindings;
  uint32_t groups[3] = {1, 1, 1};
};

/// A device an engine created: the handles attn_vulkan_device carries.
struct ExternalDevice {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queueFamily = 0;
  PFN_vkGetInstanceProcAddr getInstanceProcAddr = nullptr; // null: libvulkan.so.1's
};

class Device : public std::enable_shared_from_this<Device> {
public:
  /// The process's default device (created on first use, thread-safe): the first physical device
  /// with a compute queue, or the one at index $ATTN_VULKAN_DEVICE. Throws Error UNSUPPORTED
  /// (no libvulkan.so.1, no instance, no device, no compute queue) with a message saying which.
  static std::shared_ptr<Device> getDefault();
  /// A new device on the physical device at `index` (-1: the first with a compute queue), for
  /// getDefault and tests (the default is created once per process). Throws as getDefault does.
  static std::shared_ptr<Device> create(int index);
  /// A Device over an engine's handles, which stay the engine's: never destroyed here, they must
  /// outlive the Device and everything made from it. What the device supports is queried; the
  /// engine must have enabled what its kernels use (16-bit storage, shaderFloat16/Int16).
  /// Throws Error INVALID_ARGUMENT for null handles, UNSUPPORTED for a device older than 1.1.
  static std::shared_ptr<Device> adopt(const ExternalDevice &external);
  ~Device();

  /// The handles (an adopted device's are the engine's).
  ExternalDevice native() const;

  const DeviceInfo &info() const { return info_; }

  /// Throws Error OUT_OF_MEMORY when the allocation fails. bytes may be 0 (a 4-byte buffer).
  std::unique_ptr<Buffer> createBuffer(size_t bytes) const;
  /// Throws Error COMPILE_ERROR with the driver's result when the module or pipeline is refused.
  /// Requires full subgroups of info().subgroupSize when the device supports subgroup size control.
  std::unique_ptr<Pipeline> createPipeline(const uint32_t *spirv, size_t words, const char *entry,
                                           uint32_t numBindings) const;
  /// Records the dispatches in order into one command buffer with a compute-to-compute memory
  /// barrier between consecutive dispatches (later ones read what earlier ones wrote), submits it
  /// and waits. Throws Error INTERNAL_ERROR with the VkResult's name on failure.
  void run(const std::vector<Dispatch> &dispatches) const;

  struct Impl; // the loaded entry points and handles (device.cpp)

private:
  Device() = default;
  std::unique_ptr<Impl> impl_;
  DeviceInfo info_;
  friend class Buffer;
  friend class Pipeline;
};

} // namespace attn::rt::vk

#endif // ATTN_RUNTIME_VULKAN_DEVICE_H
