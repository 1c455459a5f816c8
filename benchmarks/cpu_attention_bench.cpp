//===- cpu_attention_bench.cpp - CPU kernels against sgemm and memcpy ----===//
//
// Every figure is printed beside a reference measured in the same run (SPEC §7): attention
// GFLOP/s beside OpenBLAS sgemm 2048^3 on the same number of threads (ratio = attn / sgemm),
// decode bytes/s beside memcpy bandwidth (ratio = decode / memcpy), JIT latencies as medians.
// FLOPs: 4·B·Hq·Sq·Skv·D for dense (half for causal, visible pairs for windows), and
// 4·B·Hq·S·D·Dv for linear attention (state update + readout). Decode bytes: Q, K, V read once
// and O written once; memcpy bytes: read + written.
//
//===----------------------------------------------------------------------===//

#include "attn/attn_runtime.h"

#include <benchmark/benchmark.h>
#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

int threads() {
  const char *env = std::getenv("ATTNC_BENCH_THREADS");
  int n = env ? std::atoi(env) : 0;
  return n > 0 ? n : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

template <typename F> double bestSeconds(int reps, F &&f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

/// OpenBLAS sgemm 2048^3 on the benchmark's threads, measured once per run.
double sgemmGflops() {
  static double gflops = [] {
    const int n = 2048;
    std::vector<float> a(size_t(n) * n, 0.5f), b(size_t(n) * n, 0.25f), c(size_t(n) * n);
    openblas_set_num_threads(threads());
    auto run = [&] {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a.data(), n, b.data(),
                  n, 0.0f, c.data(), n);
    };
    run();
    double t = bestSeconds(5, run);
    return 2.0 * n * n * n / t / 1e9;
  }();
  return gflops;
}

/// memcpy of 512 MiB, bytes moved (read + written) per second.
double memcpyBytesPerSecond() {
  static double bw = [] {
    size_t n = size_t(256) << 20;
    std::vector<char> src(n, 1), dst(n, 0);
    double t = bestSeconds(5, [&] {
      std::memcpy(dst.data(), src.data(), n);
      benchmark::DoNotOptimize(dst.data());
    });
    return 2.0 * n / t;
  }();
  return bw;
}

attn_context *context() {
  static attn_context *ctx = [] {
    attn_context_options options;
    (void)attn_context_options_init(&options);
    options.num_threads = threads();
    attn_context *c = nullptr;
    if (attn_context_create(&options, &c) != ATTN_STATUS_SUCCESS)
      std::fprintf(stderr, "attn_context_create: %s\n", attn_last_error());
    return c;
  }();
  return ctx;
}

size_t elementSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

struct Buffers {
  std::vector<char> q, k, v, o;
  attn_launch_args args;
  Buffers(const attn_problem &p, int64_t batch, int64_t sq, int64_t skv) {
    size_t es = elementSize(p.dtype);
    auto fill = [&](std::vector<char> &buf, size_t count) {
      buf.resize(count * es);
      std::mt19937 rng(42);
      std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
      for (size_t i = 0; i < count; ++i) {
        float x = dist(rng);
        if (es == 4) {
          std::memcpy(&buf[i * 4], &x, 4);
        } else { // bf16 / f16 bit patterns of small values are fine for timing: take bf16
          uint32_t bits;
          std::memcpy(&bits, &x, 4);
          uint16_t h = p.dtype == ATTN_DTYPE_BF16 ? uint16_t(bits >> 16) : uint16_t(0x3800);
          std::memcpy(&buf[i * 2], &h, 2);
        }
      }
    };
    fill(q, size_t(batch * sq * p.heads_q * p.head_dim));
    fill(k, size_t(batch * skv * p.heads_kv * p.head_dim));
    fill(v, size_t(batch * skv * p.heads_kv * p.head_dim_v));
    fill(o, size_t(batch * sq * p.heads_q * p.head_dim_v));
    (void)attn_launch_args_init(&args);
    args.batch = batch;
    args.seq_q = sq;
    args.seq_kv = skv;
    auto view = [](std::vector<char> &buf, int64_t s, int64_t h, int64_t d) {
      attn_tensor t;
      t.data = buf.data();
      int64_t strides[4] = {s * h * d, h * d, d, 1};
      std::memcpy(t.strides, strides, sizeof strides);
      return t;
    };
    args.q = view(q, sq, p.heads_q, p.head_dim);
    args.k = view(k, skv, p.heads_kv, p.head_dim);
    args.v = view(v, skv, p.heads_kv, p.head_dim_v);
    args.o = view(o, sq, p.heads_q, p.head_dim_v);
  }
};

/// The headline results, printed as one line each at the end of the run.
std::map<std::string, std::string> &summary() {
  static std::map<std::string, std::string> lines;
  return lines;
}

/// Visible (query, key) pairs of a window/causal problem, for the FLOP count.
double visiblePairs(int64_t s, bool causal, int64_t left) {
  double pairs = 0;
  for (int64_t i = 0; i < s; ++i) {
    int64_t hi = causal ? i : s - 1;
    int64_t lo = left >= 0 ? std::max<int64_t>(0, i - left) : 0;
    pairs += double(hi - lo + 1);
  }
  return pairs;
}

void runAttention(benchmark::State &state, attn_problem p, int64_t batch, int64_t sq, int64_t skv,
                  double flops, const std::string &name) {
  attn_kernel *kernel = nullptr;
  if (attn_kernel_create(context(), &p, &kernel) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  Buffers buffers(p, batch, sq, skv);
  if (attn_kernel_launch(kernel, &buffers.args) != ATTN_STATUS_SUCCESS) { // warm-up
    state.SkipWithError(attn_last_error());
    (void)attn_kernel_destroy(kernel);
    return;
  }
  double best = 1e30;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(kernel, &buffers.args);
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, t);
    state.SetIterationTime(t);
  }
  (void)attn_kernel_destroy(kernel);
  double gflops = flops / best / 1e9, reference = sgemmGflops();
  state.counters["gflops"] = gflops;
  state.counters["sgemm_gflops"] = reference;
  state.counters["ratio"] = gflops / reference;
  char line[256];
  std::snprintf(line, sizeof line, "%s gflops=%.1f sgemm_gflops=%.1f ratio=%.3f best_ms=%.3f",
                name.c_str(), gflops, reference, gflops / reference, best * 1e3);
  summary()[name] = line;
}

const char *dtypeName(attn_dtype dtype) {
  return dtype == ATTN_DTYPE_F32 ? "f32" : dtype == ATTN_DTYPE_F16 ? "f16" : "bf16";
}

void BM_Dense(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  int64_t s = state.range(1), d = state.range(2);
  bool causal = state.range(3) != 0;
  attn_problem p;
  (void)attn_problem_init(&p);
  p.dtype = dtype;
  p.heads_q = p.heads_kv = 8;
  p.head_dim = p.head_dim_v = d;
  p.causal = causal;
  double flops = 4.0 * 8 * visiblePairs(s, causal, -1) * double(d);
  std::string name = std::string("dense") + (causal ? "_causal_" : "_") + dtypeName(dtype) +
                     "_B1_H8_S" + std::to_string(s) + "_D" + std::to_string(d);
  runAttention(state, p, 1, s, s, flops, name);
}

void BM_SlidingWindow(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  int64_t s = state.range(1), d = state.range(2), w = state.range(3);
  attn_problem p;
  (void)attn_problem_init(&p);
  p.dtype = dtype;
  p.heads_q = p.heads_kv = 8;
  p.head_dim = p.head_dim_v = d;
  p.causal = 1;
  p.window_left = w - 1;
  double flops = 4.0 * 8 * visiblePairs(s, true, w - 1) * double(d);
  std::string name = std::string("window") + std::to_string(w) + "_" + dtypeName(dtype) +
                     "_B1_H8_S" + std::to_string(s) + "_D" + std::to_string(d);
  runAttention(state, p, 1, s, s, flops, name);
}

void BM_Linear(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  int64_t s = state.range(1), d = state.range(2);
  attn_problem p;
  (void)attn_problem_init(&p);
  p.variant = ATTN_VARIANT_LINEAR;
  p.dtype = dtype;
  p.heads_q = p.heads_kv = 8;
  p.head_dim = p.head_dim_v = d;
  p.causal = 1;
  double flops = 4.0 * 8 * double(s) * double(d) * double(d);
  std::string name = std::string("linear_causal_") + dtypeName(dtype) + "_B1_H8_S" +
                     std::to_string(s) + "_D" + std::to_string(d);
  runAttention(state, p, 1, s, s, flops, name);
}

/// GQA decode: one new token per sequence, Hq = 32 over Hkv = 8, against a KV cache of Skv.
void BM_DecodeGQA(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  int64_t skv = state.range(1), d = state.range(2), batch = 4;
  attn_problem p;
  (void)attn_problem_init(&p);
  p.dtype = dtype;
  p.heads_q = 32;
  p.heads_kv = 8;
  p.head_dim = p.head_dim_v = d;
  attn_kernel *kernel = nullptr;
  if (attn_kernel_create(context(), &p, &kernel) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  Buffers buffers(p, batch, 1, skv);
  (void)attn_kernel_launch(kernel, &buffers.args);
  double best = 1e30;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(kernel, &buffers.args);
    double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, t);
    state.SetIterationTime(t);
  }
  (void)attn_kernel_destroy(kernel);
  double bytes = double(elementSize(dtype)) *
                 (2.0 * batch * skv * p.heads_kv * d + 2.0 * batch * p.heads_q * d);
  double bw = bytes / best, reference = memcpyBytesPerSecond();
  state.counters["GB/s"] = bw / 1e9;
  state.counters["memcpy_GB/s"] = reference / 1e9;
  state.counters["ratio"] = bw / reference;
  std::string name = std::string("decode_gqa32_8_") + dtypeName(dtype) + "_B4_Skv" +
                     std::to_string(skv) + "_D" + std::to_string(d);
  char line[256];
  std::snprintf(line, sizeof line, "%s GB/s=%.2f memcpy_GB/s=%.2f ratio=%.3f best_us=%.1f",
                name.c_str(), bw / 1e9, reference / 1e9, bw / reference, best * 1e6);
  summary()[name] = line;
}

/// A paged KV cache against the contiguous layout, the same keys and shapes, in the same run:
/// decode (B=4, Sq=1) or chunked prefill (B=1, Sq=512, causal) of GQA 32/8 D=128 against Skv
/// keys in pages of `page` keys at shuffled page indices (as a serving engine's cache is after
/// a while). Launches alternate between the two kernels; the figure is paged time / contiguous
/// time (best of each), the goal within 1.10 (issue 14).
/// GQA 32/8 at D = Dv = 128 (a Llama-3-8B layer), the paged, packed and metrics cases' problem.
attn_problem gqa32x8(attn_dtype dtype, bool causal) {
  attn_problem p;
  (void)attn_problem_init(&p);
  p.dtype = dtype;
  p.heads_q = 32;
  p.heads_kv = 8;
  p.head_dim = p.head_dim_v = 128;
  p.causal = causal ? 1 : 0;
  return p;
}

void BM_PagedKV(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  const bool decode = state.range(1) == 0;
  const int64_t skv = state.range(2), page = state.range(3);
  const int64_t batch = decode ? 4 : 1, sq = decode ? 1 : 512;
  attn_problem p = gqa32x8(dtype, !decode);
  attn_problem pp = p;
  pp.page_size = page;
  attn_kernel *contiguous = nullptr, *paged = nullptr;
  if (attn_kernel_create(context(), &p, &contiguous) != ATTN_STATUS_SUCCESS ||
      attn_kernel_create(context(), &pp, &paged) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  Buffers buffers(p, batch, sq, skv);
  // The same keys as pages: sequence b's page i at a shuffled index.
  const int64_t maxPages = skv / page, numPages = batch * maxPages;
  const size_t es = elementSize(dtype), row = size_t(p.heads_kv * p.head_dim) * es;
  std::vector<int32_t> table(static_cast<size_t>(numPages));
  for (int64_t i = 0; i < numPages; ++i)
    table[size_t(i)] = int32_t(i);
  std::shuffle(table.begin(), table.end(), std::mt19937(7));
  std::vector<char> kp(buffers.k.size()), vp(buffers.v.size());
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < maxPages; ++i) {
      size_t from = size_t(b * skv + i * page) * row,
             to = size_t(table[size_t(b * maxPages + i)]) * size_t(page) * row;
      std::memcpy(&kp[to], &buffers.k[from], size_t(page) * row);
      std::memcpy(&vp[to], &buffers.v[from], size_t(page) * row);
    }
  attn_launch_args pargs = buffers.args;
  pargs.k.data = kp.data();
  pargs.v.data = vp.data();
  const int64_t pageStrides[4] = {page * p.heads_kv * p.head_dim, p.heads_kv * p.head_dim,
                                  p.head_dim, 1};
  std::memcpy(pargs.k.strides, pageStrides, sizeof pageStrides);
  std::memcpy(pargs.v.strides, pageStrides, sizeof pageStrides);
  pargs.block_table = table.data();
  pargs.max_pages = maxPages;
  pargs.num_pages = numPages;
  pargs.seq_kv = 0;
  if (attn_kernel_launch(paged, &pargs) != ATTN_STATUS_SUCCESS ||
      attn_kernel_launch(contiguous, &buffers.args) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  double bestPaged = 1e30, bestContiguous = 1e30;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(contiguous, &buffers.args);
    auto t1 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(paged, &pargs);
    auto t2 = std::chrono::steady_clock::now();
    bestContiguous = std::min(bestContiguous, std::chrono::duration<double>(t1 - t0).count());
    double t = std::chrono::duration<double>(t2 - t1).count();
    bestPaged = std::min(bestPaged, t);
    state.SetIterationTime(t);
  }
  (void)attn_kernel_destroy(contiguous);
  (void)attn_kernel_destroy(paged);
  state.counters["paged_us"] = bestPaged * 1e6;
  state.counters["contiguous_us"] = bestContiguous * 1e6;
  state.counters["ratio"] = bestPaged / bestContiguous;
  std::string name = std::string("paged_") + (decode ? "decode_B4" : "prefill_causal_B1_Sq512") +
                     "_gqa32_8_" + dtypeName(dtype) + "_Skv" + std::to_string(skv) + "_page" +
                     std::to_string(page);
  char line[256];
  std::snprintf(line, sizeof line, "%s paged_us=%.1f contiguous_us=%.1f ratio=%.3f", name.c_str(),
                bestPaged * 1e6, bestContiguous * 1e6, bestPaged / bestContiguous);
  summary()[name] = line;
}

/// Packed (ragged) batches against the same sequences padded to the longest with per-batch
/// lengths (which skip the padding too), and against one launch per sequence: eight sequences of
/// 2048 down to 16 tokens (prefill: queries and keys alike, causal) or eight single-token
/// queries against caches of 8192 down to 64 keys (decode), GQA 32/8, D = 128. Interleaved,
/// best of N each; ratio = packed time / padded time.
void BM_Packed(benchmark::State &state) {
  auto dtype = attn_dtype(state.range(0));
  const bool decode = state.range(1) == 0;
  attn_problem p = gqa32x8(dtype, !decode);
  attn_kernel *kernel = nullptr;
  if (attn_kernel_create(context(), &p, &kernel) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  const int64_t batch = 8, longest = decode ? 8192 : 2048;
  std::vector<int32_t> lensKv(batch), lensQ(batch), cuQ(batch + 1, 0), cuKv(batch + 1, 0);
  for (int64_t b = 0; b < batch; ++b) {
    lensKv[size_t(b)] = int32_t(longest >> b);
    lensQ[size_t(b)] = decode ? 1 : lensKv[size_t(b)];
    cuQ[size_t(b) + 1] = cuQ[size_t(b)] + lensQ[size_t(b)];
    cuKv[size_t(b) + 1] = cuKv[size_t(b)] + lensKv[size_t(b)];
  }
  const int64_t sq = decode ? 1 : longest;
  Buffers padded(p, batch, sq, longest); // [B, longest] with the lengths
  padded.args.seqlens_q = decode ? nullptr : lensQ.data();
  padded.args.seqlens_kv = lensKv.data();
  // Packed: the same buffers hold more than the packed rows; only [0, cu[B]) is addressed.
  attn_launch_args packed = padded.args;
  packed.seqlens_q = packed.seqlens_kv = nullptr;
  packed.seq_q = cuQ[size_t(batch)];
  packed.seq_kv = cuKv[size_t(batch)];
  packed.cu_seqlens_q = cuQ.data();
  packed.cu_seqlens_kv = cuKv.data();
  // One launch per sequence, B = 1 each (what a caller without either does).
  auto perSequence = [&] {
    for (int64_t b = 0; b < batch; ++b) {
      attn_launch_args one = padded.args;
      one.batch = 1;
      one.seqlens_q = one.seqlens_kv = nullptr;
      one.seq_q = lensQ[size_t(b)];
      one.seq_kv = lensKv[size_t(b)];
      const size_t es = elementSize(dtype);
      one.q.data = padded.q.data() + size_t(cuQ[size_t(b)] * p.heads_q * p.head_dim) * es;
      one.o.data = padded.o.data() + size_t(cuQ[size_t(b)] * p.heads_q * p.head_dim_v) * es;
      one.k.data = padded.k.data() + size_t(cuKv[size_t(b)] * p.heads_kv * p.head_dim) * es;
      one.v.data = padded.v.data() + size_t(cuKv[size_t(b)] * p.heads_kv * p.head_dim_v) * es;
      (void)attn_kernel_launch(kernel, &one);
    }
  };
  if (attn_kernel_launch(kernel, &packed) != ATTN_STATUS_SUCCESS ||
      attn_kernel_launch(kernel, &padded.args) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  double bestPacked = 1e30, bestPadded = 1e30, bestLoop = 1e30;
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(kernel, &padded.args);
    auto t1 = std::chrono::steady_clock::now();
    (void)attn_kernel_launch(kernel, &packed);
    auto t2 = std::chrono::steady_clock::now();
    perSequence();
    auto t3 = std::chrono::steady_clock::now();
    bestPadded = std::min(bestPadded, seconds(t0, t1));
    bestPacked = std::min(bestPacked, seconds(t1, t2));
    bestLoop = std::min(bestLoop, seconds(t2, t3));
    state.SetIterationTime(seconds(t1, t2));
  }
  (void)attn_kernel_destroy(kernel);
  state.counters["packed_us"] = bestPacked * 1e6;
  state.counters["padded_us"] = bestPadded * 1e6;
  state.counters["per_sequence_us"] = bestLoop * 1e6;
  state.counters["ratio"] = bestPacked / bestPadded;
  std::string name = std::string("packed_") +
                     (decode ? "decode_8seqs_kv8192to64" : "prefill_causal_8seqs_2048to16") +
                     "_gqa32_8_" + dtypeName(dtype);
  char line[256];
  std::snprintf(line, sizeof line,
                "%s packed_us=%.1f padded_us=%.1f per_sequence_us=%.1f ratio=%.3f "
                "vs_per_sequence=%.3f",
                name.c_str(), bestPacked * 1e6, bestPadded * 1e6, bestLoop * 1e6,
                bestPacked / bestPadded, bestPacked / bestLoop);
  summary()[name] = line;
}

/// Cold JIT compile (fresh problem, no disk cache) and in-memory cache hit latency, medians.
void BM_JitLatency(benchmark::State &state) {
  attn_context_options options;
  (void)attn_context_options_init(&options);
  options.disk_cache = 0;
  options.num_threads = 1;
  attn_context *ctx = nullptr;
  if (attn_context_create(&options, &ctx) != ATTN_STATUS_SUCCESS) {
    state.SkipWithError(attn_last_error());
    return;
  }
  std::vector<double> cold, hit;
  int serial = 0;
  for (auto _ : state) {
    attn_problem p;
    (void)attn_problem_init(&p);
    p.heads_q = 8;
    p.heads_kv = 2;
    p.head_dim = p.head_dim_v = 128;
    p.causal = 1;
    p.scale = 0.1 + 1e-6 * ++serial; // a new problem each time: a real compile
    attn_kernel *kernel = nullptr;
    auto t0 = std::chrono::steady_clock::now();
    if (attn_kernel_create(ctx, &p, &kernel) != ATTN_STATUS_SUCCESS) {
      state.SkipWithError(attn_last_error());
      break;
    }
    cold.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    for (int i = 0; i < 20; ++i) {
      attn_kernel *again = nullptr;
      auto t1 = std::chrono::steady_clock::now();
      (void)attn_kernel_create(ctx, &p, &again);
      hit.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
      (void)attn_kernel_destroy(again);
    }
    (void)attn_kernel_destroy(kernel);
  }
  (void)attn_context_destroy(ctx);
  if (cold.empty())
    return;
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  state.counters["cold_ms"] = median(cold) * 1e3;
  state.counters["hit_us"] = median(hit) * 1e6;
  char line[256];
  std::snprintf(line, sizeof line,
                "jit_latency cold_compile_median_ms=%.1f cache_hit_median_us=%.2f",
                median(cold) * 1e3, median(hit) * 1e6);
  summary()["jit_latency"] = line;
}

void denseArgs(benchmark::internal::Benchmark *b) {
  for (int dtype : {ATTN_DTYPE_F32, ATTN_DTYPE_BF16})
    for (int64_t s : {512, 1024, 2048, 4096, 8192, 16384})
      for (int64_t d : {64, 128})
        for (int causal : {0, 1})
          b->Args({dtype, s, d, causal});
  // f16: no f16 products on these CPUs (AVX512-FP16 is Sapphire Rapids' and later): converted to
  // f32 on load, so bound by the f32 kernel; two lengths are enough to show it.
  for (int64_t s : {2048, 8192})
    for (int causal : {0, 1})
      b->Args({ATTN_DTYPE_F16, s, 128, causal});
}

} // namespace

BENCHMARK(BM_Dense)
    ->Apply(denseArgs)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_SlidingWindow)
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {512, 2048, 8192, 16384}, {64, 128}, {512}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_Linear)
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {512, 2048, 8192, 16384}, {64, 128}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_DecodeGQA)
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {512, 2048, 8192, 16384}, {64, 128}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(20);
BENCHMARK(BM_PagedKV) // decode
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {0}, {4096, 16384}, {1, 16, 64, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(20);
BENCHMARK(BM_PagedKV) // chunked prefill
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {1}, {4096}, {1, 16, 64, 256}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);
BENCHMARK(BM_Packed) // decode, prefill
    ->ArgsProduct({{ATTN_DTYPE_F32, ATTN_DTYPE_BF16}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond)
    ->Iterations(10);
/// The runtime metrics' cost: the same decode launch on a context with metrics off, on, and on
/// with output health (non-finite counts, a second read of O and LSE), interleaved round by
/// round so that the machine's drift hits all three alike; medians, and on ÷ off as the ratio
/// (single-threaded launches).
void BM_MetricsOverhead(benchmark::State &state) {
  int64_t skv = state.range(0), batch = 4;
  attn_problem p = gqa32x8(ATTN_DTYPE_F32, /*causal=*/false);
  p.return_lse = 1;
  attn_context *contexts[3] = {};
  attn_kernel *kernels[3] = {};
  for (int i = 0; i < 3; ++i) {
    attn_context_options options;
    (void)attn_context_options_init(&options);
    // One thread, no pool: three pools on two cores would disturb each other more than the
    // metrics cost.
    options.num_threads = 1;
    options.metrics = i > 0;
    if (attn_context_create(&options, &contexts[i]) != ATTN_STATUS_SUCCESS ||
        attn_kernel_create(contexts[i], &p, &kernels[i]) != ATTN_STATUS_SUCCESS ||
        (i == 2 &&
         attn_kernel_set_health(kernels[i], ATTN_HEALTH_NONFINITE) != ATTN_STATUS_SUCCESS)) {
      state.SkipWithError(attn_last_error());
      return;
    }
  }
  Buffers buffers(p, batch, 1, skv);
  std::vector<float> lse(size_t(batch * p.heads_q));
  buffers.args.lse = lse.data();
  std::vector<double> times[3];
  for (auto _ : state)
    for (int round = 0; round < 200; ++round)
      for (int i = 0; i < 3; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        (void)attn_kernel_launch(kernels[i], &buffers.args);
        times[i].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
  double median[3];
  for (int i = 0; i < 3; ++i) {
    std::sort(times[i].begin(), times[i].end());
    median[i] = times[i][times[i].size() / 2];
    (void)attn_kernel_destroy(kernels[i]);
    (void)attn_context_destroy(contexts[i]);
  }
  state.counters["off_us"] = median[0] * 1e6;
  state.counters["on_ratio"] = median[1] / median[0];
  state.counters["health_ratio"] = median[2] / median[0];
  char line[256];
  std::snprintf(line, sizeof line,
                "metrics_overhead_decode_gqa32_8_B4_Skv%lld off_us=%.1f on_us=%.1f "
                "health_us=%.1f ratio=%.4f health_ratio=%.4f",
                static_cast<long long>(skv), median[0] * 1e6, median[1] * 1e6, median[2] * 1e6,
                median[1] / median[0], median[2] / median[0]);
  summary()["metrics_overhead_" + std::to_string(skv)] = line;
}

BENCHMARK(BM_MetricsOverhead)->Arg(256)->Arg(4096)->Iterations(1)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_JitLatency)->Iterations(5)->Unit(benchmark::kMillisecond);

int main(int argc, char **argv) {
  // The sgemm reference must be the best sgemm the host runs. OpenBLAS takes its kernels from
  // OPENBLAS_CORETYPE when set (machines here set it to Haswell) and otherwise from its own
  // detection, which in 0.3.21 (bookworm) does not know AMD Zen 5: either way AVX2 kernels on an
  // AVX-512 host, half of Zen 5's or Sapphire Rapids' sgemm, which would inflate every ratio. So
  // where the host has AVX-512 and OpenBLAS runs a core without it, restart once with its AVX-512
  // kernels (the variable is read when the library loads); ATTNC_BENCH_OPENBLAS_AS_IS=1 keeps it.
  std::string core = openblas_get_corename();
  bool avx512Core = core.find("kylakex") != std::string::npos ||
                    core.find("ooperlake") != std::string::npos ||
                    core.find("apphire") != std::string::npos;
  if (__builtin_cpu_supports("avx512f") && !avx512Core &&
      !std::getenv("ATTNC_BENCH_OPENBLAS_AS_IS")) {
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1);
    setenv("ATTNC_BENCH_OPENBLAS_AS_IS", "1", 1); // once
    execv("/proc/self/exe", argv);
    std::perror("restarting with OPENBLAS_CORETYPE=SkylakeX");
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv))
    return 1;
  std::printf("threads=%d sgemm_2048_gflops=%.1f (OpenBLAS %s) memcpy_GB/s=%.2f\n", threads(),
              sgemmGflops(), openblas_get_corename(), memcpyBytesPerSecond() / 1e9);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::printf("\n== summary (each figure beside its reference from this run)\n");
  std::string headline;
  for (auto &[name, line] : summary()) {
    if (name == "dense_f32_B1_H8_S2048_D128")
      headline = line;
    else
      std::printf("%s\n", line.c_str());
  }
  if (!headline.empty()) // the last line: the headline figure
    std::printf("%s\n", headline.substr(0, headline.find(" best_ms")).c_str());
  (void)attn_context_destroy(context());
  return 0;
}
