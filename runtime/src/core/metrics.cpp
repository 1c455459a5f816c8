//===- metrics.cpp - a context's runtime metrics (Prometheus text format) -===//

#include "core/metrics.h"

#include "core/kernel_cache.h"
#include "core/problem.h"
#include "core/sequences.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
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

namespace {
/// NaN or ±Inf: the exponent's bits all set, in the dtype's own bits.
bool nonfinite(const void *base, int64_t index, attn_dtype dtype) {
  if (dtype == ATTN_DTYPE_F32) {
    uint32_t bits;
    std::memcpy(&bits, static_cast<const uint32_t *>(base) + index, 4);
    return (bits & 0x7f800000u) == 0x7f800000u;
  }
  uint16_t bits;
  std::memcpy(&bits, static_cast<const uint16_t *>(base) + index, 2);
  uint16_t exponent = dtype == ATTN_DTYPE_F16 ? 0x7c00u : 0x7f80u;
  return (bits & exponent) == exponent;
}

} // namespace

void MetricSeries::recordHealth(const attn_problem &p, const attn_launch_args &args,
                                uint32_t flags) {
  const int64_t hq = p.heads_q, dv = p.head_dim_v, headStride = statHeadStride(args);
  std::vector<HeadHealth> launch(hq);
  for (int64_t b = 0; b < args.batch; ++b) {
    // Each sequence's own rows (padded rows are not written; packed ones start at cu[b]).
    const attn_launch_args view = sequenceView(p, args, b);
    const int64_t rows = std::clamp<int64_t>(queryLength(args, b), 0, view.seq_q);
    for (int64_t h = 0; h < hq; ++h) {
      HeadHealth &head = launch[h];
      const float *lse = view.lse ? view.lse + h * headStride : nullptr;
      const float *entropy = view.entropy ? view.entropy + h * headStride : nullptr;
      // A row that saw no key has LSE -inf, or exactly its head's sink logit (the sink is then
      // the row's only term: max = sink, sum = 1).
      const float sink = args.sinks ? args.sinks[h] : -INFINITY;
      for (int64_t i = 0; i < rows; ++i) {
        bool masked = lse && ((std::isinf(lse[i]) && lse[i] < 0) || lse[i] == sink);
        if (flags & ATTN_HEALTH_NONFINITE) {
          int64_t row = i * view.o.strides[1] + h * view.o.strides[2];
          for (int64_t d = 0; d < dv; ++d)
            head.nonfiniteO += nonfinite(view.o.data, row + d, p.dtype);
          if (lse && !masked && !std::isfinite(lse[i]))
            ++head.nonfiniteLse;
          head.maskedRows += masked;
        }
        if ((flags & ATTN_HEALTH_ENTROPY) && entropy && !masked && std::isfinite(entropy[i])) {
          double e = entropy[i];
          head.entropyMin = head.entropyRows ? std::min(head.entropyMin, e) : e;
          head.entropyMax = head.entropyRows ? std::max(head.entropyMax, e) : e;
          head.entropySum += e;
          ++head.entropyRows;
        }
      }
    }
  }
  std::lock_guard<std::mutex> lock(healthMutex);
  heads.resize(hq);
  for (int64_t h = 0; h < hq; ++h) {
    HeadHealth &total = heads[h];
    const HeadHealth &add = launch[h];
    total.nonfiniteO += add.nonfiniteO;
    total.nonfiniteLse += add.nonfiniteLse;
    total.maskedRows += add.maskedRows;
    if (add.entropyRows) {
      total.entropyMin =
          total.entropyRows ? std::min(total.entropyMin, add.entropyMin) : add.entropyMin;
      total.entropyMax =
          total.entropyRows ? std::max(total.entropyMax, add.entropyMax) : add.entropyMax;
      total.entropySum += add.entropySum;
      total.entropyRows += add.entropyRows;
    }
  }
}

void MetricSeries::enableHealth(uint32_t flags, int64_t headsQ) {
  if (!flags)
    return;
  std::lock_guard<std::mutex> lock(healthMutex);
  healthSeen |= flags;
  heads.resize(headsQ);
}

void MetricSeries::snapshotEntropyBaseline() {
  std::lock_guard<std::mutex> lock(healthMutex);
  for (HeadHealth &head : heads) {
    head.hasBaseline = head.entropyRows > 0;
    head.baseline = head.entropyRows ? head.entropySum / head.entropyRows : 0;
    // The statistics restart: from now on they describe the launches after the snapshot.
    head.entropyRows = 0;
    head.entropySum = head.entropyMin = head.entropyMax = 0;
  }
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
  if (p.alibi)
    name += "_alibi";
  if (p.sinks)
    name += "_sinks";
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
  if (args.cu_seqlens_q) // packed: the offsets end at the token count
    return static_cast<uint64_t>(args.cu_seqlens_q[args.batch]);
  return sumLengths(args.seqlens_q, args.batch, args.seq_q, hostLengths);
}

uint64_t launchBytes(const attn_problem &p, const attn_launch_args &args, bool hostLengths) {
  uint64_t esize = dtypeSize(p.dtype);
  uint64_t queries = launchTokens(args, hostLengths);
  uint64_t keys = args.cu_seqlens_kv
                      ? static_cast<uint64_t>(args.cu_seqlens_kv[args.batch])
                      : sumLengths(args.seqlens_kv, args.batch, args.seq_kv, hostLengths);
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
  std::string out;
  // One sample: name{labels} value, or name value without labels.
  auto line = [&out](const std::string &name, const std::string &labels, const std::string &value) {
    out += labels.empty() ? name + " " + value + "\n" : name + "{" + labels + "} " + value + "\n";
  };
  auto labels = [](const MetricSeries &s, const std::string &extra = "") {
    return "kernel=\"" + escape(s.kernel) + "\",target=\"" + s.target + "\",label=\"" +
           escape(s.label) + "\"" + (extra.empty() ? "" : "," + extra);
  };
  auto load = [](const std::atomic<uint64_t> &x) { return x.load(std::memory_order_relaxed); };
  auto seconds = [](uint64_t nanos) { return number(static_cast<double>(nanos) * 1e-9); };

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
      line(c.name, labels(*s), std::to_string(load(s->*c.field)));
  }

  header(out, "attn_kernel_latency_seconds", "histogram",
         "Wall time of a launch call (on CUDA, the enqueue; the kernel runs on the stream).");
  for (const MetricSeries *s : all) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i <= kLatencyBuckets.size(); ++i) {
      cumulative += load(s->buckets[i]);
      std::string le = i < kLatencyBuckets.size() ? number(kLatencyBuckets[i]) : "+Inf";
      line("attn_kernel_latency_seconds_bucket", labels(*s, "le=\"" + le + "\""),
           std::to_string(cumulative));
    }
    line("attn_kernel_latency_seconds_sum", labels(*s), seconds(load(s->latencyNanos)));
    line("attn_kernel_latency_seconds_count", labels(*s), std::to_string(cumulative));
  }

  header(out, "attn_kernel_recent_latency_seconds", "summary",
         "Launch wall time over the most recent 1024 launches: p50, p95, p99 (nearest rank).");
  for (const MetricSeries *s : all) {
    uint64_t n = std::min<uint64_t>(load(s->recentNext), kRecentLaunches);
    std::vector<uint32_t> recent(n);
    for (uint64_t i = 0; i < n; ++i)
      recent[i] = s->recentNanos[i].load(std::memory_order_relaxed);
    std::sort(recent.begin(), recent.end());
    uint64_t sum = 0;
    for (uint32_t x : recent)
      sum += x;
    for (double q : {0.5, 0.95, 0.99}) {
      // Nearest rank: the smallest value with at least q of the window at or below it.
      auto rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(n)));
      line("attn_kernel_recent_latency_seconds", labels(*s, "quantile=\"" + number(q) + "\""),
           n ? seconds(recent[std::max<uint64_t>(rank, 1) - 1]) : "NaN");
    }
    line("attn_kernel_recent_latency_seconds_sum", labels(*s), seconds(sum));
    line("attn_kernel_recent_latency_seconds_count", labels(*s), std::to_string(n));
  }

  // Output health: one sample per query head of the series that asked for it.
  struct HealthRow {
    const MetricSeries *series;
    std::vector<HeadHealth> heads;
    uint32_t flags;
  };
  std::vector<HealthRow> health;
  for (const MetricSeries *s : all) {
    std::lock_guard<std::mutex> lock(s->healthMutex);
    if (s->healthSeen)
      health.push_back({s, s->heads, s->healthSeen});
  }
  auto perHead = [&](const char *name, const char *type, const char *help, uint32_t flag,
                     const std::function<void(const MetricSeries &, const std::string &head,
                                              const HeadHealth &)> &write) {
    header(out, name, type, help);
    for (const HealthRow &row : health)
      if (row.flags & flag)
        for (size_t h = 0; h < row.heads.size(); ++h)
          write(*row.series, "head=\"" + std::to_string(h) + "\"", row.heads[h]);
  };
  auto mean = [](const HeadHealth &head) {
    return head.entropySum / static_cast<double>(head.entropyRows);
  };
  perHead("attn_output_nonfinite_total", "counter",
          "NaN or Inf values in the output O and NaN or +Inf in LSE, per query head "
          "(attn_kernel_set_health).",
          ATTN_HEALTH_NONFINITE,
          [&](const MetricSeries &s, const std::string &head, const HeadHealth &hh) {
            line("attn_output_nonfinite_total", labels(s, head + ",tensor=\"o\""),
                 std::to_string(hh.nonfiniteO));
            line("attn_output_nonfinite_total", labels(s, head + ",tensor=\"lse\""),
                 std::to_string(hh.nonfiniteLse));
          });
  perHead("attn_fully_masked_rows_total", "counter",
          "Query rows that saw no key (LSE = -inf, or the sink logit alone), per query head; "
          "counted when the kernel "
          "returns LSE.",
          ATTN_HEALTH_NONFINITE,
          [&](const MetricSeries &s, const std::string &head, const HeadHealth &hh) {
            line("attn_fully_masked_rows_total", labels(s, head), std::to_string(hh.maskedRows));
          });
  perHead("attn_head_entropy_rows", "gauge",
          "Query rows (that saw a key) in the per-head entropy statistics (since the baseline "
          "snapshot, if any).",
          ATTN_HEALTH_ENTROPY,
          [&](const MetricSeries &s, const std::string &head, const HeadHealth &hh) {
            line("attn_head_entropy_rows", labels(s, head), std::to_string(hh.entropyRows));
          });
  perHead("attn_head_entropy_nats", "gauge",
          "Row entropy of the attention weights per query head: mean, min and max, in nats, over "
          "the launches since the baseline snapshot (or the first launch).",
          ATTN_HEALTH_ENTROPY,
          [&](const MetricSeries &s, const std::string &head, const HeadHealth &hh) {
            bool any = hh.entropyRows > 0;
            for (auto [stat, v] : {std::pair<const char *, double>{"mean", any ? mean(hh) : 0},
                                   {"min", hh.entropyMin},
                                   {"max", hh.entropyMax}})
              line("attn_head_entropy_nats", labels(s, head + ",stat=\"" + stat + "\""),
                   any ? number(v) : "NaN");
          });
  perHead("attn_head_entropy_drift_nats", "gauge",
          "Per-head entropy mean minus its baseline (attn_kernel_snapshot_entropy_baseline), in "
          "nats; absent before a snapshot.",
          ATTN_HEALTH_ENTROPY,
          [&](const MetricSeries &s, const std::string &head, const HeadHealth &hh) {
            if (hh.hasBaseline && hh.entropyRows)
              line("attn_head_entropy_drift_nats", labels(s, head), number(mean(hh) - hh.baseline));
          });
  header(out, "attn_entropy_drift_nats", "gauge",
         "Root mean square over the heads of the per-head entropy drift, in nats: one number to "
         "alert on after a rollout.");
  for (const HealthRow &row : health) {
    double sum = 0;
    size_t n = 0;
    for (const HeadHealth &head : row.heads)
      if (head.hasBaseline && head.entropyRows) {
        double d = mean(head) - head.baseline;
        sum += d * d;
        ++n;
      }
    if (n)
      line("attn_entropy_drift_nats", labels(*row.series),
           number(std::sqrt(sum / static_cast<double>(n))));
  }

  // The context's own.
  auto count = [](const std::atomic<int64_t> &x) {
    return std::to_string(x.load(std::memory_order_relaxed));
  };
  header(out, "attn_kernel_cache_requests_total", "counter",
         "Kernel creations by where the kernel came from: the context's memory cache, the disk "
         "cache, or a compile.");
  line("attn_kernel_cache_requests_total", "result=\"memory_hit\"", count(cache.memoryCacheHits));
  line("attn_kernel_cache_requests_total", "result=\"disk_hit\"", count(cache.diskCacheHits));
  line("attn_kernel_cache_requests_total", "result=\"compiled\"", count(cache.kernelsCompiled));
  header(out, "attn_kernel_cache_rejected_total", "counter",
         "Corrupt or stale disk cache entries found (then rebuilt).");
  line("attn_kernel_cache_rejected_total", "", count(cache.diskCacheRejected));
  header(out, "attn_kernel_compile_seconds_total", "counter",
         "Time spent making kernels: compiling, or loading from the disk cache.");
  line("attn_kernel_compile_seconds_total", "source=\"compile\"", seconds(load(compileNanos_)));
  line("attn_kernel_compile_seconds_total", "source=\"disk\"", seconds(load(diskLoadNanos_)));
  header(out, "attn_workspace_bytes", "gauge",
         "Workspace (split-KV partial results) held by this context's launches now.");
  line("attn_workspace_bytes", "", count(workspaceBytes_));
  header(out, "attn_workspace_peak_bytes", "gauge",
         "The most workspace this context's launches held at once.");
  line("attn_workspace_peak_bytes", "", count(workspacePeak_));
  header(out, "attn_workspace_allocations_total", "counter",
         "Workspace allocations made by launches (a launching thread's split-KV workspace "
         "grew; 0 once it fits, and with caller-provided workspace).");
  line("attn_workspace_allocations_total", "", count(workspaceAllocations_));
  header(out, "attn_kernels_alive", "gauge", "Kernel handles of this context not yet destroyed.");
  line("attn_kernels_alive", "", count(kernelsAlive_));
  return out;
}

} // namespace attn::rt
