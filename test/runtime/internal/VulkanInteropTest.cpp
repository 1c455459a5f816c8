//===- VulkanInteropTest.cpp - Vulkan kernels on an engine's device and buffers ===//
//
// attn_context_options.vulkan_device + attn_kernel_launch_vulkan as an engine uses them: here
// the "engine" is the runtime's own device layer (its handles stand for an engine's VkDevice and
// queue, its buffers for the engine's VkBuffers), so the test needs no Vulkan code of its own.
// Tensors sit at non-zero byte offsets inside shared buffers, the output is poisoned first, the
// lengths are device data, and the result is compared with the float64 oracle.
//
//===----------------------------------------------------------------------===//

#include "attn/Oracle/Oracle.h"
#include "attn/Oracle/TestUtil.h"
#include "attn/attn_runtime.h"
#include "core/error.h"
#include "vulkan/device.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

namespace {

using attn::rt::vk::Device;
namespace oracle = attn::oracle;
namespace testutil = attn::testutil;

class VulkanInterop : public ::testing::Test {
protected:
  void SetUp() override {
    try {
      device = Device::getDefault();
    } catch (const attn::rt::Error &error) {
      GTEST_SKIP() << error.what();
    }
    attn::rt::vk::ExternalDevice handles = device->native();
    engine.struct_size = sizeof(engine);
    engine.instance = handles.instance;
    engine.physical_device = handles.physical;
    engine.device = handles.device;
    engine.queue = handles.queue;
    engine.queue_family_index = handles.queueFamily;
    engine.get_instance_proc_addr = reinterpret_cast<void *>(handles.getInstanceProcAddr);
    attn_context_options options;
    ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.disk_cache = 0;
    options.vulkan_device = &engine;
    ASSERT_EQ(attn_context_create(&options, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
  }
  void TearDown() override { (void)attn_context_destroy(context); }

  std::shared_ptr<Device> device;
  attn_vulkan_device engine{};
  attn_context *context = nullptr;
};

TEST_F(VulkanInterop, F16OnEngineBuffersMatchesTheOracle) {
  const int64_t B = 2, Sq = 19, Skv = 75, Hq = 4, Hkv = 2, D = 64;
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.target = ATTN_TARGET_VULKAN;
  p.dtype = ATTN_DTYPE_F16;
  p.heads_q = Hq;
  p.heads_kv = Hkv;
  p.head_dim = p.head_dim_v = D;
  p.causal = 1;
  p.return_lse = 1;
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context, &p, &kernel);
  if (status == ATTN_STATUS_UNSUPPORTED)
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();

  // Q, K and V in one buffer at offsets; O and the LSE in a second; the lengths in a third.
  const size_t qCount = B * Sq * Hq * D, kvCount = B * Skv * Hkv * D;
  const size_t qAt = 128, kAt = qAt + 2 * qCount + 64, vAt = kAt + 2 * kvCount + 256;
  auto inputs = device->createBuffer(vAt + 2 * kvCount);
  const size_t oAt = 512, lseAt = oAt + 2 * qCount + 32;
  auto outputs = device->createBuffer(lseAt + 4 * B * Hq * Sq);
  auto lengths = device->createBuffer(16 + 4 * B);
  std::vector<double> q(qCount), k(kvCount), v(kvCount);
  testutil::fillRandom(q, 1);
  testutil::fillRandom(k, 2);
  testutil::fillRandom(v, 3);
  auto store = [&](std::vector<double> &values, char *at) {
    for (size_t i = 0; i < values.size(); ++i) {
      uint16_t bits = testutil::floatToHalf(float(values[i]));
      values[i] = testutil::halfToFloat(bits); // the oracle sees what the kernel reads
      std::memcpy(at + 2 * i, &bits, 2);
    }
  };
  char *in = static_cast<char *>(inputs->mapped());
  store(q, in + qAt);
  store(k, in + kAt);
  store(v, in + vAt);
  char *out = static_cast<char *>(outputs->mapped());
  std::memset(out, 0x7f, outputs->size()); // NaN as f16 and as f32
  const int32_t seqlensKv[B] = {75, 40};
  std::memcpy(static_cast<char *>(lengths->mapped()) + 16, seqlensKv, sizeof(seqlensKv));

  attn_vulkan_launch_args args;
  ASSERT_EQ(attn_vulkan_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  args.batch = B;
  args.seq_q = Sq;
  args.seq_kv = Skv;
  auto tensor = [](const attn::rt::vk::Buffer &buffer, size_t offset, int64_t s, int64_t h) {
    attn_vulkan_tensor t{};
    t.buffer = reinterpret_cast<uint64_t>(buffer.handle());
    t.offset = offset;
    t.strides[0] = s * h * D;
    t.strides[1] = h * D;
    t.strides[2] = D;
    t.strides[3] = 1;
    return t;
  };
  args.q = tensor(*inputs, qAt, Sq, Hq);
  args.k = tensor(*inputs, kAt, Skv, Hkv);
  args.v = tensor(*inputs, vAt, Skv, Hkv);
  args.o = tensor(*outputs, oAt, Sq, Hq);
  args.lse = {reinterpret_cast<uint64_t>(outputs->handle()), lseAt};
  args.seqlens_kv = {reinterpret_cast<uint64_t>(lengths->handle()), 16};
  ASSERT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_SUCCESS) << attn_last_error();

  oracle::AttentionProblem op;
  op.batch = B;
  op.seqQ = Sq;
  op.seqKv = Skv;
  op.headsQ = Hq;
  op.headsKv = Hkv;
  op.headDim = op.headDimV = D;
  op.causal = true;
  op.seqlensKv = {75, 40};
  std::vector<double> want(qCount), wantLse(B * Hq * Sq);
  oracle::attention(op, q.data(), k.data(), v.data(), want.data(), wantLse.data(), nullptr);
  std::vector<double> got(qCount);
  for (size_t i = 0; i < qCount; ++i) {
    uint16_t bits;
    std::memcpy(&bits, out + oAt + 2 * i, 2);
    got[i] = testutil::halfToFloat(bits);
  }
  EXPECT_LE(testutil::relativeFrobeniusError(got.data(), want.data(), qCount), 2e-3);
  const float *lse = reinterpret_cast<const float *>(out + lseAt);
  for (size_t i = 0; i < wantLse.size(); ++i)
    EXPECT_NEAR(lse[i], wantLse[i], 2e-3 * (1 + std::fabs(wantLse[i]))) << i;

  // A host launch of a Vulkan kernel of this context still works (the host path), and the
  // engine path refuses bad arguments before touching the device.
  args.o.offset = 3; // not a multiple of 2 bytes
  EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "o.offset 3 is not a multiple"), nullptr)
      << attn_last_error();
  args.o.offset = oAt;
  args.lse.buffer = 0; // the problem asks for LSE
  EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "lse"), nullptr) << attn_last_error();
  (void)attn_kernel_destroy(kernel);
}

// ALiBi slopes and sinks in the engine's buffers (at offsets), f32, against the oracle; a kernel
// with them refuses a launch without their buffers.
TEST_F(VulkanInterop, AlibiAndSinksOnEngineBuffers) {
  const int64_t B = 2, Sq = 7, Skv = 600, Hq = 4, Hkv = 2, D = 32;
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.target = ATTN_TARGET_VULKAN;
  p.heads_q = Hq;
  p.heads_kv = Hkv;
  p.head_dim = p.head_dim_v = D;
  p.causal = 1;
  p.return_lse = 1;
  p.alibi = p.sinks = 1;
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context, &p, &kernel);
  if (status == ATTN_STATUS_UNSUPPORTED)
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  const size_t qCount = B * Sq * Hq * D, kvCount = B * Skv * Hkv * D, stats = B * Hq * Sq;
  const size_t kAt = 4 * qCount, vAt = kAt + 4 * kvCount, headsAt = vAt + 4 * kvCount + 64;
  auto inputs = device->createBuffer(headsAt + 8 * Hq);
  auto outputs = device->createBuffer(4 * (qCount + stats));
  std::vector<double> q(qCount), k(kvCount), v(kvCount), slopes(Hq), sinks(Hq);
  testutil::fillRandom(q, 4);
  testutil::fillRandom(k, 5);
  testutil::fillRandom(v, 6);
  testutil::fillRandom(slopes, 7, 0.01, 0.5);
  testutil::fillRandom(sinks, 8, -2.0, 4.0);
  char *in = static_cast<char *>(inputs->mapped());
  auto store = [&](std::vector<double> &values, size_t at) {
    for (size_t i = 0; i < values.size(); ++i) {
      float x = float(values[i]);
      values[i] = x;
      std::memcpy(in + at + 4 * i, &x, 4);
    }
  };
  store(q, 0);
  store(k, kAt);
  store(v, vAt);
  store(slopes, headsAt);
  store(sinks, headsAt + 4 * Hq);
  char *out = static_cast<char *>(outputs->mapped());
  std::memset(out, 0x7f, outputs->size());
  attn_vulkan_launch_args args;
  ASSERT_EQ(attn_vulkan_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  args.batch = B;
  args.seq_q = Sq;
  args.seq_kv = Skv;
  uint64_t input = reinterpret_cast<uint64_t>(inputs->handle());
  uint64_t output = reinterpret_cast<uint64_t>(outputs->handle());
  auto tensor = [&](uint64_t buffer, size_t offset, int64_t s, int64_t h) {
    return attn_vulkan_tensor{buffer, offset, {s * h * D, h * D, D, 1}};
  };
  args.q = tensor(input, 0, Sq, Hq);
  args.k = tensor(input, kAt, Skv, Hkv);
  args.v = tensor(input, vAt, Skv, Hkv);
  args.o = tensor(output, 0, Sq, Hq);
  args.lse = {output, 4 * qCount};
  args.alibi_slopes = {input, headsAt};
  args.sinks = {input, headsAt + 4 * Hq};
  ASSERT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  oracle::AttentionProblem op;
  op.batch = B;
  op.seqQ = Sq;
  op.seqKv = Skv;
  op.headsQ = Hq;
  op.headsKv = Hkv;
  op.headDim = op.headDimV = D;
  op.causal = true;
  op.alibiSlopes = slopes;
  op.sinks = sinks;
  std::vector<double> want(qCount), wantLse(stats), got(qCount);
  oracle::attention(op, q.data(), k.data(), v.data(), want.data(), wantLse.data(), nullptr);
  const float *o = reinterpret_cast<const float *>(out);
  for (size_t i = 0; i < qCount; ++i)
    got[i] = o[i];
  EXPECT_LE(testutil::relativeFrobeniusError(got.data(), want.data(), qCount), 1e-5);
  for (size_t i = 0; i < stats; ++i)
    EXPECT_NEAR(o[qCount + i], wantLse[i], 1e-4 * (1 + std::fabs(wantLse[i]))) << i;
  args.sinks.buffer = 0;
  EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "sinks.buffer is 0"), nullptr) << attn_last_error();
  (void)attn_kernel_destroy(kernel);
}

// A paged KV cache in the engine's buffers: shuffled pages of 16 keys with spare ones, a padded
// table row stride, lengths and table on the device, entries past a sequence's pages -1 (the
// kernel clamps what it cannot trust, and never reads them); split-KV decode and a short
// prefill against the cache (with a scale of its own: attn_vulkan_launch_args.scale), f32,
// against the oracle on the contiguous keys.
TEST_F(VulkanInterop, PagedCacheOnEngineBuffers) {
  const int64_t B = 2, Hq = 4, Hkv = 2, D = 32, P = 16, maxPages = 20, stride = 24;
  const int64_t numPages = 48, Skv = maxPages * P;
  const std::vector<int64_t> lengths = {300, 45};
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.target = ATTN_TARGET_VULKAN;
  p.heads_q = Hq;
  p.heads_kv = Hkv;
  p.head_dim = p.head_dim_v = D;
  p.causal = 1;
  p.return_lse = 1;
  p.page_size = P;
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context, &p, &kernel);
  if (status == ATTN_STATUS_UNSUPPORTED)
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  // Contiguous keys for the oracle, and the same keys in pages: sequence b's page i at
  // table[b * stride + i], a page index drawn from a shuffled list.
  const size_t kvCount = size_t(B * Skv * Hkv * D), pageCount = size_t(numPages * P * Hkv * D);
  std::vector<double> k(kvCount), v(kvCount);
  testutil::fillRandom(k, 15);
  testutil::fillRandom(v, 16);
  std::vector<int32_t> order(numPages), table(size_t(B * stride), -1);
  for (int64_t i = 0; i < numPages; ++i)
    order[size_t(i)] = int32_t((i * 29 + 7) % numPages); // 29 is prime to 48: a permutation
  for (int64_t b = 0, next = 0; b < B; ++b)
    for (int64_t i = 0; i < (lengths[size_t(b)] + P - 1) / P; ++i)
      table[size_t(b * stride + i)] = order[size_t(next++)];
  const size_t tableAt = 0, lensAt = tableAt + 4 * table.size();
  const size_t kAt = (lensAt + 4 * B + 63) / 64 * 64, vAt = kAt + 4 * pageCount;
  const size_t qAt = vAt + 4 * pageCount;
  for (int64_t sq : {int64_t(1), int64_t(13)}) {
    const size_t qCount = size_t(B * sq * Hq * D), stats = size_t(B * Hq * sq);
    std::vector<double> q(qCount);
    testutil::fillRandom(q, 17 + uint64_t(sq));
    auto inputs = device->createBuffer(qAt + 4 * qCount);
    auto outputs = device->createBuffer(4 * (qCount + stats));
    char *in = static_cast<char *>(inputs->mapped());
    std::memset(in, 0xff, inputs->size()); // NaN in every slot no key fills
    std::memcpy(in + tableAt, table.data(), 4 * table.size());
    for (int64_t b = 0; b < B; ++b) {
      int32_t length = int32_t(lengths[size_t(b)]);
      std::memcpy(in + lensAt + 4 * b, &length, 4);
    }
    auto put = [&](size_t at, double &value) {
      float x = float(value);
      value = x;
      std::memcpy(in + at, &x, 4);
    };
    for (int64_t b = 0; b < B; ++b)
      for (int64_t j = 0; j < lengths[size_t(b)]; ++j)
        for (int64_t h = 0; h < Hkv; ++h)
          for (int64_t d = 0; d < D; ++d) {
            int64_t page = table[size_t(b * stride + j / P)];
            size_t paged = size_t(((page * P + j % P) * Hkv + h) * D + d);
            size_t flat = size_t(((b * Skv + j) * Hkv + h) * D + d);
            put(kAt + 4 * paged, k[flat]);
            put(vAt + 4 * paged, v[flat]);
          }
    for (size_t i = 0; i < qCount; ++i)
      put(qAt + 4 * i, q[i]);
    char *out = static_cast<char *>(outputs->mapped());
    std::memset(out, 0x7f, outputs->size());
    attn_vulkan_launch_args args;
    ASSERT_EQ(attn_vulkan_launch_args_init(&args), ATTN_STATUS_SUCCESS);
    args.batch = B;
    args.seq_q = sq;
    args.seq_kv = 0; // the capacity, max_pages x page_size
    uint64_t input = reinterpret_cast<uint64_t>(inputs->handle());
    uint64_t output = reinterpret_cast<uint64_t>(outputs->handle());
    args.q = {input, qAt, {sq * Hq * D, Hq * D, D, 1}};
    args.k = {input, kAt, {P * Hkv * D, Hkv * D, D, 1}};
    args.v = {input, vAt, {P * Hkv * D, Hkv * D, D, 1}};
    args.o = {output, 0, {sq * Hq * D, Hq * D, D, 1}};
    args.lse = {output, 4 * qCount};
    args.seqlens_kv = {input, lensAt};
    args.block_table = {input, tableAt};
    args.block_table_stride = stride;
    args.max_pages = maxPages;
    args.num_pages = numPages;
    args.scale = sq == 1 ? 0.0 : 0.3; // 0: the kernel's
    ASSERT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
    oracle::AttentionProblem op;
    op.batch = B;
    op.seqQ = sq;
    op.seqKv = Skv;
    op.headsQ = Hq;
    op.headsKv = Hkv;
    op.headDim = op.headDimV = D;
    op.causal = true;
    op.seqlensKv = lengths;
    if (args.scale != 0)
      op.scale = double(float(args.scale));
    std::vector<double> want(qCount), wantLse(stats), got(qCount);
    oracle::attention(op, q.data(), k.data(), v.data(), want.data(), wantLse.data(), nullptr);
    const float *o = reinterpret_cast<const float *>(out);
    for (size_t i = 0; i < qCount; ++i)
      got[i] = o[i];
    EXPECT_LE(testutil::relativeFrobeniusError(got.data(), want.data(), qCount), 1e-5) << sq;
    for (size_t i = 0; i < stats; ++i)
      EXPECT_NEAR(o[qCount + i], wantLse[i], 1e-4 * (1 + std::fabs(wantLse[i]))) << sq << " " << i;
    // The table's shape is still checked on the host.
    args.scale = -1;
    EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), "scale is -1"), nullptr) << attn_last_error();
    args.scale = 0;
    args.block_table_stride = maxPages - 1;
    EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), "block_table_stride"), nullptr) << attn_last_error();
    args.block_table_stride = stride;
    args.block_table.buffer = 0;
    EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), "block_table.buffer is 0"), nullptr)
        << attn_last_error();
  }
  (void)attn_kernel_destroy(kernel);
}

TEST_F(VulkanInterop, CpuKernelsAreRefused) {
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context, &p, &kernel);
  if (status == ATTN_STATUS_UNSUPPORTED)
    GTEST_SKIP() << attn_last_error();
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  attn_vulkan_launch_args args;
  ASSERT_EQ(attn_vulkan_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_launch_vulkan(kernel, &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "not a Vulkan kernel"), nullptr) << attn_last_error();
  (void)attn_kernel_destroy(kernel);
}

TEST_F(VulkanInterop, BadDeviceOptionIsRefused) {
  attn_vulkan_device broken = engine;
  broken.queue = nullptr;
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.vulkan_device = &broken;
  attn_context *other = nullptr;
  EXPECT_EQ(attn_context_create(&options, &other), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "queue must all be set"), nullptr) << attn_last_error();
  EXPECT_EQ(other, nullptr);
}

} // namespace
