//===- device.cpp - a Vulkan device through a dlopen'ed loader ------------===//

#include "vulkan/device.h"

#include "core/error.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <mutex>
#include <optional>
#include <utility>

namespace attn::rt::vk {

namespace {

// The entry points the device uses, several a line.
// clang-format off
// Instance-level ones, through vkGetInstanceProcAddr.
#define ATTN_VK_INSTANCE_FUNCTIONS(X) \
  X(vkDestroyInstance) X(vkEnumeratePhysicalDevices) X(vkGetPhysicalDeviceProperties) \
  X(vkGetPhysicalDeviceProperties2) X(vkGetPhysicalDeviceFeatures2) \
  X(vkGetPhysicalDeviceQueueFamilyProperties) X(vkGetPhysicalDeviceMemoryProperties) \
  X(vkEnumerateDeviceExtensionProperties) X(vkCreateDevice) X(vkGetDeviceProcAddr)
// Device-level ones, through vkGetDeviceProcAddr (which skips the loader's dispatch).
#define ATTN_VK_DEVICE_FUNCTIONS(X) \
  X(vkDestroyDevice) X(vkGetDeviceQueue) X(vkCreateBuffer) X(vkDestroyBuffer) \
  X(vkGetBufferMemoryRequirements) X(vkAllocateMemory) X(vkFreeMemory) X(vkBindBufferMemory) \
  X(vkMapMemory) X(vkCreateShaderModule) X(vkDestroyShaderModule) \
  X(vkCreateDescriptorSetLayout) X(vkDestroyDescriptorSetLayout) X(vkCreatePipelineLayout) \
  X(vkDestroyPipelineLayout) X(vkCreateComputePipelines) X(vkDestroyPipeline) \
  X(vkCreateCommandPool) X(vkDestroyCommandPool) X(vkAllocateCommandBuffers) \
  X(vkBeginCommandBuffer) X(vkEndCommandBuffer) X(vkCmdBindPipeline) X(vkCmdBindDescriptorSets) \
  X(vkCmdDispatch) X(vkCmdPipelineBarrier) X(vkCreateDescriptorPool) X(vkDestroyDescriptorPool) \
  X(vkAllocateDescriptorSets) X(vkUpdateDescriptorSets) X(vkCreateFence) X(vkDestroyFence) \
  X(vkQueueSubmit) X(vkWaitForFences)
// clang-format on

#define ATTN_VK_DECLARE(name) PFN_##name name = nullptr;

struct Functions {
  ATTN_VK_INSTANCE_FUNCTIONS(ATTN_VK_DECLARE)
  ATTN_VK_DEVICE_FUNCTIONS(ATTN_VK_DECLARE)
};

#undef ATTN_VK_DECLARE

// The highest instance version requested: what the device code is written against.
constexpr uint32_t kMaxApiVersion = VK_API_VERSION_1_3;
// A hung or very slow submission is reported rather than waited on forever.
constexpr uint64_t kFenceTimeoutNs = 60ull * 1000 * 1000 * 1000;
constexpr uint32_t kSpirvMagic = 0x07230203;

const char *vkResultName(VkResult result) {
#define ATTN_VK_RESULT(name) {name, #name},
  static const std::pair<VkResult, const char *> names[] = {
      // clang-format off
    ATTN_VK_RESULT(VK_SUCCESS) ATTN_VK_RESULT(VK_NOT_READY) ATTN_VK_RESULT(VK_TIMEOUT)
    ATTN_VK_RESULT(VK_INCOMPLETE) ATTN_VK_RESULT(VK_ERROR_OUT_OF_HOST_MEMORY)
    ATTN_VK_RESULT(VK_ERROR_OUT_OF_DEVICE_MEMORY) ATTN_VK_RESULT(VK_ERROR_INITIALIZATION_FAILED)
    ATTN_VK_RESULT(VK_ERROR_DEVICE_LOST) ATTN_VK_RESULT(VK_ERROR_MEMORY_MAP_FAILED)
    ATTN_VK_RESULT(VK_ERROR_LAYER_NOT_PRESENT) ATTN_VK_RESULT(VK_ERROR_EXTENSION_NOT_PRESENT)
    ATTN_VK_RESULT(VK_ERROR_FEATURE_NOT_PRESENT) ATTN_VK_RESULT(VK_ERROR_INCOMPATIBLE_DRIVER)
    ATTN_VK_RESULT(VK_ERROR_TOO_MANY_OBJECTS) ATTN_VK_RESULT(VK_ERROR_FORMAT_NOT_SUPPORTED)
    ATTN_VK_RESULT(VK_ERROR_FRAGMENTED_POOL) ATTN_VK_RESULT(VK_ERROR_UNKNOWN)
    ATTN_VK_RESULT(VK_ERROR_OUT_OF_POOL_MEMORY) ATTN_VK_RESULT(VK_ERROR_INVALID_EXTERNAL_HANDLE)
    ATTN_VK_RESULT(VK_ERROR_FRAGMENTATION) ATTN_VK_RESULT(VK_ERROR_INVALID_OPAQUE_CAPTURE_ADDRESS)
    ATTN_VK_RESULT(VK_PIPELINE_COMPILE_REQUIRED) ATTN_VK_RESULT(VK_ERROR_INVALID_SHADER_NV)
      // clang-format on
  };
#undef ATTN_VK_RESULT
  for (const auto &[value, name] : names)
    if (value == result)
      return name;
  return "an unknown VkResult";
}

/// Throws "<what> failed (VK_...)" unless result is VK_SUCCESS: an out-of-memory result as
/// OUT_OF_MEMORY, anything else as `status`.
void check(VkResult result, const char *what, attn_status status) {
  if (result == VK_SUCCESS)
    return;
  if (result == VK_ERROR_OUT_OF_HOST_MEMORY || result == VK_ERROR_OUT_OF_DEVICE_MEMORY)
    status = ATTN_STATUS_OUT_OF_MEMORY;
  fail(status, format("Vulkan: %s failed (%s)", what, vkResultName(result)));
}

/// check() for a vkCreate*/vkAllocate* call writing `handle`, which is undefined after a failure:
/// it is reset so that the owner's destructor skips it.
template <typename Handle>
void checkCreate(VkResult result, Handle &handle, const char *what, attn_status status) {
  if (result != VK_SUCCESS)
    handle = VK_NULL_HANDLE;
  check(result, what, status);
}

/// A Vulkan structure with its sType set and everything else zero.
template <typename T> T vkStruct(VkStructureType type) {
  T value{};
  value.sType = type;
  return value;
}

[[noreturn]] void unavailable(const std::string &why) {
  fail(ATTN_STATUS_UNSUPPORTED, "Vulkan is not available: " + why);
}

/// vkGetInstanceProcAddr from libvulkan.so.1, loaded once per process and never unloaded (the
/// driver's threads and atexit handlers may outlive any Device).
PFN_vkGetInstanceProcAddr loaderEntry() {
  static const auto loader = [] {
    std::pair<PFN_vkGetInstanceProcAddr, std::string> result{nullptr, ""};
    void *handle = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      const char *error = dlerror();
      result.second = format("libvulkan.so.1 could not be loaded (%s)", error ? error : "?");
    } else if (!(result.first = reinterpret_cast<PFN_vkGetInstanceProcAddr>(
                     dlsym(handle, "vkGetInstanceProcAddr")))) {
      result.second = "libvulkan.so.1 has no vkGetInstanceProcAddr";
    }
    return result;
  }();
  if (!loader.first)
    unavailable(loader.second);
  return loader.first;
}

std::string versionString(uint32_t version) {
  return format("%u.%u.%u", VK_API_VERSION_MAJOR(version), VK_API_VERSION_MINOR(version),
                VK_API_VERSION_PATCH(version));
}

/// The features the device may enable, each structure chained only where the device knows it
/// (chaining an unknown structure is invalid usage). Not copyable: the chain points into itself.
struct FeatureChain {
  VkPhysicalDeviceFeatures2 core{};
  VkPhysicalDevice16BitStorageFeatures storage16{};
  VkPhysicalDeviceShaderFloat16Int8Features float16{};
  VkPhysicalDeviceSubgroupSizeControlFeatures sizeControl{};

  FeatureChain(bool withFloat16, bool withSizeControl) {
    core.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    storage16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES;
    float16.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES;
    sizeControl.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES;
    core.pNext = &storage16;
    void **tail = &storage16.pNext;
    if (withFloat16) {
      *tail = &float16;
      tail = &float16.pNext;
    }
    if (withSizeControl)
      *tail = &sizeControl;
  }
  FeatureChain(const FeatureChain &) = delete;
  FeatureChain &operator=(const FeatureChain &) = delete;
};

/// The value of $ATTN_VULKAN_DEVICE: -1 when unset, else a non-negative index.
int deviceIndexFromEnvironment() {
  const char *value = std::getenv("ATTN_VULKAN_DEVICE");
  if (!value || !*value)
    return -1;
  char *end = nullptr;
  errno = 0;
  long index = std::strtol(value, &end, 10);
  if (!std::isdigit(static_cast<unsigned char>(*value)) || *end || errno || index > 0xffff)
    unavailable(format("ATTN_VULKAN_DEVICE='%s' is not a device index", value));
  return static_cast<int>(index);
}

} // namespace

struct Device::Impl {
  Functions fn;
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t queueFamily = 0;
  VkPhysicalDeviceMemoryProperties memory{};
  VkPhysicalDeviceLimits limits{};
  // computeFullSubgroups is enabled: pipelines require full subgroups.
  bool fullSubgroups = false;
  // subgroupSizeControl is enabled: pipelines require subgroups of this size (0: not pinned).
  uint32_t requiredSubgroupSize = 0;
  // vkQueueSubmit needs the queue externally synchronized.
  mutable std::mutex submitMutex;
  // An engine's device (adopt): its handles are not destroyed here.
  bool borrowed = false;
};

namespace {

/// A physical device's version, extensions and compute queue family, as selection needs them.
struct Candidate {
  VkPhysicalDeviceProperties properties{};
  std::vector<VkExtensionProperties> extensions;
  int computeFamily = -1;

  bool hasExtension(const char *name) const {
    return std::any_of(extensions.begin(), extensions.end(), [&](const VkExtensionProperties &e) {
      return std::strcmp(e.extensionName, name) == 0;
    });
  }
};

Candidate inspect(const Functions &fn, VkPhysicalDevice physical) {
  Candidate candidate;
  fn.vkGetPhysicalDeviceProperties(physical, &candidate.properties);
  uint32_t count = 0;
  fn.vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  fn.vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  for (uint32_t i = 0; i < count && candidate.computeFamily < 0; ++i)
    if ((families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && families[i].queueCount > 0)
      candidate.computeFamily = static_cast<int>(i);
  count = 0;
  check(fn.vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr),
        "vkEnumerateDeviceExtensionProperties", ATTN_STATUS_UNSUPPORTED);
  candidate.extensions.resize(count);
  check(fn.vkEnumerateDeviceExtensionProperties(physical, nullptr, &count,
                                                candidate.extensions.data()),
        "vkEnumerateDeviceExtensionProperties", ATTN_STATUS_UNSUPPORTED);
  candidate.extensions.resize(count);
  return candidate;
}

/// What a physical device supports (the DeviceInfo, limits and memory types of impl), and which
/// of its optional features come from extensions (before Vulkan 1.2 / 1.3).
struct Support {
  bool float16Extension = false, sizeControlExtension = false, fullSubgroups = false;
  // subgroupSizeControl for compute shaders: pipelines can require info.subgroupSize.
  bool pinnedSize = false;
  uint32_t defaultSubgroupSize = 0;
};

Support describe(DeviceInfo &info, Device::Impl &impl, const Candidate &candidate,
                 uint32_t version) {
  const Functions &fn = impl.fn;
  Support support;
  // Core from 1.2 / 1.3; before that, each is an extension that must also be enabled.
  support.float16Extension = version < VK_API_VERSION_1_2 &&
                             candidate.hasExtension(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  support.sizeControlExtension =
      version < VK_API_VERSION_1_3 &&
      candidate.hasExtension(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  bool knowsFloat16 = version >= VK_API_VERSION_1_2 || support.float16Extension;
  bool knowsSizeControl = version >= VK_API_VERSION_1_3 || support.sizeControlExtension;

  auto properties =
      vkStruct<VkPhysicalDeviceProperties2>(VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2);
  auto subgroup = vkStruct<VkPhysicalDeviceSubgroupProperties>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES);
  auto sizeRange = vkStruct<VkPhysicalDeviceSubgroupSizeControlProperties>(
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES);
  properties.pNext = &subgroup;
  if (knowsSizeControl)
    subgroup.pNext = &sizeRange;
  fn.vkGetPhysicalDeviceProperties2(impl.physical, &properties);
  FeatureChain present(knowsFloat16, knowsSizeControl);
  fn.vkGetPhysicalDeviceFeatures2(impl.physical, &present.core);
  fn.vkGetPhysicalDeviceMemoryProperties(impl.physical, &impl.memory);
  impl.limits = properties.properties.limits;

  info.name = properties.properties.deviceName;
  info.vendorId = properties.properties.vendorID;
  info.deviceId = properties.properties.deviceID;
  info.driverVersion = properties.properties.driverVersion;
  info.apiVersion = properties.properties.apiVersion;
  info.subgroupSize = subgroup.subgroupSize;
  info.maxSharedBytes = impl.limits.maxComputeSharedMemorySize;
  info.maxWorkgroupInvocations = impl.limits.maxComputeWorkGroupInvocations;
  info.shaderFloat16 = knowsFloat16 && present.float16.shaderFloat16;
  info.shaderInt16 = present.core.features.shaderInt16;
  info.storageBuffer16BitAccess = present.storage16.storageBuffer16BitAccess;
  bool computeOps = subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT;
  info.subgroupArithmetic =
      computeOps && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  info.subgroupShuffle =
      computeOps && (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  info.cooperativeMatrix = candidate.hasExtension("VK_KHR_cooperative_matrix");
  support.fullSubgroups = knowsSizeControl && present.sizeControl.computeFullSubgroups;
  // A device whose compute subgroup size varies (Intel: 8 to 32; AMD: 32 or 64) compiles each
  // shader for a size of its choosing, while attnc's kernels are built for one: with size control
  // the pipelines require it, preferring 32 (a team of 32 lanes suits head dims of 32 to 256).
  support.defaultSubgroupSize = subgroup.subgroupSize;
  info.minSubgroupSize = info.maxSubgroupSize = subgroup.subgroupSize;
  if (knowsSizeControl && sizeRange.minSubgroupSize) {
    info.minSubgroupSize = sizeRange.minSubgroupSize;
    info.maxSubgroupSize = sizeRange.maxSubgroupSize;
  }
  support.pinnedSize = knowsSizeControl && present.sizeControl.subgroupSizeControl &&
                       (sizeRange.requiredSubgroupSizeStages & VK_SHADER_STAGE_COMPUTE_BIT);
  if (support.pinnedSize && info.minSubgroupSize <= 32 && 32 <= info.maxSubgroupSize)
    info.subgroupSize = 32;
  return support;
}

} // namespace

std::shared_ptr<Device> Device::getDefault() {
  // Created once; a failure is remembered too, so a machine without Vulkan pays for the attempt
  // once. The default device is intentionally never destroyed: tearing it down from a static
  // destructor would race the driver's own exit-time cleanup, and the process ends anyway.
  struct State {
    std::shared_ptr<Device> device;
    std::optional<Error> error;
  };
  static const State *state = [] {
    auto *created = new State();
    try {
      created->device = create(deviceIndexFromEnvironment());
    } catch (const Error &error) {
      created->error = error;
    }
    return created;
  }();
  if (state->error)
    throw *state->error;
  return state->device;
}

std::shared_ptr<Device> Device::create(int index) {
  PFN_vkGetInstanceProcAddr getProcAddr = loaderEntry();
  // Any failure below destroys what was created so far through ~Device.
  std::shared_ptr<Device> self(new Device());
  self->impl_ = std::make_unique<Impl>();
  Impl &impl = *self->impl_;
  Functions &fn = impl.fn;

  // vkEnumerateInstanceVersion is absent from 1.0 loaders.
  auto enumerateVersion = reinterpret_cast<PFN_vkEnumerateInstanceVersion>(
      getProcAddr(VK_NULL_HANDLE, "vkEnumerateInstanceVersion"));
  auto createInstance =
      reinterpret_cast<PFN_vkCreateInstance>(getProcAddr(VK_NULL_HANDLE, "vkCreateInstance"));
  uint32_t loaderVersion = VK_API_VERSION_1_0;
  if (enumerateVersion && enumerateVersion(&loaderVersion) != VK_SUCCESS)
    loaderVersion = VK_API_VERSION_1_0;
  if (!createInstance || loaderVersion < VK_API_VERSION_1_1)
    unavailable("the Vulkan loader supports " + versionString(loaderVersion) +
                " only (1.1 is required)");
  uint32_t instanceVersion = std::min(loaderVersion, kMaxApiVersion);

  auto app = vkStruct<VkApplicationInfo>(VK_STRUCTURE_TYPE_APPLICATION_INFO);
  app.pApplicationName = "attn";
  app.pEngineName = "attn";
  app.apiVersion = instanceVersion;
  auto instanceInfo = vkStruct<VkInstanceCreateInfo>(VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO);
  instanceInfo.pApplicationInfo = &app;
  if (VkResult result = createInstance(&instanceInfo, nullptr, &impl.instance)) {
    impl.instance = VK_NULL_HANDLE;
    unavailable(format("vkCreateInstance failed (%s)", vkResultName(result)));
  }
#define ATTN_VK_LOAD_INSTANCE(name)                                                                \
  if (!(fn.name = reinterpret_cast<PFN_##name>(getProcAddr(impl.instance, #name))))                \
    unavailable("the Vulkan loader lacks " #name);
  ATTN_VK_INSTANCE_FUNCTIONS(ATTN_VK_LOAD_INSTANCE)
#undef ATTN_VK_LOAD_INSTANCE

  uint32_t count = 0;
  check(fn.vkEnumeratePhysicalDevices(impl.instance, &count, nullptr), "vkEnumeratePhysicalDevices",
        ATTN_STATUS_UNSUPPORTED);
  std::vector<VkPhysicalDevice> physicals(count);
  check(fn.vkEnumeratePhysicalDevices(impl.instance, &count, physicals.data()),
        "vkEnumeratePhysicalDevices", ATTN_STATUS_UNSUPPORTED);
  physicals.resize(count);
  if (physicals.empty())
    unavailable("no Vulkan physical device was found");

  // Properties2/Features2 need the device itself to be 1.1 too.
  auto usable = [](const Candidate &c) {
    return c.computeFamily >= 0 && c.properties.apiVersion >= VK_API_VERSION_1_1;
  };
  Candidate candidate;
  if (index >= 0) {
    if (static_cast<size_t>(index) >= physicals.size())
      unavailable(format("ATTN_VULKAN_DEVICE=%d is out of range (%zu physical devices)", index,
                         physicals.size()));
    candidate = inspect(fn, physicals[index]);
    if (!usable(candidate))
      unavailable(format("physical device %d (%s) has no compute queue or is older than Vulkan "
                         "1.1",
                         index, candidate.properties.deviceName));
    impl.physical = physicals[index];
  } else {
    for (VkPhysicalDevice physical : physicals) {
      candidate = inspect(fn, physical);
      if (usable(candidate)) {
        impl.physical = physical;
        break;
      }
    }
    if (!impl.physical)
      unavailable(format("none of the %zu physical devices has Vulkan 1.1 and a compute queue",
                         physicals.size()));
  }
  impl.queueFamily = static_cast<uint32_t>(candidate.computeFamily);
  uint32_t version = std::min(candidate.properties.apiVersion, instanceVersion);
  Support support = describe(self->info_, impl, candidate, version);
  DeviceInfo &info = self->info_;
  bool float16Extension = support.float16Extension;
  bool sizeControlExtension = support.sizeControlExtension;
  impl.fullSubgroups = support.fullSubgroups;
  impl.requiredSubgroupSize = support.pinnedSize ? info.subgroupSize : 0;

  // Exactly the features attnc's kernels may use, and only where present: enabling everything
  // present (robustBufferAccess, say) could slow every kernel down.
  FeatureChain enabled(info.shaderFloat16, impl.fullSubgroups || support.pinnedSize);
  enabled.core.features.shaderInt16 = info.shaderInt16;
  enabled.storage16.storageBuffer16BitAccess = info.storageBuffer16BitAccess;
  enabled.float16.shaderFloat16 = info.shaderFloat16;
  enabled.sizeControl.computeFullSubgroups = impl.fullSubgroups;
  enabled.sizeControl.subgroupSizeControl = support.pinnedSize;
  std::vector<const char *> extensions;
  if (float16Extension && info.shaderFloat16)
    extensions.push_back(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  if (sizeControlExtension && (impl.fullSubgroups || support.pinnedSize))
    extensions.push_back(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);

  float priority = 1.0f;
  auto queueInfo = vkStruct<VkDeviceQueueCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO);
  queueInfo.queueFamilyIndex = impl.queueFamily;
  queueInfo.queueCount = 1;
  queueInfo.pQueuePriorities = &priority;
  auto deviceInfo = vkStruct<VkDeviceCreateInfo>(VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO);
  deviceInfo.pNext = &enabled.core;
  deviceInfo.queueCreateInfoCount = 1;
  deviceInfo.pQueueCreateInfos = &queueInfo;
  deviceInfo.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  deviceInfo.ppEnabledExtensionNames = extensions.data();
  if (VkResult result = fn.vkCreateDevice(impl.physical, &deviceInfo, nullptr, &impl.device)) {
    impl.device = VK_NULL_HANDLE;
    unavailable(
        format("vkCreateDevice failed for %s (%s)", info.name.c_str(), vkResultName(result)));
  }
#define ATTN_VK_LOAD_DEVICE(name)                                                                  \
  if (!(fn.name = reinterpret_cast<PFN_##name>(fn.vkGetDeviceProcAddr(impl.device, #name))))       \
    unavailable("the Vulkan driver lacks " #name);
  ATTN_VK_DEVICE_FUNCTIONS(ATTN_VK_LOAD_DEVICE)
#undef ATTN_VK_LOAD_DEVICE
  fn.vkGetDeviceQueue(impl.device, impl.queueFamily, 0, &impl.queue);
  return self;
}

std::shared_ptr<Device> Device::adopt(const ExternalDevice &external) {
  if (!external.instance || !external.physical || !external.device || !external.queue)
    failInvalid("attn_vulkan_device: instance, physical_device, device and queue must all be set");
  PFN_vkGetInstanceProcAddr getProcAddr =
      external.getInstanceProcAddr ? external.getInstanceProcAddr : loaderEntry();
  std::shared_ptr<Device> self(new Device());
  self->impl_ = std::make_unique<Impl>();
  Impl &impl = *self->impl_;
  impl.borrowed = true;
  impl.instance = external.instance;
  impl.physical = external.physical;
  impl.device = external.device;
  impl.queue = external.queue;
  impl.queueFamily = external.queueFamily;
  Functions &fn = impl.fn;
#define ATTN_VK_LOAD_INSTANCE(name)                                                                \
  if (!(fn.name = reinterpret_cast<PFN_##name>(getProcAddr(impl.instance, #name))))                \
    unavailable("the engine's Vulkan instance lacks " #name);
  ATTN_VK_INSTANCE_FUNCTIONS(ATTN_VK_LOAD_INSTANCE)
#undef ATTN_VK_LOAD_INSTANCE
  Candidate candidate = inspect(fn, impl.physical);
  if (candidate.properties.apiVersion < VK_API_VERSION_1_1)
    unavailable(
        format("the engine's device %s is older than Vulkan 1.1", candidate.properties.deviceName));
  Support support = describe(self->info_, impl, candidate, candidate.properties.apiVersion);
  // Whether the engine enabled computeFullSubgroups or subgroupSizeControl is unknown: pipelines
  // require neither, and kernels are built for the default subgroup size.
  self->info_.subgroupSize = support.defaultSubgroupSize;
#define ATTN_VK_LOAD_DEVICE(name)                                                                  \
  if (!(fn.name = reinterpret_cast<PFN_##name>(fn.vkGetDeviceProcAddr(impl.device, #name))))       \
    unavailable("the engine's Vulkan device lacks " #name);
  ATTN_VK_DEVICE_FUNCTIONS(ATTN_VK_LOAD_DEVICE)
#undef ATTN_VK_LOAD_DEVICE
  return self;
}

ExternalDevice Device::native() const {
  ExternalDevice handles;
  handles.instance = impl_->instance;
  handles.physical = impl_->physical;
  handles.device = impl_->device;
  handles.queue = impl_->queue;
  handles.queueFamily = impl_->queueFamily;
  handles.getInstanceProcAddr = loaderEntry();
  return handles;
}

Device::~Device() {
  if (!impl_ || impl_->borrowed)
    return;
  // The functions are null when loading them was what failed.
  if (impl_->device && impl_->fn.vkDestroyDevice)
    impl_->fn.vkDestroyDevice(impl_->device, nullptr);
  if (impl_->instance && impl_->fn.vkDestroyInstance)
    impl_->fn.vkDestroyInstance(impl_->instance, nullptr);
}

std::unique_ptr<Buffer> Device::createBuffer(size_t bytes) const {
  const Functions &fn = impl_->fn;
  // Dispatches bind buffers whole, so a buffer past the descriptor range could not be bound.
  if (bytes > impl_->limits.maxStorageBufferRange)
    fail(ATTN_STATUS_OUT_OF_MEMORY,
         format("Vulkan: a %zu-byte buffer exceeds the device's maxStorageBufferRange (%u bytes)",
                bytes, impl_->limits.maxStorageBufferRange));
  std::unique_ptr<Buffer> buffer(new Buffer());
  buffer->device_ = shared_from_this();
  buffer->size_ = bytes;
  auto bufferInfo = vkStruct<VkBufferCreateInfo>(VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO);
  bufferInfo.size = std::max<size_t>(bytes, 4); // a zero size is invalid
  bufferInfo.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                     VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  bufferInfo.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  checkCreate(fn.vkCreateBuffer(impl_->device, &bufferInfo, nullptr, &buffer->buffer_),
              buffer->buffer_, "vkCreateBuffer", ATTN_STATUS_OUT_OF_MEMORY);

  VkMemoryRequirements requirements;
  fn.vkGetBufferMemoryRequirements(impl_->device, buffer->buffer_, &requirements);
  constexpr VkMemoryPropertyFlags wanted =
      VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  uint32_t type = 0;
  while (type < impl_->memory.memoryTypeCount &&
         !((requirements.memoryTypeBits & (1u << type)) &&
           (impl_->memory.memoryTypes[type].propertyFlags & wanted) == wanted))
    ++type;
  if (type == impl_->memory.memoryTypeCount)
    fail(ATTN_STATUS_UNSUPPORTED, "Vulkan: the device has no host-visible, host-coherent memory "
                                  "for storage buffers");
  auto allocateInfo = vkStruct<VkMemoryAllocateInfo>(VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO);
  allocateInfo.allocationSize = requirements.size;
  allocateInfo.memoryTypeIndex = type;
  checkCreate(fn.vkAllocateMemory(impl_->device, &allocateInfo, nullptr, &buffer->memory_),
              buffer->memory_, "vkAllocateMemory", ATTN_STATUS_OUT_OF_MEMORY);
  check(fn.vkBindBufferMemory(impl_->device, buffer->buffer_, buffer->memory_, 0),
        "vkBindBufferMemory", ATTN_STATUS_OUT_OF_MEMORY);
  // Mapped for the buffer's lifetime; vkFreeMemory unmaps.
  check(fn.vkMapMemory(impl_->device, buffer->memory_, 0, VK_WHOLE_SIZE, 0, &buffer->mapped_),
        "vkMapMemory", ATTN_STATUS_OUT_OF_MEMORY);
  return buffer;
}

Buffer::~Buffer() {
  const Device::Impl &impl = *device_->impl_;
  if (buffer_)
    impl.fn.vkDestroyBuffer(impl.device, buffer_, nullptr);
  if (memory_)
    impl.fn.vkFreeMemory(impl.device, memory_, nullptr);
}

namespace {

/// Checks what the driver may assume without checking (invalid SPIR-V or a missing entry point is
/// undefined behaviour, and some drivers crash on it): the header, the instruction stream, and a
/// GLCompute entry point named `entry`. Returns that entry point's LocalSize x, or 0 when the
/// module gives the workgroup size another way.
uint32_t checkSpirv(const uint32_t *spirv, size_t words, const char *entry) {
  if (!spirv || words < 5 || spirv[0] != kSpirvMagic)
    fail(ATTN_STATUS_COMPILE_ERROR, "Vulkan: the shader is not a SPIR-V module");
  constexpr uint32_t opEntryPoint = 15, opExecutionMode = 16, modelGLCompute = 5,
                     modeLocalSize = 17;
  bool found = false;
  uint32_t id = 0, localSizeX = 0;
  for (size_t at = 5; at < words;) {
    uint32_t count = spirv[at] >> 16, opcode = spirv[at] & 0xffff;
    if (count == 0 || count > words - at)
      fail(ATTN_STATUS_COMPILE_ERROR,
           format("Vulkan: the SPIR-V module is malformed at word %zu", at));
    // OpEntryPoint model id "name" ...: the name is a nul-terminated string packed into words
    // (little-endian, as this host is).
    if (opcode == opEntryPoint && count >= 4 && spirv[at + 1] == modelGLCompute && !found) {
      size_t maxBytes = (count - 3) * sizeof(uint32_t);
      const char *name = reinterpret_cast<const char *>(spirv + at + 3);
      if (strnlen(name, maxBytes) < maxBytes && std::strcmp(name, entry) == 0) {
        found = true;
        id = spirv[at + 2];
      }
    }
    if (opcode == opExecutionMode && count >= 6 && found && spirv[at + 1] == id &&
        spirv[at + 2] == modeLocalSize)
      localSizeX = spirv[at + 3];
    at += count;
  }
  if (!found)
    fail(ATTN_STATUS_COMPILE_ERROR,
         format("Vulkan: the SPIR-V module has no GLCompute entry point '%s'", entry));
  return localSizeX;
}

} // namespace

std::unique_ptr<Pipeline> Device::createPipeline(const uint32_t *spirv, size_t words,
                                                 const char *entry, uint32_t numBindings) const {
  requireNonNull(entry, "entry");
  const Functions &fn = impl_->fn;
  VkDevice device = impl_->device;
  if (numBindings > impl_->limits.maxPerStageDescriptorStorageBuffers)
    failInvalid(format("Vulkan: %u storage buffers exceed the device's limit of %u", numBindings,
                       impl_->limits.maxPerStageDescriptorStorageBuffers));
  uint32_t localSizeX = checkSpirv(spirv, words, entry);
  // Requiring full subgroups (without a varying size) makes a workgroup width that is not a
  // multiple of the subgroup size invalid usage, which the driver need not diagnose.
  if (impl_->fullSubgroups && localSizeX % info_.subgroupSize != 0)
    fail(ATTN_STATUS_COMPILE_ERROR,
         format("Vulkan: entry point '%s' has workgroup width %u, not a multiple of the subgroup "
                "size %u",
                entry, localSizeX, info_.subgroupSize));

  std::unique_ptr<Pipeline> pipeline(new Pipeline());
  pipeline->device_ = shared_from_this();
  pipeline->numBindings_ = numBindings;
  auto moduleInfo = vkStruct<VkShaderModuleCreateInfo>(VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO);
  moduleInfo.codeSize = words * sizeof(uint32_t);
  moduleInfo.pCode = spirv;
  checkCreate(fn.vkCreateShaderModule(device, &moduleInfo, nullptr, &pipeline->module_),
              pipeline->module_, "vkCreateShaderModule", ATTN_STATUS_COMPILE_ERROR);

  std::vector<VkDescriptorSetLayoutBinding> bindings(numBindings);
  for (uint32_t i = 0; i < numBindings; ++i) {
    bindings[i].binding = i;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  auto setInfo = vkStruct<VkDescriptorSetLayoutCreateInfo>(
      VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO);
  setInfo.bindingCount = numBindings;
  setInfo.pBindings = bindings.data();
  checkCreate(fn.vkCreateDescriptorSetLayout(device, &setInfo, nullptr, &pipeline->setLayout_),
              pipeline->setLayout_, "vkCreateDescriptorSetLayout", ATTN_STATUS_COMPILE_ERROR);
  auto layoutInfo =
      vkStruct<VkPipelineLayoutCreateInfo>(VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO);
  layoutInfo.setLayoutCount = 1;
  layoutInfo.pSetLayouts = &pipeline->setLayout_;
  checkCreate(fn.vkCreatePipelineLayout(device, &layoutInfo, nullptr, &pipeline->layout_),
              pipeline->layout_, "vkCreatePipelineLayout", ATTN_STATUS_COMPILE_ERROR);

  auto pipelineInfo =
      vkStruct<VkComputePipelineCreateInfo>(VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO);
  pipelineInfo.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  // Kernels compiled for info().subgroupSize count on every subgroup being full.
  if (impl_->fullSubgroups)
    pipelineInfo.stage.flags = VK_PIPELINE_SHADER_STAGE_CREATE_REQUIRE_FULL_SUBGROUPS_BIT;
  auto required = vkStruct<VkPipelineShaderStageRequiredSubgroupSizeCreateInfo>(
      VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO);
  required.requiredSubgroupSize = impl_->requiredSubgroupSize;
  if (impl_->requiredSubgroupSize)
    pipelineInfo.stage.pNext = &required;
  pipelineInfo.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  pipelineInfo.stage.module = pipeline->module_;
  pipelineInfo.stage.pName = entry;
  pipelineInfo.layout = pipeline->layout_;
  checkCreate(fn.vkCreateComputePipelines(device, VK_NULL_HANDLE, 1, &pipelineInfo, nullptr,
                                          &pipeline->pipeline_),
              pipeline->pipeline_, "vkCreateComputePipelines", ATTN_STATUS_COMPILE_ERROR);
  return pipeline;
}

Pipeline::~Pipeline() {
  const Device::Impl &impl = *device_->impl_;
  if (pipeline_)
    impl.fn.vkDestroyPipeline(impl.device, pipeline_, nullptr);
  if (layout_)
    impl.fn.vkDestroyPipelineLayout(impl.device, layout_, nullptr);
  if (setLayout_)
    impl.fn.vkDestroyDescriptorSetLayout(impl.device, setLayout_, nullptr);
  if (module_)
    impl.fn.vkDestroyShaderModule(impl.device, module_, nullptr);
}

void Device::run(const std::vector<Dispatch> &dispatches) const {
  if (dispatches.empty())
    return;
  const Functions &fn = impl_->fn;
  VkDevice device = impl_->device;
  uint32_t descriptors = 0;
  for (const Dispatch &dispatch : dispatches) {
    requireNonNull(dispatch.pipeline, "Dispatch::pipeline");
    if (dispatch.pipeline->device_.get() != this)
      failInvalid("Vulkan: a dispatch's pipeline belongs to another device");
    if (dispatch.bindings.size() != dispatch.pipeline->numBindings())
      failInvalid(format("Vulkan: a dispatch binds %zu buffers to a pipeline with %u bindings",
                         dispatch.bindings.size(), dispatch.pipeline->numBindings()));
    for (VkBuffer buffer : dispatch.bindings)
      if (!buffer)
        failInvalid("Vulkan: a dispatch binds a null buffer");
    for (int d = 0; d < 3; ++d)
      if (dispatch.groups[d] > impl_->limits.maxComputeWorkGroupCount[d])
        failInvalid(format("Vulkan: %u workgroups in dimension %d exceed the device's limit of %u",
                           dispatch.groups[d], d, impl_->limits.maxComputeWorkGroupCount[d]));
    descriptors += dispatch.pipeline->numBindings();
  }

  // Per-call pools rather than shared ones: pools need external synchronization, and these let
  // concurrent run() calls record in parallel, sharing only the queue.
  struct Resources {
    const Device::Impl &impl;
    VkCommandPool commandPool = VK_NULL_HANDLE;
    VkDescriptorPool descriptorPool = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    ~Resources() {
      if (fence)
        impl.fn.vkDestroyFence(impl.device, fence, nullptr);
      if (descriptorPool)
        impl.fn.vkDestroyDescriptorPool(impl.device, descriptorPool, nullptr);
      if (commandPool)
        impl.fn.vkDestroyCommandPool(impl.device, commandPool, nullptr);
    }
  } resources{*impl_};

  auto commandPoolInfo =
      vkStruct<VkCommandPoolCreateInfo>(VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO);
  commandPoolInfo.flags = VK_COMMAND_POOL_CREATE_TRANSIENT_BIT;
  commandPoolInfo.queueFamilyIndex = impl_->queueFamily;
  checkCreate(fn.vkCreateCommandPool(device, &commandPoolInfo, nullptr, &resources.commandPool),
              resources.commandPool, "vkCreateCommandPool", ATTN_STATUS_INTERNAL_ERROR);
  auto commandInfo =
      vkStruct<VkCommandBufferAllocateInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO);
  commandInfo.commandPool = resources.commandPool;
  commandInfo.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  commandInfo.commandBufferCount = 1;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  check(fn.vkAllocateCommandBuffers(device, &commandInfo, &commands), "vkAllocateCommandBuffers",
        ATTN_STATUS_INTERNAL_ERROR);

  // A pool size needs a non-zero count, even when no pipeline has bindings.
  VkDescriptorPoolSize poolSize{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, std::max(descriptors, 1u)};
  auto poolInfo =
      vkStruct<VkDescriptorPoolCreateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO);
  poolInfo.maxSets = static_cast<uint32_t>(dispatches.size());
  poolInfo.poolSizeCount = 1;
  poolInfo.pPoolSizes = &poolSize;
  checkCreate(fn.vkCreateDescriptorPool(device, &poolInfo, nullptr, &resources.descriptorPool),
              resources.descriptorPool, "vkCreateDescriptorPool", ATTN_STATUS_INTERNAL_ERROR);
  std::vector<VkDescriptorSetLayout> layouts;
  for (const Dispatch &dispatch : dispatches)
    layouts.push_back(dispatch.pipeline->setLayout_);
  std::vector<VkDescriptorSet> sets(dispatches.size());
  auto setInfo =
      vkStruct<VkDescriptorSetAllocateInfo>(VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO);
  setInfo.descriptorPool = resources.descriptorPool;
  setInfo.descriptorSetCount = static_cast<uint32_t>(sets.size());
  setInfo.pSetLayouts = layouts.data();
  check(fn.vkAllocateDescriptorSets(device, &setInfo, sets.data()), "vkAllocateDescriptorSets",
        ATTN_STATUS_INTERNAL_ERROR);

  std::vector<VkDescriptorBufferInfo> bufferInfos;
  bufferInfos.reserve(descriptors); // the writes point into it
  std::vector<VkWriteDescriptorSet> writes;
  for (size_t i = 0; i < dispatches.size(); ++i) {
    if (dispatches[i].bindings.empty())
      continue;
    auto write = vkStruct<VkWriteDescriptorSet>(VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET);
    write.dstSet = sets[i];
    write.dstBinding = 0;
    // One write covers bindings 0..n-1: a count past a binding's own rolls over into the next.
    write.descriptorCount = static_cast<uint32_t>(dispatches[i].bindings.size());
    write.descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    write.pBufferInfo = bufferInfos.data() + bufferInfos.size();
    for (VkBuffer buffer : dispatches[i].bindings)
      bufferInfos.push_back({buffer, 0, VK_WHOLE_SIZE});
    writes.push_back(write);
  }
  fn.vkUpdateDescriptorSets(device, static_cast<uint32_t>(writes.size()), writes.data(), 0,
                            nullptr);

  auto beginInfo = vkStruct<VkCommandBufferBeginInfo>(VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO);
  beginInfo.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(fn.vkBeginCommandBuffer(commands, &beginInfo), "vkBeginCommandBuffer",
        ATTN_STATUS_INTERNAL_ERROR);
  auto barrier = vkStruct<VkMemoryBarrier>(VK_STRUCTURE_TYPE_MEMORY_BARRIER);
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  for (size_t i = 0; i < dispatches.size(); ++i) {
    const Dispatch &dispatch = dispatches[i];
    if (i > 0)
      fn.vkCmdPipelineBarrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                              VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1, &barrier, 0, nullptr, 0,
                              nullptr);
    fn.vkCmdBindPipeline(commands, VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline->pipeline_);
    fn.vkCmdBindDescriptorSets(commands, VK_PIPELINE_BIND_POINT_COMPUTE, dispatch.pipeline->layout_,
                               0, 1, &sets[i], 0, nullptr);
    fn.vkCmdDispatch(commands, dispatch.groups[0], dispatch.groups[1], dispatch.groups[2]);
  }
  // The host reads the results through the mapping once the fence signals. (Host writes before
  // the submission need no barrier: vkQueueSubmit makes host-coherent writes visible.)
  barrier.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  fn.vkCmdPipelineBarrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
                          VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &barrier, 0, nullptr, 0, nullptr);
  check(fn.vkEndCommandBuffer(commands), "vkEndCommandBuffer", ATTN_STATUS_INTERNAL_ERROR);

  auto fenceInfo = vkStruct<VkFenceCreateInfo>(VK_STRUCTURE_TYPE_FENCE_CREATE_INFO);
  checkCreate(fn.vkCreateFence(device, &fenceInfo, nullptr, &resources.fence), resources.fence,
              "vkCreateFence", ATTN_STATUS_INTERNAL_ERROR);
  auto submit = vkStruct<VkSubmitInfo>(VK_STRUCTURE_TYPE_SUBMIT_INFO);
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  {
    std::lock_guard<std::mutex> lock(impl_->submitMutex);
    check(fn.vkQueueSubmit(impl_->queue, 1, &submit, resources.fence), "vkQueueSubmit",
          ATTN_STATUS_INTERNAL_ERROR);
  }
  VkResult waited = fn.vkWaitForFences(device, 1, &resources.fence, VK_TRUE, kFenceTimeoutNs);
  if (waited == VK_TIMEOUT) {
    // The commands may still be running: destroying their pools now would be undefined
    // behaviour, so they are leaked.
    resources.fence = VK_NULL_HANDLE;
    resources.descriptorPool = VK_NULL_HANDLE;
    resources.commandPool = VK_NULL_HANDLE;
    fail(ATTN_STATUS_INTERNAL_ERROR,
         format("Vulkan: the submission did not complete within %llu s",
                static_cast<unsigned long long>(kFenceTimeoutNs / 1000000000)));
  }
  check(waited, "vkWaitForFences", ATTN_STATUS_INTERNAL_ERROR);
}

} // namespace attn::rt::vk
