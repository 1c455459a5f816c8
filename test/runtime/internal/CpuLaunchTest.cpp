//===- CpuLaunchTest.cpp - what the CPU launch hands the entry points -----===//
//
// Entry points that only record their arguments stand in for compiled code:
// these tests check the memref descriptors, the params, the item ranges and
// the split-KV decision without the compiler plugin.
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
#include <mutex>
#include <string>
#include <vector>

namespace {

using namespace attn::rt;

struct Call {
  std::string entry;
  attn_memref4 a, b, c, d; // softmax: q k v o; merge: o_parts, o; linear: q k v o
  attn_memref3 lse, entropy;
  attn_memref1 seqlensQ, seqlensKv;
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

void softmaxCall(const char *entry, attn_memref4 *q, attn_memref4 *k, attn_memref4 *v,
                 attn_memref4 *o, attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *sq,
                 attn_memref1 *skv, attn_memref1 *params) {
  record(Call{entry, *q, *k, *v, *o, *lse, *entropy, *sq, *skv, {}}, params);
}
void recordMain(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *sq, attn_memref1 *skv,
                attn_memref1 *params) {
  softmaxCall("main", q, k, v, o, lse, entropy, sq, skv, params);
}
void recordPartial(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                   attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *sq, attn_memref1 *skv,
                   attn_memref1 *params) {
  softmaxCall("partial", q, k, v, o, lse, entropy, sq, skv, params);
}
void recordMerge(attn_memref4 *oParts, attn_memref3 *lseParts, attn_memref4 *o, attn_memref3 *lse,
                 attn_memref1 *sq, attn_memref1 *params) {
  record(Call{"merge", *oParts, *o, {}, {}, *lseParts, *lse, *sq, {}, {}}, params);
}
void recordLinear(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                  attn_memref1 *sq, attn_memref1 *skv, attn_memref1 *params) {
  record(Call{"linear", *q, *k, *v, *o, {}, {}, *sq, *skv, {}}, params);
}

class CpuLaunch : public ::testing::Test {
protected:
  void SetUp() override { calls.clear(); }

  // Launches a recording kernel for problem with blockQ on a context of `threads`.
  void launch(attn_problem problem, int64_t batch, int64_t seqQ, int64_t seqKv, int32_t threads,
              bool seqlens = false) {
    problem = validateProblem(&problem);
    attn_context_options options;
    ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
    options.num_threads = threads;
    ContextState context(&options);
    attn_jit_kernel entry{};
    entry.struct_size = sizeof(entry);
    entry.softmax_main = recordMain;
    entry.softmax_partial = recordPartial;
    entry.merge = recordMerge;
    entry.linear = recordLinear;
    entry.block_q = 16;
    entry.block_k = 64;
    static const Plugin noPlugin; // entry.handle is NULL: nothing to release
    CompiledKernel kernel(problem, entry, noPlugin);

    const int64_t Hq = problem.heads_q, Hkv = problem.heads_kv;
    q_.assign(batch * seqQ * Hq * problem.head_dim, 0.f);
    k_.assign(batch * seqKv * Hkv * problem.head_dim, 0.f);
    v_.assign(batch * seqKv * Hkv * problem.head_dim_v, 0.f);
    o_.assign(batch * seqQ * Hq * problem.head_dim_v, 0.f);
    lse_.assign(batch * Hq * seqQ, 0.f);
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

  std::vector<float> q_, k_, v_, o_, lse_;
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

TEST_F(CpuLaunch, PrefillCallsMainOverEveryItem) {
  launch(softmaxProblem(6, 2), /*batch=*/2, /*seqQ=*/33, /*seqKv=*/40, /*threads=*/3);
  std::vector<Call> main = callsTo("main");
  ASSERT_EQ(main.size(), calls.size());
  expectCovers(main, 2 * 2 * 3); // B * Hkv * ceil(33 / 16)
  const Call &call = main.front();
  expectMemref(call.a, q_.data(), {2, 33, 6, 64}, args_.q.strides);
  expectMemref(call.b, k_.data(), {2, 40, 2, 64}, args_.k.strides);
  expectMemref(call.c, v_.data(), {2, 40, 2, 32}, args_.v.strides);
  expectMemref(call.d, o_.data(), {2, 33, 6, 32}, args_.o.strides);
  EXPECT_EQ(call.lse.sizes[0], 0) << "absent LSE is an empty descriptor";
  EXPECT_EQ(call.entropy.sizes[0], 0);
  EXPECT_EQ(call.seqlensQ.sizes[0], 1) << "absent seqlens are a one-element dummy";
  EXPECT_NE(call.seqlensQ.aligned, nullptr);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_Q], 0);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_KV], 0);
  EXPECT_EQ(call.params[ATTN_PARAM_NUM_SPLITS], 1);
}

TEST_F(CpuLaunch, SeqlensAndLseReachTheKernel) {
  attn_problem problem = softmaxProblem(4, 4);
  problem.return_lse = 1;
  launch(problem, 3, 5, 9, 2, /*seqlens=*/true);
  std::vector<Call> main = callsTo("main");
  expectCovers(main, 3 * 4 * 1);
  const Call &call = main.front();
  EXPECT_EQ(call.seqlensQ.aligned, seqlensQ_.data());
  EXPECT_EQ(call.seqlensQ.sizes[0], 3);
  EXPECT_EQ(call.seqlensKv.aligned, seqlensKv_.data());
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_Q], 1);
  EXPECT_EQ(call.params[ATTN_PARAM_HAS_SEQLENS_KV], 1);
  EXPECT_EQ(call.lse.aligned, lse_.data());
  EXPECT_EQ(call.lse.sizes[0], 3);
  EXPECT_EQ(call.lse.sizes[1], 4);
  EXPECT_EQ(call.lse.sizes[2], 5);
  EXPECT_EQ(call.lse.strides[0], 20);
  EXPECT_EQ(call.lse.strides[1], 5);
  EXPECT_EQ(call.lse.strides[2], 1);
}

// Decode: 1 item for 4 threads and 2048 keys -> 4 splits, partial then merge.
TEST_F(CpuLaunch, DecodeSplitsTheKvAxis) {
  attn_problem problem = softmaxProblem(4, 1);
  problem.return_lse = 1;
  launch(problem, 1, 1, 2048, 4, /*seqlens=*/true);
  std::vector<Call> partial = callsTo("partial"), merge = callsTo("merge");
  ASSERT_EQ(partial.size() + merge.size(), calls.size());
  expectCovers(partial, 4 * 1);
  expectCovers(merge, 1 * 1); // B * Sq
  const Call &p = partial.front();
  EXPECT_EQ(p.params[ATTN_PARAM_NUM_SPLITS], 4);
  const int64_t workspaceStrides[4] = {1 * 4 * 32, 4 * 32, 32, 1};
  expectMemref(p.d, p.d.aligned, {4, 1, 4, 32}, workspaceStrides);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p.d.aligned) % 64, 0u);
  EXPECT_EQ(p.lse.sizes[0], 4);
  EXPECT_EQ(p.lse.sizes[1], 4);
  EXPECT_EQ(p.lse.sizes[2], 1);
  EXPECT_EQ(p.entropy.sizes[0], 0);
  const Call &m = merge.front();
  EXPECT_EQ(m.a.aligned, p.d.aligned) << "merge reads the partial outputs";
  EXPECT_EQ(m.lse.aligned, p.lse.aligned);
  expectMemref(m.b, o_.data(), {1, 1, 4, 32}, args_.o.strides);
  EXPECT_EQ(m.entropy.aligned, lse_.data()) << "merge writes the caller's LSE";
  EXPECT_EQ(m.params[ATTN_PARAM_NUM_SPLITS], 4);
  EXPECT_EQ(m.params[ATTN_PARAM_HAS_SEQLENS_Q], 1);
  EXPECT_EQ(m.seqlensQ.aligned, seqlensQ_.data());
}

TEST_F(CpuLaunch, NoSplitWithEntropyOneThreadOrShortKv) {
  attn_problem entropy = softmaxProblem(4, 1);
  entropy.return_lse = 1;
  entropy.return_entropy = 1;
  launch(entropy, 1, 1, 4096, 4);
  EXPECT_EQ(callsTo("main").size(), calls.size());
  calls.clear();
  launch(softmaxProblem(4, 1), 1, 1, 4096, 1);
  EXPECT_EQ(callsTo("main").size(), calls.size());
  calls.clear();
  launch(softmaxProblem(4, 1), 1, 1, 1023, 4);
  EXPECT_EQ(callsTo("main").size(), calls.size());
}

TEST_F(CpuLaunch, LinearItemsAreBatchTimesKvHeads) {
  attn_problem problem = softmaxProblem(4, 2);
  problem.variant = ATTN_VARIANT_LINEAR;
  launch(problem, 3, 70, 2048, 2);
  std::vector<Call> linear = callsTo("linear");
  ASSERT_EQ(linear.size(), calls.size());
  expectCovers(linear, 3 * 2);
  expectMemref(linear.front().d, o_.data(), {3, 70, 4, 32}, args_.o.strides);
  EXPECT_EQ(linear.front().params[ATTN_PARAM_NUM_SPLITS], 1);
}

TEST(WorkSplit, Decisions) {
  EXPECT_EQ(softmaxItems(2, 4, 33, 16), 2 * 4 * 3);
  EXPECT_EQ(chooseNumSplits(1, 4, 2048, false), 4);    // ceil(8 / 1) clamped to 2048 / 512
  EXPECT_EQ(chooseNumSplits(1, 16, 65536, false), 32); // ceil(32 / 1)
  EXPECT_EQ(chooseNumSplits(3, 16, 65536, false), 11); // ceil(32 / 3)
  EXPECT_EQ(chooseNumSplits(15, 8, 65536, false), 2);  // at least 2
  EXPECT_EQ(chooseNumSplits(16, 8, 65536, false), 1);  // enough items already
  EXPECT_EQ(chooseNumSplits(1, 8, 1023, false), 1);    // KV too short
  EXPECT_EQ(chooseNumSplits(1, 8, 1024, false), 2);    // at most seq_kv / 512
  EXPECT_EQ(chooseNumSplits(1, 8, 65536, true), 1);    // entropy is never split
  EXPECT_EQ(chooseNumSplits(1, 1, 65536, false), 1);   // one thread gains nothing
}

} // namespace
