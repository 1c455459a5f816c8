//===- ThreadPoolTest.cpp - the built-in pool's scheduling ----------------===//

#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace {

using attn::rt::ThreadPool;

struct Coverage {
  std::vector<std::atomic<int>> hits;
  explicit Coverage(int64_t n) : hits(n) {}
  static void task(void *self, int64_t begin, int64_t end) {
    auto *coverage = static_cast<Coverage *>(self);
    EXPECT_EQ(end, begin + 1) << "the pool hands out one item at a time";
    for (int64_t i = begin; i < end; ++i)
      coverage->hits[i].fetch_add(1);
  }
  bool eachOnce() const {
    for (const auto &hit : hits)
      if (hit.load() != 1)
        return false;
    return true;
  }
};

TEST(ThreadPool, EachItemRunsOnce) {
  for (int threads : {1, 2, 4, 7}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 2, 3, 100, 1000}) {
      Coverage coverage(n);
      pool.parallelFor(n, &Coverage::task, &coverage);
      EXPECT_TRUE(coverage.eachOnce()) << threads << " threads, n = " << n;
    }
  }
}

struct ThreadRecorder {
  std::mutex mutex;
  std::set<std::thread::id> ids;
  static void task(void *self, int64_t, int64_t) {
    auto *recorder = static_cast<ThreadRecorder *>(self);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
    std::lock_guard<std::mutex> lock(recorder->mutex);
    recorder->ids.insert(std::this_thread::get_id());
  }
};

TEST(ThreadPool, SingleThreadRunsOnTheCaller) {
  ThreadPool pool(1);
  ThreadRecorder recorder;
  pool.parallelFor(20, &ThreadRecorder::task, &recorder);
  ASSERT_EQ(recorder.ids.size(), 1u);
  EXPECT_EQ(*recorder.ids.begin(), std::this_thread::get_id());
}

TEST(ThreadPool, WorkersAndCallerShareTheItems) {
  ThreadPool pool(4);
  ThreadRecorder recorder;
  pool.parallelFor(200, &ThreadRecorder::task, &recorder);
  EXPECT_GE(recorder.ids.size(), 2u);
  EXPECT_LE(recorder.ids.size(), 4u);
}

// Several application threads run parallel-fors on one pool at the same time.
TEST(ThreadPool, ConcurrentParallelFors) {
  ThreadPool pool(3);
  constexpr int kCallers = 6, kRounds = 30;
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&, c] {
      for (int round = 0; round < kRounds; ++round) {
        Coverage coverage(1 + (c * 37 + round * 11) % 300);
        pool.parallelFor(static_cast<int64_t>(coverage.hits.size()), &Coverage::task, &coverage);
        if (!coverage.eachOnce())
          failures.fetch_add(1);
      }
    });
  for (std::thread &caller : callers)
    caller.join();
  EXPECT_EQ(failures.load(), 0);
}

// A pool that is idle, or never used, shuts down promptly.
TEST(ThreadPool, DestroyIdlePool) {
  for (int i = 0; i < 20; ++i) {
    ThreadPool pool(4);
    if (i % 2) {
      Coverage coverage(10);
      pool.parallelFor(10, &Coverage::task, &coverage);
    }
  }
}

} // namespace
