//===- metrics.h - a context's runtime metrics (Prometheus text format) ---===//
//
// Off by default: a context without metrics has no Metrics object and its launches take no
// clock and touch no counter. On (attn_context_options.metrics, or $ATTN_METRICS=1), every kernel
// handle points at the series of its (kernel, label) pair, made when the handle is made or
// relabelled; a launch then costs two clock reads and a few relaxed atomic adds: no lock and no
// allocation. The export (attn_context_metrics_text) writes the Prometheus text exposition format
// 0.0.4 to spec (prometheus.io/docs/instrumenting/exposition_formats): the runtime links no client
// library, so that engines linking it inherit no dependency.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_METRICS_H
#define ATTN_RUNTIME_CORE_METRICS_H

#include "attn/attn_runtime.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace attn::rt {

struct CacheCounters;

/// The latency histogram's upper bounds, in seconds (1 µs to 10 s, 1-2.5-5 steps), then +Inf.
constexpr std::array<double, 22> kLatencyBuckets = {
    1e-6, 2.5e-6, 5e-6,   1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3,
    5e-3, 1e-2,   2.5e-2, 5e-2, 0.1,    0.25, 0.5,  1.0,    2.5,  5.0,  10.0};
/// Launches the quantiles (p50, p95, p99) are computed over: the most recent ones.
constexpr size_t kRecentLaunches = 1024;

/// Output health of one query head (attn_kernel_set_health).
struct HeadHealth {
  uint64_t nonfiniteO = 0, nonfiniteLse = 0; // NaN or ±Inf in O; NaN or +Inf in LSE
  uint64_t maskedRows = 0;                   // rows that saw no key (LSE = -inf)
  uint64_t entropyRows = 0;                  // rows in the entropy statistics
  double entropySum = 0, entropyMin = 0, entropyMax = 0;
  bool hasBaseline = false;
  double baseline = 0; // the per-head mean at the snapshot
};

/// One (kernel, label) pair's counters. Written by launches without a lock.
struct MetricSeries {
  std::string kernel, target, label; // label values
  std::atomic<uint64_t> launches{0}, failures{0}, tokens{0}, bytes{0};
  std::atomic<uint64_t> latencyNanos{0};                                   // sum over every launch
  std::array<std::atomic<uint64_t>, kLatencyBuckets.size() + 1> buckets{}; // non-cumulative
  std::array<std::atomic<uint32_t>, kRecentLaunches> recentNanos{};        // a ring (saturating)
  std::atomic<uint64_t> recentNext{0};

  // Output health, when a handle of this series asks for it (opt-in: it reads O again).
  mutable std::mutex healthMutex;
  std::vector<HeadHealth> heads; // [heads_q] once asked
  uint32_t healthSeen = 0;       // the ATTN_HEALTH_* flags any handle asked for

  /// A handle of this series asks for `flags` (ATTN_HEALTH_*) on a problem of `headsQ` heads.
  void enableHealth(uint32_t flags, int64_t headsQ);
  void recordLaunch(uint64_t nanos, uint64_t tokenCount, uint64_t byteCount);
  void recordFailure() { failures.fetch_add(1, std::memory_order_relaxed); }
  /// Counts a finished CPU launch's non-finite values and masked rows (ATTN_HEALTH_NONFINITE)
  /// and folds its row entropies into the per-head statistics (ATTN_HEALTH_ENTROPY).
  void recordHealth(const attn_problem &problem, const attn_launch_args &args, uint32_t flags);
  /// The current per-head entropy means become the baseline the drift is measured against, and
  /// the statistics restart (they then describe the launches after the snapshot).
  void snapshotEntropyBaseline();
};

class Metrics {
public:
  /// The series of `kernel` (a stable name from its problem) on `target` with the caller's
  /// `label` ("" = none): made on first use, then the same object for the context's life.
  MetricSeries *series(const attn_problem &problem, const std::string &label);

  void kernelCreated() { kernelsAlive_.fetch_add(1, std::memory_order_relaxed); }
  void kernelDestroyed() { kernelsAlive_.fetch_sub(1, std::memory_order_relaxed); }
  /// Workspace a launch took (`bytes` > 0) or gave back (< 0).
  void workspaceInUse(int64_t bytes) {
    int64_t now = workspaceBytes_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
    if (bytes > 0) {
      int64_t peak = workspacePeak_.load(std::memory_order_relaxed);
      while (now > peak && !workspacePeak_.compare_exchange_weak(peak, now))
        ;
    }
  }
  /// A launch had to allocate workspace (a thread's cache grew).
  void workspaceAllocated() { workspaceAllocations_.fetch_add(1, std::memory_order_relaxed); }
  /// A compile (or disk-cache load) that took `seconds`.
  void recordCompile(double seconds, bool fromDisk);

  /// The exposition text: every series, the context's cache counters, compile times and gauges.
  std::string text(const CacheCounters &cache) const;

private:
  mutable std::mutex mutex_; // guards series_ (made rarely), not the counters
  std::map<std::pair<std::string, std::string>, std::unique_ptr<MetricSeries>> series_;
  std::atomic<int64_t> kernelsAlive_{0};
  std::atomic<int64_t> workspaceBytes_{0}, workspacePeak_{0}, workspaceAllocations_{0};
  std::atomic<uint64_t> compileNanos_{0}, diskLoadNanos_{0};
};

/// The stable name of a normalized problem's kernel, for the `kernel` label: variant, dtype,
/// heads, head dims and the options that change the code ("softmax_bf16_hq32_hkv8_d128_causal").
std::string kernelMetricName(const attn_problem &problem);

/// Query tokens and bytes moved (Q, K, V read once, O written once) by one launch; `hostLengths`:
/// the seqlens arrays are host memory (CPU launches) and give the lengths, else the padded shape.
uint64_t launchTokens(const attn_launch_args &args, bool hostLengths);
uint64_t launchBytes(const attn_problem &problem, const attn_launch_args &args, bool hostLengths);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_METRICS_H
