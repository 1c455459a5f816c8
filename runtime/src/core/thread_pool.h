//===- thread_pool.h - the built-in CPU thread pool -----------------------===//
//
// A fixed set of workers that help whichever parallel-for is oldest. Items are
// handed out one at a time from an atomic counter (dynamic scheduling: work
// items of attention differ in cost, e.g. causal query blocks). The calling
// thread always works on its own loop too, so a pool of N threads has N - 1
// workers. Several application threads may run parallel-fors at once; idle
// workers sleep on a condition variable, never spin. Workers get stacks of at
// least kWorkerStackBytes whatever the process default: kernels keep their
// scratch buffers on the stack (compiler: kMaxStackScratchBytes).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_THREAD_POOL_H
#define ATTN_RUNTIME_CORE_THREAD_POOL_H

#include "attn/attn_runtime.h"

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <pthread.h>
#include <vector>

namespace attn::rt {

class ThreadPool {
public:
  static constexpr size_t kWorkerStackBytes = size_t(8) << 20;

  /// A pool whose parallel-fors run on up to numThreads threads (the caller
  /// included); numThreads <= 1 runs everything on the caller.
  explicit ThreadPool(int numThreads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  /// Calls task(taskCtx, i, i + 1) for every i in [0, n), concurrently, and
  /// returns when all calls have returned. task must not throw. Thread-safe.
  void parallelFor(int64_t n, attn_parallel_task_fn task, void *taskCtx);

private:
  struct Job;
  static void runItems(Job &job);
  void workerLoop();
  static void *workerMain(void *pool);
  void dropJob(Job *job); // requires mutex_
  void stop();            // wakes and joins every worker

  std::mutex mutex_;
  std::condition_variable workAvailable_;
  std::deque<Job *> jobs_; // parallel-fors that may still have unclaimed items
  bool stopping_ = false;
  std::vector<pthread_t> workers_;
};

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_THREAD_POOL_H
