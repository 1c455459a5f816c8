//===- CpuLaunchTest.cpp - what the CPU launch hands the entry points -----===//
//
// Entry points that only record their arguments stand in for compiled code:
// these tests check the memref descriptors, the params, the item ranges and
// the choice between softmax_main and softmax_decode + merge without the
// compiler plugin.
//
//===----------------------------------------------------------------------===//

#include "core/context.h"
#include "core/kernel_cache.h"
#include "core/plugin.h"
#include "core/problem.h"
#include "cpu/launch.h"
#include "cpu/work_split.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace attn::rt;

// One entry-point call; the descriptors an entry does not take stay zero.
struct Call {
  std::string entry;
  attn_memref4 q, k, v, o, oParts;
  attn_memref3 lse, entropy, lseParts;
  attn_memref1 seqlensQ, seqlensKv;
  attn_memref2 table;
  int64_t params[ATTN_PARAM_COUNT];
};

std::mutex callsMutex;
std::vector<Call> calls;

void record(Call call, const attn_memref1 *params) {
  EXPECT_EQ(params->sizes[0], ATTN_PARAM_COUNT);
  EXPECT_EQ(params->strides[0], 1);
  std::copy_n(static_cast<const int64_t *>(params->aligned), ATTN_PARAM_COUNT, call.params);
  std::lock_guard<std::mutex> lock(callsMutex);
  calls.push_back(call);
}

void recordMain(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *sq, attn_memref1 *skv,
                attn_memref2 *table, attn_memref1 *, attn_memref1 *, attn_memref1 *params) {
  Call call{};
  call.entry = "main";
  call.q = *q, call.k = *k, call.v = *v, call.o = *o;
  call.lse = *lse, call.entropy = *entropy;
  call.seqlensQ = *sq, call.seqlensKv = *skv, call.table = *table;
  record(call, params);
}
void recordDecode(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *oParts,
                  attn_memref3 *lseParts, attn_memref1 *sq, attn_memref1 *skv, attn_memref2 *table,
                  attn_memref1 *, attn_memref1 *, attn_memref1 *params) {
  Call call{};
  call.entry = "decode";
  call.q = *q, call.k = *k, call.v = *v, call.oParts = *oParts;
  call.lseParts = *lseParts;
  call.seqlensQ = *sq, call.seqlensKv = *skv, call.table = *table;
  record(call, params);
}
void recordMerge(attn_memref4 *oParts, attn_memref3 *lseParts, attn_memref4 *o, attn_memref3 *lse,
                 attn_memref1 *sq, attn_memref1 *params) {
  Call call{};
  call.entry = "merge";
  call.oParts = *oParts, call.lseParts = *lseParts;
  call.o = *o, call.lse = *lse;
  call.seqlensQ = *sq;
  record(call, params);
}
void recordLinear(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                  attn_memref1 *sq, attn_memref1 *skv, attn_memref1 *params) {
  Call call{};
  call.entry = "linear";
  call.q = *q, call.k = *k, call.v = *v, call.o = *o;
  call.seqlensQ = *sq, call.seqlensKv = *skv;
  record(call, params);
}

constexpr int64_t kDecodeMaxRows = 64; // the stand-in kernel's (the plugin's too)

class CpuLaunch : public ::testing::Test {
protected:
  void SetUp() override { calls.clear(); }

  // Launches a recording kernel for problem on a context of `threads`.
  void launch(attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv, int32_t threads,
              bool seqlens = false) {
    calls.clear();
    problem = validateProblem(&problem);
    attn_context_options options;
    ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.num_threads = threads;
    ContextState context(&options);
    attn_jit_kernel entry{};
    entry.struct_size = sizeof(entry);
    entry.softmax_main = recordMain;
    entry.softmax_decode = recordDecode;
    entry.merge = recordMerge;
    entry.linear = recordLinear;
    entry.block_q = 16;
    entry.block_k = 64;
    entry.decode_max_rows = kDecodeMaxRows;
    entry.split_keys = 256;
    static const Plugin noPlugin; // entry.handle is NULL: nothing to release
    CompiledKernel kernel(problem, entry, noPlugin);

    const int64_t Hq = problem.heads_q, Hkv = problem.heads_kv;
    q_.assign(batch * seqQ * Hq * problem.head_dim, 0.f);
    k_.assign(batch * seqKv * Hkv * problem.head_dim, 0.f);
    v_.assign(batch * seqKv * Hkv * problem.head_dim_v, 0.f);
    o_.assign(batch * seqQ * Hq * problem.head_dim_v, 0.f);
    lse_.assign(batch * Hq * seqQ, 0.f);
    entropy_.assign(batch * Hq * seqQ, 0.f);
    seqlensQ_.assign(batch, static_cast<int32_t>(seqQ));
    seqlensKv_.assign(batch, static_cast<int32_t>(seqKv));
    attn_launch_args args{};
    args.struct_size = sizeof(args);
    args.batch = batch;
    args.seq_q = seqQ;
    args.seq_kv = seqKv;
    args.q = {q_.data(),
              {seqQ * Hq * problem.head_dim, Hq * problem.head_dim, problem.head_dim, 1}};
    args.k = {k_.data(),
              {seqKv * Hkv * problem.head_dim, Hkv * problem.head_dim, problem.head_dim, 1}};
    // V in BHSD: strides that are not BSHD's must reach the kernel unchanged.
    args.v = {
        v_.data(),
        {Hkv * seqKv * problem.head_dim_v, problem.head_dim_v, seqKv * problem.head_dim_v, 1}};
    args.o = {o_.data(),
              {seqQ * Hq * problem.head_dim_v, Hq * problem.head_dim_v, problem.head_dim_v, 1}};
    args.lse = problem.return_lse ? lse_.data() : nullptr;
    args.entropy = problem.return_entropy ? entropy_.data() : nullptr;
    args.seqlens_q = seqlens ? seqlensQ_.data() : nullptr;
    args.seqlens_kv = seqlens ? seqlensKv_.data() : nullptr;
    launchOnCpu(context, kernel, args);
    args_ = args;
  }

  std::vector<Call> callsTo(const std::string &entry) const {
    std::vector<Call> selected;
    for (const Call &call : calls)
      if (call.entry == entry)
        selected.push_back(call);
    return selected;
  }

  // The calls' [begin, end) ranges cover [0, n) exactly once.
  static void expectCovers(const std::vector<Call> &selected, int64_t n) {
    std::vector<int> hits(n, 0);
    for (const Call &call : selected)
      for (int64_t i = call.params[ATTN_PARAM_ITEM_BEGIN]; i < call.params[ATTN_PARAM_ITEM_END];
           ++i) {
        ASSERT_GE(i, 0);
        ASSERT_LT(i, n);
        ++hits[i];
      }
    EXPECT_TRUE(std::all_of(hits.begin(), hits.end(), [](int h) { return h == 1; }));
  }

  // A decode launch: softmax_decode over numSplits * B (split, batch) items,
  // then merge over B * Sq, and nothing else. Returns the first call of each.
  void expectDecode(int64_t numSplits, int64_t batch, int64_t seqQ, Call &decode, Call &merge) {
    std::vector<Call> decodes = callsTo("decode"), merges = callsTo("merge");
    ASSERT_FALSE(decodes.empty());
    ASSERT_FALSE(merges.empty());
    ASSERT_EQ(decodes.size() + merges.size(), calls.size());
    // Every decode call returns before merge starts.
    auto firstMerge = std::find_if(calls.begin(), calls.end(),
                                   [](const Call &call) { return call.entry == "merge"; });
    EXPECT_EQ(firstMerge - calls.begin(), static_cast<std::ptrdiff_t>(decodes.size()));
    expectCovers(decodes, numSplits * batch);
    expectCovers(merges, batch * seqQ);
    for (const Call &call : calls)
      EXPECT_EQ(call.params[ATTN_PARAM_NUM_SPLITS], numSplits) << call.entry;
    decode = decodes.front();
    merge = merges.front();
  }

  // A softmax_main launch over B * Hkv * ceil(Sq / 16) items, unsplit.
  void expectMain(int64_t items) {
    std::vector<Call> main = callsTo("main");
    ASSERT_EQ(main.size(), calls.size()) << "only softmax_main runs";
    expectCovers(main, items);
    for (const Call &call : main)
      EXPECT_EQ(call.params[ATTN_PARAM_NUM_SPLITS], 1);
  }

  std::vector<float> q_, k_, v_, o_, lse_, entropy_;
  std::vector<int32_t> seqlensQ_, seqlensKv_;
  attn_launch_args args_{};
};

attn_problem softmaxProblem(int64_t hq, int64_t hkv) {
  attn_problem problem;
  EXPECT_EQ(attn_problem_init(&problem), ATTN_STATUS_SUCCESS);
  problem.heads_q = hq;
  problem.heads_kv = hkv;
  problem.head_dim_v = 32;
  return problem;
}

void expectMemref(const attn_memref4 &m, const void *data, std::vector<int64_t> sizes,
                  const int64_t *strides) {
  EXPECT_EQ(m.allocated, data);
  EXPECT_EQ(m.aligned, data);
  EXPECT_EQ(m.offset, 0);
  for (int d = 0; d < 4; ++d) {
    EXPECT_EQ(m.sizes[d], sizes[d]) << "dim " << d;
    EXPECT_EQ(m.strides[d], strides[d]) << "dim " << d;
  }
}

// A contiguous f32 [B, H, S] statistic (LSE, ENTROPY or lse_parts) at data.
void expectStatistic(const attn_memref3 &m, const void *data, int64_t b, int64_t h, int64_t s) {
  EXPECT_EQ(m.allocated, data);
  EXPECT_EQ(m.aligned, data);
  EXPECT_EQ(m.offset, 0);
  EXPECT_EQ(m.sizes[0], b);
  EXPECT_EQ(m.sizes[1], h);
  EXPECT_EQ(m.sizes[2], s);
  EXPECT_EQ(m.strides[0], h * s);
  EXPECT_EQ(m.strides[1], s);
  EXPECT_EQ(m.strides[2], 1);
}

bool cacheLineAligned(const void *data) { return reinterpret_cast<uintptr_t>(data) % 64 == 0; }

TEST_F(CpuLaunch, PrefillCallsMainOverEveryItem) {
  // Sq * Hq = 33 * 6 rows per batch entry: more than decode_max_rows.
  launch(softmaxProblem(6, 2), /*batch=*/2, /*seqQ=*/33, /*seqKv=*/40, /*threads=*/3);
  expectMain(2 * 2 * 3); // B * Hkv * ceil(33 / 16)
  const Call &call = calls.front();
  expectMemref(call.q, q_.data(), {2, 33, 6, 64}, args_.q.strides);
  expectMemref(call.k, k_.data(), {2, 40, 2, 64}, args_.k.strides);
  expectMemref(call.v, v_.data(), {2, 40, 2, 32}, args_.v.strides);
  expectMemref(call.o, o_.data(), {2, 33, 6, 32}, args_.o.strides);
  EXPECT_EQ(call.lse.sizes[0], 0) << "absent LSE is an empty descriptor";
  EXPECT_EQ(call.entropy.sizes[0], 0);
  EXPECT_EQ(call.seqlensQ.sizes[0], 1) << "absent seqlens are a one-element dummy";
  EXPECT_NE(call.seqlensQ.aligned, nullptr);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_Q], 0);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_KV], 0);
}

TEST_F(CpuLaunch, SeqlensAndLseReachMain) {
  attn_problem problem = softmaxProblem(4, 4);
  problem.return_lse = 1;
  launch(problem, 3, 20, 9, 2, /*seqlens=*/true);
  expectMain(3 * 4 * 2);
  const Call &call = calls.front();
  EXPECT_EQ(call.seqlensQ.aligned, seqlensQ_.data());
  EXPECT_EQ(call.seqlensQ.sizes[0], 3);
  EXPECT_EQ(call.seqlensKv.aligned, seqlensKv_.data());
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_Q], 1);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_KV], 1);
  expectStatistic(call.lse, lse_.data(), 3, 4, 20);
}

// Decode: 1 batch entry for 4 threads and 2048 keys -> ceil(8 / 1) = 8 splits
// (the kv heads do not count: an item covers all of them), 8 * 1 items.
TEST_F(CpuLaunch, DecodeSplitsTheKvAxisThenMerges) {
  attn_problem problem = softmaxProblem(4, 2);
  problem.return_lse = 1;
  launch(problem, 1, 1, 2048, 4, /*seqlens=*/true);
  Call d, m;
  ASSERT_NO_FATAL_FAILURE(expectDecode(8, 1, 1, d, m));
  expectMemref(d.q, q_.data(), {1, 1, 4, 64}, args_.q.strides);
  expectMemref(d.k, k_.data(), {1, 2048, 2, 64}, args_.k.strides);
  expectMemref(d.v, v_.data(), {1, 2048, 2, 32}, args_.v.strides);
  const int64_t partsStrides[4] = {1 * 4 * 32, 4 * 32, 32, 1};
  expectMemref(d.oParts, d.oParts.aligned, {8, 1, 4, 32}, partsStrides);
  expectStatistic(d.lseParts, d.lseParts.aligned, 8, 4, 1);
  EXPECT_TRUE(cacheLineAligned(d.oParts.aligned));
  EXPECT_TRUE(cacheLineAligned(d.lseParts.aligned));
  EXPECT_EQ(d.seqlensQ.aligned, seqlensQ_.data());
  EXPECT_EQ(d.seqlensKv.aligned, seqlensKv_.data());
  EXPECT_EQ(d.params[ATTN_PARAM_HAS_SEQLENS_Q], 1);
  EXPECT_EQ(d.params[ATTN_PARAM_HAS_SEQLENS_KV], 1);

  EXPECT_EQ(m.oParts.aligned, d.oParts.aligned) << "merge reads the decode outputs";
  expectMemref(m.oParts, d.oParts.aligned, {8, 1, 4, 32}, partsStrides);
  expectStatistic(m.lseParts, d.lseParts.aligned, 8, 4, 1);
  expectMemref(m.o, o_.data(), {1, 1, 4, 32}, args_.o.strides);
  expectStatistic(m.lse, lse_.data(), 1, 4, 1);
  EXPECT_EQ(m.seqlensQ.aligned, seqlensQ_.data());
  EXPECT_EQ(m.params[ATTN_PARAM_HAS_SEQLENS_Q], 1);
  EXPECT_EQ(m.params[ATTN_PARAM_HAS_SEQLENS_KV], 1);
}

// Decode takes every query row of every head of a batch entry: Sq * Hq = 8 * 8
// is decode_max_rows exactly; one more query row is too many (though a kv
// head's rows, 9 * 4, would still fit).
TEST_F(CpuLaunch, DecodeWhileSqTimesHqFits) {
  launch(softmaxProblem(8, 2), 2, 8, 2000, 4);
  Call d, m;
  // ceil(8 / 2) = 4 splits (at most ceil(2000 / 256) = 8): 4 * 2 items.
  ASSERT_NO_FATAL_FAILURE(expectDecode(4, 2, 8, d, m));
  const int64_t partsStrides[4] = {8 * 8 * 32, 8 * 32, 32, 1};
  expectMemref(d.oParts, d.oParts.aligned, {8, 8, 8, 32}, partsStrides);
  expectStatistic(d.lseParts, d.lseParts.aligned, 8, 8, 8);
  EXPECT_EQ(d.params[ATTN_PARAM_HAS_SEQLENS_Q], 0);
  EXPECT_EQ(d.seqlensQ.sizes[0], 1) << "absent seqlens are a one-element dummy";
  EXPECT_EQ(m.lse.sizes[0], 0) << "no LSE asked: merge gets an empty descriptor";
  expectStatistic(m.lseParts, d.lseParts.aligned, 8, 8, 8);
  expectMemref(m.o, o_.data(), {2, 8, 8, 32}, args_.o.strides);

  launch(softmaxProblem(8, 2), 2, 9, 2000, 4);
  expectMain(2 * 2 * 1); // B * Hkv * ceil(9 / 16)

  // One query row of 64 heads is decode_max_rows too; 65 heads are not.
  launch(softmaxProblem(64, 8), 1, 1, 300, 4);
  ASSERT_NO_FATAL_FAILURE(expectDecode(2, 1, 1, d, m)); // at most ceil(300 / 256) = 2
  launch(softmaxProblem(65, 13), 1, 1, 300, 4);
  expectMain(1 * 13 * 1);
}

TEST_F(CpuLaunch, EntropyAlwaysRunsMain) {
  attn_problem problem = softmaxProblem(4, 1);
  problem.return_lse = 1;
  problem.return_entropy = 1;
  launch(problem, 1, 1, 4096, 4);
  expectMain(1);
  expectStatistic(calls.front().lse, lse_.data(), 1, 4, 1);
  expectStatistic(calls.front().entropy, entropy_.data(), 1, 4, 1);
}

// Short KV or one thread: still decode + merge, with one split (one item per
// batch entry, whatever the kv heads).
TEST_F(CpuLaunch, OneThreadOrShortKvDecodesUnsplit) {
  Call d, m;
  launch(softmaxProblem(4, 2), 1, 1, 4096, 1);
  ASSERT_NO_FATAL_FAILURE(expectDecode(1, 1, 1, d, m));
  const int64_t partsStrides[4] = {4 * 32, 4 * 32, 32, 1};
  expectMemref(d.oParts, d.oParts.aligned, {1, 1, 4, 32}, partsStrides);
  launch(softmaxProblem(4, 2), 1, 1, 256, 4);
  ASSERT_NO_FATAL_FAILURE(expectDecode(1, 1, 1, d, m));
  launch(softmaxProblem(4, 2), 1, 1, 257, 4);
  ASSERT_NO_FATAL_FAILURE(expectDecode(2, 1, 1, d, m));
}

// Enough batch entries for the threads already (B = 2 * threads): one split.
// Many kv heads no longer count: an item covers all of them.
TEST_F(CpuLaunch, SplitsFollowTheBatchNotTheKvHeads) {
  Call d, m;
  launch(softmaxProblem(8, 8), 8, 2, 512, 4); // the keys would allow 2
  ASSERT_NO_FATAL_FAILURE(expectDecode(1, 8, 2, d, m));
  expectStatistic(d.lseParts, d.lseParts.aligned, 8, 8, 2);

  launch(softmaxProblem(8, 8), 2, 2, 4096, 4);
  ASSERT_NO_FATAL_FAILURE(expectDecode(4, 2, 2, d, m)); // ceil(8 / 2)
  expectStatistic(d.lseParts, d.lseParts.aligned, 4 * 2, 8, 2);
}

TEST_F(CpuLaunch, LinearItemsAreBatchTimesKvHeads) {
  attn_problem problem = softmaxProblem(4, 2);
  problem.variant = ATTN_VARIANT_LINEAR;
  launch(problem, 3, 70, 2048, 2);
  std::vector<Call> linear = callsTo("linear");
  ASSERT_EQ(linear.size(), calls.size());
  expectCovers(linear, 3 * 2);
  expectMemref(linear.front().o, o_.data(), {3, 70, 4, 32}, args_.o.strides);
  EXPECT_EQ(linear.front().params[ATTN_PARAM_NUM_SPLITS], 1);

  launch(problem, 1, 1, 2048, 4); // a decode shape: linear has no decode path
  linear = callsTo("linear");
  ASSERT_EQ(linear.size(), calls.size());
  expectCovers(linear, 1 * 2);
}

TEST(WorkSplit, SoftmaxItems) {
  EXPECT_EQ(softmaxItems(2, 4, 33, 16), 2 * 4 * 3);
  EXPECT_EQ(softmaxItems(1, 1, 1, 64), 1);
}

// usesDecode(seqQ, headsQ, decodeMaxRows, wantsEntropy): Sq * Hq <= decode_max_rows.
TEST(WorkSplit, UsesDecode) {
  EXPECT_TRUE(usesDecode(1, 32, 64, false));
  EXPECT_TRUE(usesDecode(8, 8, 64, false));  // exactly decode_max_rows
  EXPECT_FALSE(usesDecode(9, 8, 64, false)); // one query row more
  EXPECT_TRUE(usesDecode(1, 64, 64, false));
  EXPECT_FALSE(usesDecode(1, 65, 64, false)); // one head more
  EXPECT_FALSE(usesDecode(1, 1, 64, true));   // entropy never decodes
  EXPECT_FALSE(usesDecode(1, 1, 0, false));
  const int64_t huge = std::numeric_limits<int64_t>::max();
  EXPECT_FALSE(usesDecode(huge, 2, huge, false)) << "rows overflow int64";
}

// chooseDecodeSplits(batch, threads, seqKv, 256):
// clamp(ceil(2 * threads / B), 1, max(1, ceil(Skv / 256))); 1 on one thread.
TEST(WorkSplit, ChooseDecodeSplits) {
  EXPECT_EQ(chooseDecodeSplits(1, 4, 2048, 256), 8);
  EXPECT_EQ(chooseDecodeSplits(1, 16, 65536, 256), 32);
  EXPECT_EQ(chooseDecodeSplits(3, 16, 65536, 256), 11); // ceil(32 / 3)
  EXPECT_EQ(chooseDecodeSplits(3, 2, 65536, 256), 2);   // ceil(4 / 3)
  EXPECT_EQ(chooseDecodeSplits(7, 4, 65536, 256), 2);   // ceil(8 / 7)
  EXPECT_EQ(chooseDecodeSplits(8, 4, 65536, 256), 1);   // B = 2 * threads
  EXPECT_EQ(chooseDecodeSplits(32, 4, 65536, 256), 1);  // more batch entries than needed
  EXPECT_EQ(chooseDecodeSplits(1, 8, 1000, 256), 4);    // at most ceil(1000 / 256)
  EXPECT_EQ(chooseDecodeSplits(2, 8, 1000, 256), 4);
  EXPECT_EQ(chooseDecodeSplits(1, 8, 257, 256), 2);
  EXPECT_EQ(chooseDecodeSplits(1, 8, 256, 256), 1);
  EXPECT_EQ(chooseDecodeSplits(1, 8, 1, 256), 1);
  EXPECT_EQ(chooseDecodeSplits(1, 8, 0, 256), 1);     // no keys: still one split
  EXPECT_EQ(chooseDecodeSplits(1, 1, 65536, 256), 1); // one thread gains nothing
}

} // namespace
