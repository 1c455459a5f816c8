//===- VulkanDeviceTest.cpp - the Vulkan device on the installed driver ---===//
//
// Runs a compute shader lowered from the gpu dialect at build time (Inputs/vulkan_axpy.mlir) on
// whatever Vulkan driver the machine has: lavapipe on a CPU-only machine. Skips where there is
// none (no loader, no device).
//
//===----------------------------------------------------------------------===//

#include "vulkan/device.h"

#include "core/error.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>
#include <thread>

namespace {

using attn::rt::Error;
using attn::rt::vk::Buffer;
using attn::rt::vk::Device;
using attn::rt::vk::Dispatch;
using attn::rt::vk::Pipeline;

constexpr uint32_t kWorkgroup = 64; // the shader's workgroup width

std::vector<uint32_t> readSpirv(const char *path) {
  std::ifstream file(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  std::vector<uint32_t> words(bytes.size() / sizeof(uint32_t));
  std::memcpy(words.data(), bytes.data(), words.size() * sizeof(uint32_t));
  return words;
}

std::unique_ptr<Pipeline> axpyPipeline(const Device &device) {
  static const std::vector<uint32_t> spirv = readSpirv(ATTN_TEST_VULKAN_AXPY_SPV);
  EXPECT_FALSE(spirv.empty()) << "cannot read " << ATTN_TEST_VULKAN_AXPY_SPV;
  return device.createPipeline(spirv.data(), spirv.size(), "axpy", 4);
}

float *floats(const Buffer &buffer) { return static_cast<float *>(buffer.mapped()); }

std::unique_ptr<Buffer> filledBuffer(const Device &device, size_t n, float first, float step) {
  std::unique_ptr<Buffer> buffer = device.createBuffer(n * sizeof(float));
  for (size_t i = 0; i < n; ++i)
    floats(*buffer)[i] = first + step * static_cast<float>(i);
  return buffer;
}

std::unique_ptr<Buffer> poisonedBuffer(const Device &device, size_t n) {
  return filledBuffer(device, n, std::numeric_limits<float>::quiet_NaN(), 0);
}

std::unique_ptr<Buffer> countBuffer(const Device &device, int32_t n) {
  std::unique_ptr<Buffer> buffer = device.createBuffer(sizeof(int32_t));
  std::memcpy(buffer->mapped(), &n, sizeof(n));
  return buffer;
}

Dispatch axpy(const Pipeline &pipeline, const Buffer &a, const Buffer &b, const Buffer &out,
              const Buffer &count, uint32_t n) {
  Dispatch dispatch;
  dispatch.pipeline = &pipeline;
  dispatch.bindings = {a.handle(), b.handle(), out.handle(), count.handle()};
  dispatch.groups[0] = (n + kWorkgroup - 1) / kWorkgroup;
  return dispatch;
}

class VulkanDevice : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      device = Device::getDefault();
    } catch (const Error &error) {
      ASSERT_EQ(error.status(), ATTN_STATUS_UNSUPPORTED) << error.what();
      GTEST_SKIP() << error.what();
    }
  }
  std::shared_ptr<Device> device;
};

TEST_F(VulkanDevice, Info) {
  const attn::rt::vk::DeviceInfo &info = device->info();
  std::printf("Vulkan device: %s (Vulkan %u.%u, vendor 0x%04x, device 0x%04x)\n"
              "  subgroup size %u, shared memory %u bytes, %u invocations a workgroup\n"
              "  shaderFloat16 %d, shaderInt16 %d, storageBuffer16BitAccess %d\n"
              "  subgroup arithmetic %d, shuffle %d, cooperative matrix %d\n",
              info.name.c_str(), VK_API_VERSION_MAJOR(info.apiVersion),
              VK_API_VERSION_MINOR(info.apiVersion), info.vendorId, info.deviceId,
              info.subgroupSize, info.maxSharedBytes, info.maxWorkgroupInvocations,
              info.shaderFloat16, info.shaderInt16, info.storageBuffer16BitAccess,
              info.subgroupArithmetic, info.subgroupShuffle, info.cooperativeMatrix);
  EXPECT_FALSE(info.name.empty());
  EXPECT_GE(info.apiVersion, VK_API_VERSION_1_1);
  EXPECT_GT(info.subgroupSize, 0u);
  EXPECT_GT(info.maxSharedBytes, 0u);
  EXPECT_GE(info.maxWorkgroupInvocations, kWorkgroup);
}

// n is not a multiple of the workgroup: the last group's bound check keeps the tail untouched.
// Exact comparison holds on any driver: a[i] * 2 is exact, so fusing it into an fma cannot change
// the rounded sum.
TEST_F(VulkanDevice, AxpyMatchesTheCpu) {
  constexpr uint32_t n = 1000, padded = 1024;
  std::unique_ptr<Pipeline> pipeline = axpyPipeline(*device);
  auto a = filledBuffer(*device, n, 0.1f, 0.37f), b = filledBuffer(*device, n, -3.3f, 0.013f);
  auto out = poisonedBuffer(*device, padded);
  auto count = countBuffer(*device, n);
  device->run({axpy(*pipeline, *a, *b, *out, *count, n)});
  for (uint32_t i = 0; i < n; ++i)
    ASSERT_EQ(floats(*out)[i], floats(*a)[i] * 2 + floats(*b)[i]) << "at " << i;
  for (uint32_t i = n; i < padded; ++i)
    ASSERT_TRUE(std::isnan(floats(*out)[i])) << "written past n at " << i;
}

// The second dispatch reads what the first wrote: the barrier between them makes it visible.
TEST_F(VulkanDevice, ConsecutiveDispatchesSeeEarlierWrites) {
  constexpr uint32_t n = 4096;
  std::unique_ptr<Pipeline> pipeline = axpyPipeline(*device);
  auto a = filledBuffer(*device, n, 1.5f, 0.25f), b = filledBuffer(*device, n, 2.0f, -0.5f);
  auto middle = poisonedBuffer(*device, n), out = poisonedBuffer(*device, n);
  auto count = countBuffer(*device, n);
  device->run(
      {axpy(*pipeline, *a, *b, *middle, *count, n), axpy(*pipeline, *middle, *b, *out, *count, n)});
  for (uint32_t i = 0; i < n; ++i) {
    float first = floats(*a)[i] * 2 + floats(*b)[i];
    ASSERT_EQ(floats(*out)[i], first * 2 + floats(*b)[i]) << "at " << i;
  }
}

TEST_F(VulkanDevice, ConcurrentRuns) {
  constexpr uint32_t n = 777;
  std::unique_ptr<Pipeline> pipeline = axpyPipeline(*device);
  std::vector<std::thread> threads;
  std::vector<int> mismatches(4, 0);
  for (size_t t = 0; t < mismatches.size(); ++t)
    threads.emplace_back([&, t] {
      auto a = filledBuffer(*device, n, static_cast<float>(t), 1.0f);
      auto b = filledBuffer(*device, n, 0.5f, 0.5f);
      auto count = countBuffer(*device, n);
      for (int round = 0; round < 8; ++round) {
        auto out = poisonedBuffer(*device, n);
        device->run({axpy(*pipeline, *a, *b, *out, *count, n)});
        for (uint32_t i = 0; i < n; ++i)
          mismatches[t] += floats(*out)[i] != floats(*a)[i] * 2 + floats(*b)[i];
      }
    });
  for (std::thread &thread : threads)
    thread.join();
  for (size_t t = 0; t < mismatches.size(); ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

// The device checks the module itself: drivers need not, and may crash on invalid SPIR-V.
TEST_F(VulkanDevice, BadModulesAreCompileErrors) {
  std::vector<uint32_t> garbage = {0xdeadbeef, 1, 2, 3, 4, 5, 6, 7};
  try {
    device->createPipeline(garbage.data(), garbage.size(), "axpy", 4);
    FAIL() << "garbage words were accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_COMPILE_ERROR) << error.what();
  }
  std::vector<uint32_t> spirv = readSpirv(ATTN_TEST_VULKAN_AXPY_SPV);
  try {
    device->createPipeline(spirv.data(), spirv.size(), "no_such_entry", 4);
    FAIL() << "a missing entry point was accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_COMPILE_ERROR) << error.what();
    EXPECT_NE(std::strstr(error.what(), "no_such_entry"), nullptr) << error.what();
  }
  // A header, then an instruction claiming three words where there is one.
  std::vector<uint32_t> truncated = {0x07230203, 0x00010000, 0, 16, 0, (3u << 16) | 17};
  try {
    device->createPipeline(truncated.data(), truncated.size(), "axpy", 4);
    FAIL() << "a truncated module was accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_COMPILE_ERROR) << error.what();
  }
}

TEST_F(VulkanDevice, DispatchesAreValidated) {
  std::unique_ptr<Pipeline> pipeline = axpyPipeline(*device);
  auto buffer = device->createBuffer(64);
  Dispatch dispatch;
  dispatch.pipeline = pipeline.get();
  dispatch.bindings = {buffer->handle(), buffer->handle()};
  try {
    device->run({dispatch});
    FAIL() << "two buffers for four bindings were accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_INVALID_ARGUMENT) << error.what();
  }
  device->run({}); // nothing to do
}

TEST_F(VulkanDevice, EmptyBuffer) {
  auto buffer = device->createBuffer(0);
  EXPECT_EQ(buffer->size(), 0u);
  EXPECT_NE(buffer->mapped(), nullptr);
  EXPECT_NE(buffer->handle(), VK_NULL_HANDLE);
}

// Buffers and pipelines hold their device: dropping the last other reference destroys it only
// after them.
TEST_F(VulkanDevice, ObjectsOutliveTheirDeviceHandle) {
  std::shared_ptr<Device> own = Device::create(-1);
  std::unique_ptr<Pipeline> pipeline = axpyPipeline(*own);
  auto a = filledBuffer(*own, 3, 1, 1), b = filledBuffer(*own, 3, 1, 0);
  auto out = poisonedBuffer(*own, 3);
  auto count = countBuffer(*own, 3);
  std::weak_ptr<Device> weak = own;
  Device &device = *own;
  own.reset();
  EXPECT_FALSE(weak.expired());
  device.run({axpy(*pipeline, *a, *b, *out, *count, 3)});
  EXPECT_EQ(floats(*out)[2], 7.0f);
  pipeline.reset();
  a.reset(), b.reset(), out.reset(), count.reset();
  EXPECT_TRUE(weak.expired());
}

TEST_F(VulkanDevice, DeviceIndexOutOfRange) {
  try {
    Device::create(99);
    FAIL() << "device 99 was created";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_UNSUPPORTED) << error.what();
    EXPECT_NE(std::strstr(error.what(), "out of range"), nullptr) << error.what();
  }
}

// getDefault reads $ATTN_VULKAN_DEVICE once per process: ctest runs this test in processes of its
// own with a bad value (test/runtime/CMakeLists.txt), announced by ATTN_TEST_BAD_VULKAN_DEVICE.
TEST(VulkanDeviceEnvironment, BadIndexIsUnsupported) {
  if (!std::getenv("ATTN_TEST_BAD_VULKAN_DEVICE"))
    GTEST_SKIP() << "run by ctest with a bad ATTN_VULKAN_DEVICE";
  try {
    Device::create(-1);
  } catch (const Error &error) {
    GTEST_SKIP() << error.what();
  }
  try {
    Device::getDefault();
    FAIL() << "ATTN_VULKAN_DEVICE=" << std::getenv("ATTN_VULKAN_DEVICE") << " was accepted";
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_UNSUPPORTED) << error.what();
    EXPECT_NE(std::strstr(error.what(), "ATTN_VULKAN_DEVICE"), nullptr) << error.what();
  }
}

} // namespace
