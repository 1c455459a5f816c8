//===- metrics.cpp - a context's runtime metrics (Prometheus text format) -===//

#include "core/metrics.h"

#include "core/kernel_cache.h"
#include "core/problem.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace attn::rt {

void MetricSeries::recordLaunch(uint64_t nanos, uint64_t tokenCount, uint64_t byteCount) {
  launches.fetch_add(1, std::memory_order_relaxed);
  tokens.fetch_add(tokenCount, std::memory_order_relaxed);
  bytes.fetch_add(byteCount, std::memory_order_relaxed);
  latencyNanos.fetch_add(nanos, std::memory_order_relaxed);
  // The first bound >= the latency (le is inclusive), compared in whole nanoseconds.
  static const std::array<uint64_t, kLatencyBuckets.size()> bounds = [] {
    std::array<uint64_t, kLatencyBuckets.size()> ns{};
    for (size_t i = 0; i < ns.size(); ++i)
      ns[i] = static_cast<uint64_t>(std::llround(kLatencyBuckets[i] * 1e9));
    return ns;
  }();
  size_t bucket = std::lower_bound(bounds.begin(), bounds.end(), nanos) - bounds.begin();
  buckets[bucket].fetch_add(1, std::memory_order_relaxed);
  uint32_t clipped = nanos > UINT32_MAX ? UINT32_MAX : static_cast<uint32_t>(nanos);
  uint64_t slot = recentNext.fetch_add(1, std::memory_order_relaxed) % kRecentLaunches;
  recentNanos[slot].store(clipped, std::memory_order_relaxed);
}

std::string kernelMetricName(const attn_problem &p) {
  std::string name = p.variant == ATTN_VARIANT_LINEAR ? "linear" : "softmax";
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "_%s_hq%lld_hkv%lld_d%lld", dtypeName(p.dtype),
                static_cast<long long>(p.heads_q), static_cast<long long>(p.heads_kv),
                static_cast<long long>(p.head_dim));
  name += buffer;
  if (p.head_dim_v != p.head_dim)
    name += "_dv" + std::to_string(p.head_dim_v);
  if (p.causal)
    name += "_causal";
  if (p.variant == ATTN_VARIANT_LINEAR) {
    static const char *maps[] = {"elu", "relu", "identity"};
    name += std::string("_") + maps[p.feature_map >= 0 && p.feature_map <= 2 ? p.feature_map : 0];
    if (!p.normalize)
      name += "_raw";
    return name;
  }
  if (p.window_left >= 0 || p.window_right >= 0)
    name += "_window" + std::to_string(p.window_left) + "_" + std::to_string(p.window_right);
  if (p.global_tokens > 0)
    name += "_global" + std::to_string(p.global_tokens);
  if (p.softcap > 0) {
    std::snprintf(buffer, sizeof buffer, "_softcap%g", static_cast<double>(p.softcap));
    name += buffer;
  }
  if (p.page_size > 0)
    name += "_page" + std::to_string(p.page_size);
  if (p.return_lse)
    name += "_lse";
  if (p.return_entropy)
    name += "_entropy";
  return name;
}

namespace {

uint64_t sumLengths(const int32_t *lengths, int64_t batch, int64_t padded, bool host) {
  if (!lengths || !host)
    return static_cast<uint64_t>(batch * padded);
  uint64_t total = 0;
  for (int64_t b = 0; b < batch; ++b)
    total += static_cast<uint64_t>(std::clamp<int64_t>(lengths[b], 0, padded));
  return total;
}

/// A label value escaped as the text format requires: backslash, double quote and line feed.
std::string escape(const std::string &value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string number(double value) {
  if (std::isinf(value))
    return value > 0 ? "+Inf" : "-Inf";
  if (std::isnan(value))
    return "NaN";
  // The shortest decimal that reads back as the same double ("0.95", "2.5e-06").
  char buffer[40];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof buffer, "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value)
      break;
  }
  return buffer;
}

void header(std::string &out, const char *name, const char *type, const char *help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

} // namespace

uint64_t launchTokens(const attn_launch_args &args, bool hostLengths) {
  return sumLengths(args.seqlens_q, args.batch, args.seq_q, hostLengths);
}

uint64_t launchBytes(const attn_problem &p, const attn_launch_args &args, bool hostLengths) {
  uint64_t esize = dtypeSize(p.dtype);
  uint64_t queries = launchTokens(args, hostLengths);
  uint64_t keys = sumLengths(args.seqlens_kv, args.batch, args.seq_kv, hostLengths);
  return esize * (queries * p.heads_q * (p.head_dim + p.head_dim_v) +
                  keys * p.heads_kv * (p.head_dim + p.head_dim_v));
}

MetricSeries *Metrics::series(const attn_problem &problem, const std::string &label) {
  std::string kernel = kernelMetricName(problem);
  std::lock_guard<std::mutex> lock(mutex_);
  auto &slot = series_[{kernel + "\x1f" + std::to_string(problem.target), label}];
  if (!slot) {
    slot = std::make_unique<MetricSeries>();
    static const char *targets[] = {"cpu", "cuda", "vulkan"}; // by attn_target
    slot->kernel = kernel;
    slot->target = targets[problem.target >= 0 && problem.target <= 2 ? problem.target : 0];
    slot->label = label;
  }
  return slot.get();
}

void Metrics::recordCompile(double seconds, bool fromDisk) {
  auto nanos = static_cast<uint64_t>(std::max(0.0, seconds) * 1e9);
  (fromDisk ? diskLoadNanos_ : compileNanos_).fetch_add(nanos, std::memory_order_relaxed);
}

std::string Metrics::text(const CacheCounters &cache) const {
  std::vector<const MetricSeries *> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto &entry : series_)
      all.push_back(entry.second.get());
  }
  auto labels = [](const MetricSeries &s) {
    return "kernel=\"" + escape(s.kernel) + "\",target=\"" + s.target + "\",label=\"" +
           escape(s.label) + "\"";
  };
  auto load = [](const std::atomic<uint64_t> &x) { return x.load(std::memory_order_relaxed); };
  std::string out;
  struct Counter {
    const char *name, *help;
    const std::atomic<uint64_t> MetricSeries::*field;
  };
  for (Counter c :
       {Counter{"attn_kernel_launches_total", "Launches that ran, per kernel and label.",
                &MetricSeries::launches},
        Counter{"attn_kernel_launch_failures_total",
                "Launches whose backend failed after validation, per kernel and label.",
                &MetricSeries::failures},
        Counter{"attn_kernel_tokens_total",
                "Query tokens processed (each sequence's query length).", &MetricSeries::tokens},
        Counter{"attn_kernel_bytes_total",
                "Bytes of Q, K and V read and O written, once each, as the problem's dtype.",
                &MetricSeries::bytes}}) {
    header(out, c.name, "counter", c.help);
    for (const MetricSeries *s : all)
      out +=
          std::string(c.name) + "{" + labels(*s) + "} " + std::to_string(load(s->*c.field)) + "\n";
  }
  header(out, "attn_kernel_latency_seconds", "histogram",
         "Wall time of a launch call (on CUDA, the enqueue; the kernel runs on the stream).");
  for (const MetricSeries *s : all) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kLatencyBuckets.size(); ++i) {
      cumulative += load(s->buckets[i]);
      std::string le = i < kLatencyBuckets.size() ? number(kLatencyBuckets[i]) : "+Inf";
      out += "attn_kernel_latency_seconds_bucket{" + labels(*s) + ",le=\"" + le + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "attn_kernel_latency_seconds_sum{" + labels(*s) + "} " +
           number(static_cast<double>(load(s->latencyNanos)) * 1e-9) + "\n";
    out += "attn_kernel_latency_seconds_count{" + labels(*s) + "} " + std::to_string(cumulative) +
           "\n";
  }
  header(out, "attn_kernel_recent_latency_seconds", "summary",
         "Launch wall time over the most recent 1024 launches: p50, p95, p99 (nearest rank).");
  for (const MetricSeries *s : all) {
    uint64_t n = std::min<uint64_t>(load(s->recentNext), kRecentLaunches);
    std::vector<uint32_t> recent(n);
    for (uint64_t i = 0; i < n; ++i)
      recent[i] = s->recentNanos[i].load(std::memory_order_relaxed);
    std::sort(recent.begin(), recent.end());
    double sum = 0;
    for (uint32_t x : recent)
      sum += x * 1e-9;
    for (double q : {0.5, 0.95, 0.99}) {
      std::string value = "NaN";
      if (n) {
        // Nearest rank: the smallest value with at least q of the window at or below it.
        auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
        value = number(recent[std::max<uint64_t>(rank, 1) - 1] * 1e-9);
      }
      out += "attn_kernel_recent_latency_seconds{" + labels(*s) + ",quantile=\"" + number(q) +
             "\"} " + value + "\n";
    }
    out += "attn_kernel_recent_latency_seconds_sum{" + labels(*s) + "} " + number(sum) + "\n";
    out +=
        "attn_kernel_recent_latency_seconds_count{" + labels(*s) + "} " + std::to_string(n) + "\n";
  }
  header(out, "attn_kernel_cache_requests_total", "counter",
         "Kernel creations by where the kernel came from: the context's memory cache, the disk "
         "cache, or a compile.");
  auto count = [](const std::atomic<int64_t> &x) {
    return std::to_string(x.load(std::memory_order_relaxed));
  };
  out += "attn_kernel_cache_requests_total{result=\"memory_hit\"} " + count(cache.memoryCacheHits) +
         "\n";
  out +=
      "attn_kernel_cache_requests_total{result=\"disk_hit\"} " + count(cache.diskCacheHits) + "\n";
  out += "attn_kernel_cache_requests_total{result=\"compiled\"} " + count(cache.kernelsCompiled) +
         "\n";
  header(out, "attn_kernel_cache_rejected_total", "counter",
         "Corrupt or stale disk cache entries found (then rebuilt).");
  out += "attn_kernel_cache_rejected_total " + count(cache.diskCacheRejected) + "\n";
  header(out, "attn_kernel_compile_seconds_total", "counter",
         "Time spent making kernels: compiling, or loading from the disk cache.");
  out += "attn_kernel_compile_seconds_total{source=\"compile\"} " +
         number(static_cast<double>(load(compileNanos_)) * 1e-9) + "\n";
  out += "attn_kernel_compile_seconds_total{source=\"disk\"} " +
         number(static_cast<double>(load(diskLoadNanos_)) * 1e-9) + "\n";
  header(out, "attn_kernels_alive", "gauge", "Kernel handles of this context not yet destroyed.");
  out +=
      "attn_kernels_alive " + std::to_string(kernelsAlive_.load(std::memory_order_relaxed)) + "\n";
  return out;
}

} // namespace attn::rt
