//===- MetricsTest.cpp - runtime metrics through the C API ----------------===//
//
// Counters against known launch sequences (launches, tokens from seqlens, bytes, the histogram's
// count and +Inf bucket), labels kept apart, the kernels-alive gauge, the cache counters, and the
// API's errors: metrics off, a buffer too small, bad options and labels.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

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

/// The value of the sample whose name and labels are exactly `series`; NaN when absent.
double sample(const std::string &text, const std::string &series) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line))
    if (line.compare(0, series.size() + 1, series + " ") == 0)
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
  return std::nan("");
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

} // namespace
