//===- ConcurrencyTest.cpp - one context used from many threads -----------===//
//
// SPEC section 6: a context may be used from many threads at once, and
// compiling the same kernel concurrently compiles it once. Needs the compiler
// plugin (skips without it).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace {

using namespace attn::rttest;

// Releases every waiting thread at once, so their calls overlap.
class StartGate {
public:
  void wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    opened_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = true;
    }
    opened_.notify_all();
  }

private:
  std::mutex mutex_;
  std::condition_variable opened_;
  bool open_ = false;
};

attn_context_stats stats(attn_context *context) {
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(attn_context_get_stats(context, &stats), ATTN_STATUS_SUCCESS);
  return stats;
}

TEST(Concurrency, SixteenThreadsCreateOneKernelOnce) {
  constexpr int kThreads = 16;
  ContextPtr context = makeContext(2); // no disk cache: the one create must compile
  attn_problem problem = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  problem.causal = 1;
  problem.return_lse = 1;

  StartGate gate;
  std::vector<attn_kernel *> kernels(kThreads, nullptr);
  std::vector<attn_status> statuses(kThreads, ATTN_STATUS_INTERNAL_ERROR);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      gate.wait();
      statuses[t] = attn_kernel_create(context.get(), &problem, &kernels[t]);
      errors[t] = attn_last_error();
    });
  gate.open();
  for (std::thread &thread : threads)
    thread.join();
  std::vector<KernelPtr> owned;
  for (attn_kernel *kernel : kernels)
    owned.emplace_back(kernel);
  if (isNoPluginError(statuses[0], errors[0].c_str()))
    GTEST_SKIP() << errors[0];
  for (int t = 0; t < kThreads; ++t)
    ASSERT_EQ(statuses[t], ATTN_STATUS_SUCCESS) << "thread " << t << ": " << errors[t];

  attn_context_stats counts = stats(context.get());
  EXPECT_EQ(counts.kernels_compiled, 1);
  EXPECT_EQ(counts.memory_cache_hits, kThreads - 1);
  EXPECT_EQ(counts.disk_cache_hits, 0);

  // Every handle works, all launching at once on the shared pool.
  StartGate launchGate;
  threads.clear();
  std::vector<CaseResult> results(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      AttentionCase c;
      c.problem = problem;
      c.batch = 1 + t % 2;
      c.seqQ = 3 + t;
      c.seqKv = 9 + 2 * t;
      c.seed = 100 + t;
      launchGate.wait();
      results[t] = runCase(kernels[t], c);
    });
  launchGate.open();
  for (std::thread &thread : threads)
    thread.join();
  for (int t = 0; t < kThreads; ++t) {
    SCOPED_TRACE(t);
    expectAccurate(results[t], problem.dtype);
  }
}

// Different problems compile concurrently, each once; repeated launches from many application
// threads share one pool (several parallel-fors in flight at a time).
TEST(Concurrency, ManyProblemsManyLaunches) {
  constexpr int kThreads = 8;
  ContextPtr context = makeContext(3);
  StartGate gate;
  std::vector<std::thread> threads;
  std::vector<CaseResult> results(kThreads * 3);
  std::vector<attn_status> statuses(kThreads, ATTN_STATUS_INTERNAL_ERROR);
  std::vector<std::string> errors(kThreads);
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      attn_problem problem =
          makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 2 * (t % 4 + 1), 2, 64, 64);
      problem.causal = t / 4;
      gate.wait();
      attn_kernel *kernel = nullptr;
      statuses[t] = attn_kernel_create(context.get(), &problem, &kernel);
      errors[t] = attn_last_error();
      if (statuses[t] != ATTN_STATUS_SUCCESS)
        return;
      KernelPtr owned(kernel);
      for (int r = 0; r < 3; ++r) {
        AttentionCase c;
        c.problem = problem;
        c.batch = 2;
        c.seqQ = 5 + 11 * r;
        c.seqKv = 17 + 13 * r;
        c.seed = 1000 + 10 * t + r;
        results[t * 3 + r] = runCase(kernel, c);
      }
    });
  gate.open();
  for (std::thread &thread : threads)
    thread.join();
  if (isNoPluginError(statuses[0], errors[0].c_str()))
    GTEST_SKIP() << errors[0];
  for (int t = 0; t < kThreads; ++t)
    ASSERT_EQ(statuses[t], ATTN_STATUS_SUCCESS) << "thread " << t << ": " << errors[t];
  for (size_t i = 0; i < results.size(); ++i) {
    SCOPED_TRACE(i);
    expectAccurate(results[i], ATTN_DTYPE_F32);
  }
  attn_context_stats counts = stats(context.get());
  EXPECT_EQ(counts.kernels_compiled, kThreads);
  EXPECT_EQ(counts.memory_cache_hits, 0);
}

} // namespace
