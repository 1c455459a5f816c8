//===- MetricsTest.cpp - runtime metrics through the C API ----------------===//
//
// Counters against known launch sequences (launches, tokens from seqlens, bytes, the histogram's
// count and +Inf bucket), labels kept apart, the kernels-alive gauge, the cache counters, and the
// API's errors: metrics off, a buffer too small, bad options and labels.
//
//===----------------------------------------------------------------------===//

#include "MetricsText.h"
#include "RuntimeTestUtil.h"

#include "attn/Oracle/Oracle.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

using namespace attn::rttest;

namespace {

std::string metricsText(attn_context *context) {
  size_t length = 0;
  EXPECT_EQ(attn_context_metrics_text(context, nullptr, 0, &length), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  std::string text(length + 64, '\0'); // room for a text that grew since
  EXPECT_EQ(attn_context_metrics_text(context, text.data(), text.size(), &length),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  text.resize(length);
  return text;
}

ContextPtr metricsContext(int32_t metrics) {
  attn_context_options options;
  EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 2;
  options.disk_cache = 0;
  options.metrics = metrics;
  return makeContext(&options);
}

TEST(Metrics, OffByDefaultAndThenUnsupported) {
  unsetenv("ATTN_METRICS");
  ContextPtr context = metricsContext(-1);
  size_t length = 0;
  EXPECT_EQ(attn_context_metrics_text(context.get(), nullptr, 0, &length), ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::string(attn_last_error()).find("ATTN_METRICS=1"), std::string::npos);
  setenv("ATTN_METRICS", "1", 1);
  ContextPtr fromEnv = metricsContext(-1);
  EXPECT_EQ(attn_context_metrics_text(fromEnv.get(), nullptr, 0, &length), ATTN_STATUS_SUCCESS);
  ContextPtr forcedOff = metricsContext(0); // the option wins over the variable
  EXPECT_EQ(attn_context_metrics_text(forcedOff.get(), nullptr, 0, &length),
            ATTN_STATUS_UNSUPPORTED);
  setenv("ATTN_METRICS", "yes", 1);
  attn_context *bad = nullptr;
  EXPECT_EQ(attn_context_create(nullptr, &bad), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("ATTN_METRICS is 'yes'"), std::string::npos);
  unsetenv("ATTN_METRICS");
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(options.metrics, -1);
  options.metrics = 2;
  EXPECT_EQ(attn_context_create(&options, &bad), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::string(attn_last_error()).find("metrics is 2"), std::string::npos);
}

TEST(Metrics, CountsKnownLaunchesPerKernelAndLabel) {
  ContextPtr context = metricsContext(1);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 32, 32);
  p.causal = 1;
  KernelPtr first, second;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, first);
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, second); // the memory cache's hit
  ASSERT_EQ(attn_kernel_set_label(first.get(), "layer.0"), ATTN_STATUS_SUCCESS);
  ASSERT_EQ(attn_kernel_set_label(second.get(), "layer \"1\""), ATTN_STATUS_SUCCESS);

  AttentionCase c{p, 2, 9, 20, {3, 9}, {20, 11}, Layout::BSHD, 7};
  for (int i = 0; i < 5; ++i) {
    c.seed = 7 + i;
    expectAccurate(runCase(first.get(), c), p.dtype);
  }
  c.seqlensQ.clear(); // the padded shape: 2 x 9 query tokens, 2 x 20 keys
  c.seqlensKv.clear();
  for (int i = 0; i < 2; ++i)
    expectAccurate(runCase(second.get(), c), p.dtype);

  std::string text = metricsText(context.get());
  const std::string l0 =
      "{kernel=\"softmax_f32_hq4_hkv2_d32_causal\",target=\"cpu\",label=\"layer.0\"}";
  const std::string l1 =
      "{kernel=\"softmax_f32_hq4_hkv2_d32_causal\",target=\"cpu\",label=\"layer \\\"1\\\"\"}";
  EXPECT_EQ(sample(text, "attn_kernel_launches_total" + l0), 5) << text;
  EXPECT_EQ(sample(text, "attn_kernel_launches_total" + l1), 2);
  EXPECT_EQ(sample(text, "attn_kernel_launch_failures_total" + l0), 0);
  EXPECT_EQ(sample(text, "attn_kernel_tokens_total" + l0), 5 * (3 + 9));
  EXPECT_EQ(sample(text, "attn_kernel_tokens_total" + l1), 2 * (2 * 9));
  // f32: (Q + O) = tokens x 4 heads x (32 + 32), (K + V) = keys x 2 heads x (32 + 32), x 4 bytes.
  EXPECT_EQ(sample(text, "attn_kernel_bytes_total" + l0),
            5.0 * 4 * ((3 + 9) * 4 * 64 + (20 + 11) * 2 * 64));
  EXPECT_EQ(sample(text, "attn_kernel_bytes_total" + l1), 2.0 * 4 * (18 * 4 * 64 + 40 * 2 * 64));
  std::string l0Inf = l0.substr(0, l0.size() - 1) + ",le=\"+Inf\"}";
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + l0Inf), 5);
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_count" + l0), 5);
  EXPECT_GT(sample(text, "attn_kernel_latency_seconds_sum" + l0), 0);
  EXPECT_EQ(sample(text, "attn_kernel_recent_latency_seconds_count" + l0), 5);
  std::string p99 = l0.substr(0, l0.size() - 1) + ",quantile=\"0.99\"}";
  EXPECT_GT(sample(text, "attn_kernel_recent_latency_seconds" + p99), 0) << text;
  EXPECT_EQ(sample(text, "attn_kernel_cache_requests_total{result=\"memory_hit\"}"), 1);
  EXPECT_EQ(sample(text, "attn_kernel_cache_requests_total{result=\"compiled\"}") +
                sample(text, "attn_kernel_cache_requests_total{result=\"disk_hit\"}"),
            1);
  EXPECT_GT(sample(text, "attn_kernel_compile_seconds_total{source=\"compile\"}"), 0);
  EXPECT_EQ(sample(text, "attn_kernels_alive"), 2);
  second.reset();
  EXPECT_EQ(sample(metricsText(context.get()), "attn_kernels_alive"), 1);

  // A launch the validation rejects is not a launch.
  attn_launch_args bad;
  ASSERT_EQ(attn_launch_args_init(&bad), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_launch(first.get(), &bad), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(sample(metricsText(context.get()), "attn_kernel_launches_total" + l0), 5);
}

// The split-KV workspace: a launching thread allocates it once and reuses it (a larger launch
// grows it once more); a caller's workspace takes its place. Counted while held.
TEST(Metrics, DecodeWorkspaceIsCountedWhileHeld) {
  ContextPtr context = metricsContext(1);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 8, 2, 64, 64);
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, kernel);
  AttentionCase c{p, 2, 1, 3000, {}, {}, Layout::BSHD, 5}; // decode: split-KV partials
  std::thread([&] {                                        // a fresh thread: no workspace yet
    expectAccurate(runCase(kernel.get(), c), p.dtype);
    expectAccurate(runCase(kernel.get(), c), p.dtype);
    EXPECT_EQ(sample(metricsText(context.get()), "attn_workspace_allocations_total"), 1);
    AttentionCase larger = c;
    larger.batch = 3;
    expectAccurate(runCase(kernel.get(), larger), p.dtype);
    expectAccurate(runCase(kernel.get(), c), p.dtype);
    EXPECT_EQ(sample(metricsText(context.get()), "attn_workspace_allocations_total"), 2);
    std::vector<float> mine(64 * 1024);
    AttentionCase given = c;
    given.workspace = mine.data() + (64 - reinterpret_cast<uintptr_t>(mine.data()) % 64) / 4;
    given.workspaceBytes = 32 * 1024 * sizeof(float);
    expectAccurate(runCase(kernel.get(), given), p.dtype);
  })
      .join();
  std::string text = metricsText(context.get());
  EXPECT_EQ(sample(text, "attn_workspace_allocations_total"), 2) << text;
  EXPECT_EQ(sample(text, "attn_workspace_bytes"), 0); // given back when each launch returned
  // At least one split per batch entry: its f32 O part [Sq, Hq, Dv] and LSE part [Hq, Sq].
  EXPECT_GE(sample(text, "attn_workspace_peak_bytes"), 2 * (8 * 64 + 8) * 4);
}

TEST(Metrics, BufferTooSmallWritesNothing) {
  ContextPtr context = metricsContext(1);
  size_t length = 0;
  ASSERT_EQ(attn_context_metrics_text(context.get(), nullptr, 0, &length), ATTN_STATUS_SUCCESS);
  ASSERT_GT(length, 0u);
  std::string buffer(length, 'x'); // no room for the NUL
  EXPECT_EQ(attn_context_metrics_text(context.get(), buffer.data(), buffer.size(), &length),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(buffer, std::string(length, 'x'));
  EXPECT_EQ(attn_context_metrics_text(context.get(), nullptr, 8, &length),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_context_metrics_text(context.get(), nullptr, 0, nullptr),
            ATTN_STATUS_INVALID_ARGUMENT);
}

TEST(Metrics, LabelsAreCheckedAndHarmlessWithMetricsOff) {
  ContextPtr context = metricsContext(0);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 2, 2, 32, 32);
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), p, kernel);
  EXPECT_EQ(attn_kernel_set_label(kernel.get(), "layer.3"), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_set_label(kernel.get(), nullptr), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_set_label(kernel.get(), std::string(257, 'a').c_str()),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_set_label(nullptr, "x"), ATTN_STATUS_INVALID_ARGUMENT);
  AttentionCase c{p, 1, 5, 5, {}, {}, Layout::BSHD, 3};
  expectAccurate(runCase(kernel.get(), c), p.dtype);
}

/// O, LSE and ENTROPY of a GQA problem (4 query heads over 2) for two sequences, the first of
/// which sees no key (seqlens_kv 0); one NaN planted in Q of head 2, row 3 of the second.
class MetricsHealth : public ::testing::TestWithParam<attn_target> {};

TEST_P(MetricsHealth, CountsPerHeadAndEntropyAgainstTheOracle) {
  ContextPtr context = metricsContext(1);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 32, 32);
  p.return_lse = 1;
  p.return_entropy = 1;
  p.target = GetParam();
  KernelPtr kernel;
  {
    attn_kernel *created = nullptr;
    attn_status status = attn_kernel_create(context.get(), &p, &created);
    if (isNoPluginError(status, attn_last_error()) ||
        (p.target != ATTN_TARGET_CPU && status == ATTN_STATUS_UNSUPPORTED))
      GTEST_SKIP() << attn_last_error(); // no compiler, or no device of that target here
    ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
    kernel.reset(created);
  }
  ASSERT_EQ(attn_kernel_set_label(kernel.get(), "health"), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_snapshot_entropy_baseline(kernel.get()), ATTN_STATUS_INVALID_ARGUMENT);
  ASSERT_EQ(attn_kernel_set_health(kernel.get(), ATTN_HEALTH_NONFINITE | ATTN_HEALTH_ENTROPY),
            ATTN_STATUS_SUCCESS)
      << attn_last_error();
  const int64_t B = 2, S = 16, Hq = 4, Hkv = 2, D = 32;
  Tensor q(ATTN_DTYPE_F32, {B, S, Hq, D}), k(ATTN_DTYPE_F32, {B, S, Hkv, D}),
      v(ATTN_DTYPE_F32, {B, S, Hkv, D}), o(ATTN_DTYPE_F32, {B, S, Hq, D});
  q.fillRandom(11);
  k.fillRandom(12);
  v.fillRandom(13);
  o.poison();
  std::vector<float> lse(B * Hq * S), entropy(B * Hq * S);
  std::vector<int32_t> seqlensKv = {0, S};
  auto launch = [&] {
    attn_launch_args args = launchArgs(q, k, v, o);
    args.lse = lse.data();
    args.entropy = entropy.data();
    args.seqlens_kv = seqlensKv.data();
    EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  };
  launch(); // clean: the baseline
  // The oracle's per-head entropy mean over the rows that see keys (the second sequence).
  attn::oracle::AttentionProblem op;
  op.batch = B;
  op.seqQ = op.seqKv = S;
  op.headsQ = Hq;
  op.headsKv = Hkv;
  op.headDim = op.headDimV = D;
  op.seqlensKv = {0, S};
  std::vector<double> ro(B * S * Hq * D), rlse(B * Hq * S), rent(B * Hq * S);
  attn::oracle::attention(op, q.values().data(), k.values().data(), v.values().data(), ro.data(),
                          rlse.data(), rent.data());
  std::string text = metricsText(context.get());
  const std::string series =
      std::string("kernel=\"softmax_f32_hq4_hkv2_d32_lse_entropy\",target=\"") +
      (p.target == ATTN_TARGET_VULKAN ? "vulkan" : "cpu") + "\",label=\"health\"";
  for (int64_t h = 0; h < Hq; ++h) {
    double mean = 0;
    for (int64_t i = 0; i < S; ++i)
      mean += rent[(1 * Hq + h) * S + i] / S;
    std::string head = "{" + series + ",head=\"" + std::to_string(h) + "\"";
    EXPECT_NEAR(sample(text, "attn_head_entropy_nats" + head + ",stat=\"mean\"}"), mean,
                1e-4 * (1 + mean))
        << text;
    EXPECT_EQ(sample(text, "attn_head_entropy_rows" + head + "}"), S);
    EXPECT_LE(sample(text, "attn_head_entropy_nats" + head + ",stat=\"min\"}"), mean);
    EXPECT_GE(sample(text, "attn_head_entropy_nats" + head + ",stat=\"max\"}"), mean);
    EXPECT_EQ(sample(text, "attn_fully_masked_rows_total" + head + "}"), S); // the first sequence
    EXPECT_EQ(sample(text, "attn_output_nonfinite_total" + head + ",tensor=\"o\"}"), 0);
  }
  ASSERT_EQ(attn_kernel_snapshot_entropy_baseline(kernel.get()), ATTN_STATUS_SUCCESS);
  launch(); // the same inputs again: no drift
  text = metricsText(context.get());
  EXPECT_NEAR(sample(text, "attn_entropy_drift_nats{" + series + "}"), 0, 1e-9) << text;

  float nan = std::nanf("");
  std::memcpy(static_cast<float *>(q.data()) + 1 * q.strides()[0] + 3 * q.strides()[1] +
                  2 * q.strides()[2] + 5,
              &nan, sizeof nan);
  launch();
  text = metricsText(context.get());
  for (int64_t h = 0; h < Hq; ++h) {
    std::string head = "{" + series + ",head=\"" + std::to_string(h) + "\"";
    EXPECT_EQ(sample(text, "attn_output_nonfinite_total" + head + ",tensor=\"o\"}"), h == 2 ? D : 0)
        << h;
    // The NaN row's LSE is NaN, or -inf (the CPU kernel's running max passes over NaN scores,
    // so the row looks like one that saw no key): counted as the one or the other, in head 2.
    double badLse = sample(text, "attn_output_nonfinite_total" + head + ",tensor=\"lse\"}");
    double masked = sample(text, "attn_fully_masked_rows_total" + head + "}");
    EXPECT_EQ(badLse + masked - 3 * S, h == 2 ? 1 : 0) << h;
    EXPECT_LE(badLse, h == 2 ? 1 : 0) << h;
    // Since the snapshot: two launches, the NaN row left out of the statistics.
    EXPECT_EQ(sample(text, "attn_head_entropy_rows" + head + "}"), h == 2 ? 2 * S - 1 : 2 * S);
  }
  EXPECT_GT(sample(text, "attn_entropy_drift_nats{" + series + "}"), 0); // one row fewer

  EXPECT_EQ(sample(text, "attn_kernel_launches_total{" + series + "}"), 3);
  EXPECT_EQ(sample(text, "attn_kernel_tokens_total{" + series + "}"), 3 * B * S);
  // Health needs metrics on, entropy for ATTN_HEALTH_ENTROPY, known flags.
  EXPECT_EQ(attn_kernel_set_health(kernel.get(), 4), ATTN_STATUS_INVALID_ARGUMENT);
  attn_problem plain = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 2, 2, 32, 32);
  KernelPtr noEntropy;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), plain, noEntropy);
  EXPECT_EQ(attn_kernel_set_health(noEntropy.get(), ATTN_HEALTH_ENTROPY),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_kernel_set_health(noEntropy.get(), ATTN_HEALTH_NONFINITE), ATTN_STATUS_SUCCESS);
  ContextPtr off = metricsContext(0);
  KernelPtr offKernel;
  ATTN_CREATE_KERNEL_OR_SKIP(off.get(), plain, offKernel);
  EXPECT_EQ(attn_kernel_set_health(offKernel.get(), ATTN_HEALTH_NONFINITE),
            ATTN_STATUS_UNSUPPORTED);
  EXPECT_EQ(attn_kernel_set_health(offKernel.get(), 0), ATTN_STATUS_SUCCESS);
}

// The host-memory launch of every target reports the same names; Vulkan runs where a device is
// (lavapipe in CI), and skips, naming why, where none is.
// With sink logits a row that sees no key is all sink: O = 0 and LSE = the head's sink, counted
// as fully masked (not as a finite row; nor in the entropy statistics).
TEST_P(MetricsHealth, RowsOnlyTheSinkSeesCountAsMasked) {
  ContextPtr context = metricsContext(1);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 32, 32);
  p.return_lse = 1;
  p.sinks = 1;
  p.target = GetParam();
  KernelPtr kernel;
  {
    attn_kernel *created = nullptr;
    attn_status status = attn_kernel_create(context.get(), &p, &created);
    if (isNoPluginError(status, attn_last_error()) ||
        (p.target != ATTN_TARGET_CPU && status == ATTN_STATUS_UNSUPPORTED))
      GTEST_SKIP() << attn_last_error();
    ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
    kernel.reset(created);
  }
  ASSERT_EQ(attn_kernel_set_label(kernel.get(), "sinks"), ATTN_STATUS_SUCCESS);
  ASSERT_EQ(attn_kernel_set_health(kernel.get(), ATTN_HEALTH_NONFINITE), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  const int64_t B = 2, S = 9, Hq = 4, Hkv = 2, D = 32;
  Tensor q(ATTN_DTYPE_F32, {B, S, Hq, D}), k(ATTN_DTYPE_F32, {B, S, Hkv, D}),
      v(ATTN_DTYPE_F32, {B, S, Hkv, D}), o(ATTN_DTYPE_F32, {B, S, Hq, D});
  q.fillRandom(21);
  k.fillRandom(22);
  v.fillRandom(23);
  o.poison();
  std::vector<float> lse(B * Hq * S), sinks = {0.5f, -INFINITY, 2.0f, -1.25f};
  std::vector<int32_t> seqlensKv = {0, S}; // the first sequence sees no key
  attn_launch_args args = launchArgs(q, k, v, o);
  args.lse = lse.data();
  args.seqlens_kv = seqlensKv.data();
  args.sinks = sinks.data();
  ASSERT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  std::string text = metricsText(context.get());
  const std::string series =
      std::string("kernel=\"softmax_f32_hq4_hkv2_d32_sinks_lse\",target=\"") +
      (p.target == ATTN_TARGET_VULKAN ? "vulkan" : "cpu") + "\",label=\"sinks\"";
  for (int64_t h = 0; h < Hq; ++h) {
    EXPECT_EQ(lse[h * S], sinks[h]) << h; // all sink
    std::string head = "{" + series + ",head=\"" + std::to_string(h) + "\"";
    EXPECT_EQ(sample(text, "attn_fully_masked_rows_total" + head + "}"), S) << h << text;
    EXPECT_EQ(sample(text, "attn_output_nonfinite_total" + head + ",tensor=\"lse\"}"), 0) << h;
    EXPECT_EQ(sample(text, "attn_output_nonfinite_total" + head + ",tensor=\"o\"}"), 0) << h;
  }
}

INSTANTIATE_TEST_SUITE_P(Targets, MetricsHealth,
                         ::testing::Values(ATTN_TARGET_CPU, ATTN_TARGET_VULKAN),
                         [](const ::testing::TestParamInfo<attn_target> &info) {
                           return info.param == ATTN_TARGET_CPU ? "cpu" : "vulkan";
                         });

} // namespace
