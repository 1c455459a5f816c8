//===- MetricsTest.cpp - the metrics registry and its text, unit tests ----===//
//
// Percentiles and histogram buckets against known latencies (the C API test cannot choose how
// long a launch takes), the window of recent launches, and the text format's escaping.
//
//===----------------------------------------------------------------------===//

#include "core/metrics.h"
#include "../MetricsText.h"
#include "core/kernel_cache.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

using namespace attn::rt;
using attn::rttest::sample;

namespace {

attn_problem problem() {
  attn_problem p;
  EXPECT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  p.heads_q = 8;
  p.heads_kv = 2;
  p.head_dim = p.head_dim_v = 64;
  p.dtype = ATTN_DTYPE_BF16;
  return p;
}

const char *kLabels = "{kernel=\"softmax_bf16_hq8_hkv2_d64\",target=\"cpu\",label=\"a\\\\b\\n\"}";
std::string with(const std::string &extra) {
  std::string labels = kLabels;
  return labels.substr(0, labels.size() - 1) + "," + extra + "}";
}

TEST(MetricsRegistry, PercentilesAndBucketsOfKnownLatencies) {
  Metrics metrics;
  MetricSeries *s = metrics.series(problem(), "a\\b\n");
  EXPECT_EQ(s, metrics.series(problem(), "a\\b\n")); // the same series for the same pair
  // 1 µs .. 100 µs, shuffled: p50 = 50 µs, p95 = 95 µs, p99 = 99 µs (nearest rank).
  for (int i = 0; i < 100; ++i)
    s->recordLaunch(static_cast<uint64_t>(((i * 37) % 100 + 1) * 1000), 3, 10);
  CacheCounters cache;
  std::string text = metrics.text(cache);
  EXPECT_NEAR(
      sample(text, std::string("attn_kernel_recent_latency_seconds") + with("quantile=\"0.5\"")),
      50e-6, 1e-12)
      << text;
  EXPECT_NEAR(sample(text, "attn_kernel_recent_latency_seconds" + with("quantile=\"0.95\"")), 95e-6,
              1e-12);
  EXPECT_NEAR(sample(text, "attn_kernel_recent_latency_seconds" + with("quantile=\"0.99\"")), 99e-6,
              1e-12);
  // le is inclusive: 1 µs falls in the first bucket, 2 µs in 2.5 µs, 10 µs in 10 µs.
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + with("le=\"1e-06\"")), 1);
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + with("le=\"2.5e-06\"")), 2);
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + with("le=\"1e-05\"")), 10);
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + with("le=\"0.0001\"")), 100);
  EXPECT_EQ(sample(text, "attn_kernel_latency_seconds_bucket" + with("le=\"+Inf\"")), 100);
  EXPECT_NEAR(sample(text, std::string("attn_kernel_latency_seconds_sum") + kLabels), 5050e-6,
              1e-9);
  EXPECT_EQ(sample(text, std::string("attn_kernel_tokens_total") + kLabels), 300);
  EXPECT_EQ(sample(text, std::string("attn_kernel_bytes_total") + kLabels), 1000);
}

TEST(MetricsRegistry, QuantilesCoverTheRecentLaunchesOnly) {
  Metrics metrics;
  MetricSeries *s = metrics.series(problem(), "a\\b\n");
  for (int i = 0; i < 5000; ++i)
    s->recordLaunch(1000000, 1, 1); // 1 ms, then the window fills with 2 µs launches
  for (size_t i = 0; i < kRecentLaunches; ++i)
    s->recordLaunch(2000, 1, 1);
  CacheCounters cache;
  std::string text = metrics.text(cache);
  EXPECT_NEAR(sample(text, "attn_kernel_recent_latency_seconds" + with("quantile=\"0.99\"")), 2e-6,
              1e-12);
  EXPECT_EQ(sample(text, std::string("attn_kernel_recent_latency_seconds_count") + kLabels),
            static_cast<double>(kRecentLaunches));
  EXPECT_EQ(sample(text, std::string("attn_kernel_latency_seconds_count") + kLabels),
            5000.0 + kRecentLaunches);
}

TEST(MetricsRegistry, EmptyWindowAndContextGauges) {
  Metrics metrics;
  (void)metrics.series(problem(), "a\\b\n");
  metrics.kernelCreated();
  metrics.kernelCreated();
  metrics.kernelDestroyed();
  metrics.recordCompile(0.25, /*fromDisk=*/false);
  metrics.recordCompile(0.01, /*fromDisk=*/true);
  CacheCounters cache;
  cache.memoryCacheHits = 4;
  cache.diskCacheRejected = 1;
  std::string text = metrics.text(cache);
  EXPECT_TRUE(
      std::isnan(sample(text, "attn_kernel_recent_latency_seconds" + with("quantile=\"0.5\""))));
  EXPECT_NE(text.find("attn_kernel_recent_latency_seconds" + with("quantile=\"0.5\"") + " NaN"),
            std::string::npos);
  EXPECT_EQ(sample(text, "attn_kernels_alive"), 1);
  EXPECT_EQ(sample(text, "attn_kernel_cache_requests_total{result=\"memory_hit\"}"), 4);
  EXPECT_EQ(sample(text, "attn_kernel_cache_rejected_total"), 1);
  EXPECT_NEAR(sample(text, "attn_kernel_compile_seconds_total{source=\"compile\"}"), 0.25, 1e-9);
  EXPECT_NEAR(sample(text, "attn_kernel_compile_seconds_total{source=\"disk\"}"), 0.01, 1e-9);
  // Each family once, HELP before TYPE.
  EXPECT_EQ(text.find("# TYPE attn_kernel_latency_seconds histogram"),
            text.rfind("# TYPE attn_kernel_latency_seconds histogram"));
  EXPECT_LT(text.find("# HELP attn_kernels_alive"), text.find("# TYPE attn_kernels_alive gauge"));
}

TEST(MetricsRegistry, KernelNamesFromTheProblem) {
  attn_problem p = problem();
  EXPECT_EQ(kernelMetricName(p), "softmax_bf16_hq8_hkv2_d64");
  p.causal = 1;
  p.window_left = 128;
  p.page_size = 16;
  p.return_lse = 1;
  p.head_dim_v = 32;
  EXPECT_EQ(kernelMetricName(p), "softmax_bf16_hq8_hkv2_d64_dv32_causal_window128_-1_page16_lse");
  p = problem();
  p.variant = ATTN_VARIANT_LINEAR;
  p.normalize = 0;
  EXPECT_EQ(kernelMetricName(p), "linear_bf16_hq8_hkv2_d64_elu_raw");
}

} // namespace
