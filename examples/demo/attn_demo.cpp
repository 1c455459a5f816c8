//===- attn_demo.cpp - the README's main job ------------------------------===//
//
// JIT-compiles one kernel per attention variant through the public C API, runs it on fresh random
// inputs, and prints the variant, shape, time, GFLOP/s and the error against the float64 oracle.
//
//===----------------------------------------------------------------------===//

#include "ConformanceHarness.h"

#include <chrono>
#include <cstdio>

using namespace attn::conformance;

namespace {

struct Row {
  Case c;
  double flops; // useful FLOPs of one launch (SPEC §7 conventions)
};

double densePairs(int64_t sq, int64_t skv, bool causal, int64_t left, int64_t right) {
  double pairs = 0;
  for (int64_t i = 0; i < sq; ++i) {
    int64_t p = i + skv - sq;
    int64_t lo = left >= 0 ? std::max<int64_t>(0, p - left) : 0;
    int64_t hi = causal       ? std::min(p, skv - 1)
                 : right >= 0 ? std::min(p + right, skv - 1)
                              : skv - 1;
    pairs += hi >= lo ? double(hi - lo + 1) : 0.0;
  }
  return pairs;
}

Row softmax(const char *name, attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d, int64_t b,
            int64_t sq, int64_t skv, int causal, int64_t left, int64_t right) {
  Row row;
  row.c.name = name;
  row.c.problem = softmaxProblem(dtype, hq, hkv, d, d);
  row.c.problem.causal = causal;
  row.c.problem.window_left = left;
  row.c.problem.window_right = right;
  row.c.batch = b;
  row.c.seqQ = sq;
  row.c.seqKv = skv;
  row.c.timedLaunches = 3;
  row.flops = 4.0 * b * hq * d * densePairs(sq, skv, causal, left, right);
  return row;
}

const char *dtypeName(attn_dtype dtype) {
  return dtype == ATTN_DTYPE_F32 ? "f32" : dtype == ATTN_DTYPE_F16 ? "f16" : "bf16";
}

} // namespace

int main() {
  int32_t major, minor, patch;
  if (attn_get_version(&major, &minor, &patch) != ATTN_STATUS_SUCCESS)
    return 1;
  attn_context *context = nullptr;
  if (attn_context_create(nullptr, &context) != ATTN_STATUS_SUCCESS) {
    std::fprintf(stderr, "attn_context_create: %s\n", attn_last_error());
    return 1;
  }
  std::vector<Row> rows;
  rows.push_back(softmax("dense", ATTN_DTYPE_F32, 8, 8, 64, 1, 512, 512, 0, -1, -1));
  rows.push_back(softmax("causal", ATTN_DTYPE_BF16, 8, 8, 128, 1, 512, 512, 1, -1, -1));
  Row globals =
      softmax("sliding_window+globals", ATTN_DTYPE_F16, 8, 8, 64, 1, 1024, 1024, 1, 127, -1);
  globals.c.problem.global_tokens = 4; // 4 more keys per row: within rounding of the flops
  rows.push_back(globals);
  // gpt-oss's layers: a sliding window of 128 with learned per-head sink logits, GQA 64/8.
  Row gptOss =
      softmax("window+sinks(gpt-oss)", ATTN_DTYPE_BF16, 64, 8, 64, 1, 512, 512, 1, 127, -1);
  gptOss.c.problem.sinks = 1;
  rows.push_back(gptOss);
  Row alibi = softmax("causal+alibi(bloom)", ATTN_DTYPE_F32, 8, 8, 64, 1, 512, 512, 1, -1, -1);
  alibi.c.problem.alibi = 1;
  rows.push_back(alibi);
  Row band = softmax("band+globals", ATTN_DTYPE_F32, 4, 4, 64, 1, 1024, 1024, 0, 64, 64);
  band.c.problem.global_tokens = 16;
  rows.push_back(band);
  Row gqa = softmax("gqa+softcap+lse+entropy", ATTN_DTYPE_BF16, 16, 4, 128, 2, 256, 256, 1, -1, -1);
  gqa.c.problem.softcap = 30.0;
  gqa.c.problem.return_lse = 1;
  gqa.c.problem.return_entropy = 1;
  rows.push_back(gqa);
  Row decode = softmax("mqa_decode(split-kv)", ATTN_DTYPE_F32, 16, 1, 128, 1, 1, 8192, 0, -1, -1);
  decode.c.problem.return_lse = 1;
  rows.push_back(decode);
  Row varlen = softmax("varlen_causal", ATTN_DTYPE_F16, 8, 2, 64, 3, 300, 300, 1, -1, -1);
  varlen.c.seqlensQ = {300, 100, 7};
  varlen.c.seqlensKv = {300, 250, 7};
  varlen.flops = 4.0 * 8 * 64 *
                 (densePairs(300, 300, true, -1, -1) + densePairs(100, 250, true, -1, -1) +
                  densePairs(7, 7, true, -1, -1));
  rows.push_back(varlen);
  Row linear;
  linear.c.name = "linear_causal(elu+1)";
  linear.c.problem = linearProblem(ATTN_DTYPE_F32, 8, 8, 64, 64);
  linear.c.problem.causal = 1;
  linear.c.batch = 1;
  linear.c.seqQ = linear.c.seqKv = 2048;
  linear.c.timedLaunches = 3;
  linear.flops = 4.0 * 8 * 2048 * 64 * 64;
  rows.push_back(linear);

  std::printf("attnc %d.%d.%d: JIT-compiling and running one CPU kernel per variant\n\n", major,
              minor, patch);
  std::printf("%-26s %-5s %-22s %9s %9s %10s %9s %s\n", "variant", "dtype",
              "shape B,Sq,Skv,Hq/Hkv,D", "jit(ms)", "run(ms)", "GFLOP/s", "error", "");
  bool allOk = true;
  for (const Row &row : rows) {
    const attn_problem &p = row.c.problem;
    char shape[64];
    std::snprintf(shape, sizeof shape, "%lld,%lld,%lld,%lld/%lld,%lld", (long long)row.c.batch,
                  (long long)row.c.seqQ, (long long)row.c.seqKv, (long long)p.heads_q,
                  (long long)p.heads_kv, (long long)p.head_dim);
    // Time the compile on its own: the harness's create is then a cache hit.
    attn_kernel *kernel = nullptr;
    auto start = std::chrono::steady_clock::now();
    attn_status status = attn_kernel_create(context, &p, &kernel);
    double jitMs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() * 1e3;
    if (status != ATTN_STATUS_SUCCESS) {
      std::printf("%-26s compile failed: %s\n", row.c.name.c_str(), attn_last_error());
      allOk = false;
      continue;
    }
    Outcome outcome = run(context, row.c, 7);
    (void)attn_kernel_destroy(kernel);
    std::printf("%-26s %-5s %-22s %9.1f %9.3f %10.1f %9.2e %s\n", row.c.name.c_str(),
                dtypeName(p.dtype), shape, jitMs, outcome.seconds * 1e3,
                row.flops / outcome.seconds / 1e9, outcome.error,
                outcome.ok ? "ok" : outcome.message.c_str());
    allOk = allOk && outcome.ok;
  }
  attn_context_stats stats;
  stats.struct_size = sizeof stats;
  if (attn_context_get_stats(context, &stats) == ATTN_STATUS_SUCCESS)
    std::printf("\nkernels compiled: %lld, loaded from the disk cache: %lld\n",
                (long long)stats.kernels_compiled, (long long)stats.disk_cache_hits);
  (void)attn_context_destroy(context);
  std::printf("errors are relative Frobenius norms against the float64 oracle (SPEC §4)\n");
  return allOk ? 0 : 1;
}
