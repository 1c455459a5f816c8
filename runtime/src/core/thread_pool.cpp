//===- thread_pool.cpp - the built-in CPU thread pool ---------------------===//

#include "core/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <system_error>

namespace attn::rt {

// One parallel-for. It lives on its caller's stack: the caller returns only
// once no worker holds it (helpers == 0) and it is out of the queue.
struct ThreadPool::Job {
  attn_parallel_task_fn task;
  void *taskCtx;
  int64_t n;
  std::atomic<int64_t> next{0}; // the next unclaimed item
  int helpers = 0;              // workers inside runItems; guarded by mutex_
  std::condition_variable helpersDone;
};

ThreadPool::ThreadPool(int numThreads) {
  pthread_attr_t attr;
  if (int rc = pthread_attr_init(&attr))
    throw std::system_error(rc, std::generic_category(), "pthread_attr_init");
  size_t stack = 0;
  if (pthread_attr_getstacksize(&attr, &stack) != 0 || stack < kWorkerStackBytes)
    (void)pthread_attr_setstacksize(&attr, kWorkerStackBytes);
  try {
    workers_.reserve(numThreads > 1 ? static_cast<size_t>(numThreads - 1) : 0);
    for (int i = 1; i < numThreads; ++i) {
      pthread_t thread;
      if (int rc = pthread_create(&thread, &attr, &ThreadPool::workerMain, this))
        throw std::system_error(rc, std::generic_category(), "pthread_create");
      workers_.push_back(thread);
    }
  } catch (...) {
    // The destructor does not run for a throwing constructor: join what started.
    pthread_attr_destroy(&attr);
    stop();
    throw;
  }
  pthread_attr_destroy(&attr);
}

void *ThreadPool::workerMain(void *pool) {
  static_cast<ThreadPool *>(pool)->workerLoop();
  return nullptr;
}

ThreadPool::~ThreadPool() { stop(); }

void ThreadPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  workAvailable_.notify_all();
  for (pthread_t worker : workers_)
    pthread_join(worker, nullptr);
  workers_.clear();
}

void ThreadPool::runItems(Job &job) {
  for (;;) {
    int64_t item = job.next.fetch_add(1, std::memory_order_relaxed);
    if (item >= job.n)
      return;
    job.task(job.taskCtx, item, item + 1);
  }
}

void ThreadPool::dropJob(Job *job) {
  auto it = std::find(jobs_.begin(), jobs_.end(), job);
  if (it != jobs_.end())
    jobs_.erase(it);
}

void ThreadPool::parallelFor(int64_t n, attn_parallel_task_fn task, void *taskCtx) {
  if (n <= 0)
    return;
  if (workers_.empty() || n == 1) {
    for (int64_t item = 0; item < n; ++item)
      task(taskCtx, item, item + 1);
    return;
  }
  Job job;
  job.task = task;
  job.taskCtx = taskCtx;
  job.n = n;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(&job);
  }
  // Wake only as many workers as there are items beyond the caller's first.
  int64_t wake = std::min<int64_t>(n - 1, static_cast<int64_t>(workers_.size()));
  for (int64_t i = 0; i < wake; ++i)
    workAvailable_.notify_one();

  runItems(job);

  // Every item is claimed; wait for the workers still running claimed ones.
  std::unique_lock<std::mutex> lock(mutex_);
  dropJob(&job);
  job.helpersDone.wait(lock, [&] { return job.helpers == 0; });
}

void ThreadPool::workerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    workAvailable_.wait(lock, [&] { return stopping_ || !jobs_.empty(); });
    if (jobs_.empty())
      return; // stopping, and no caller can be waiting on this pool
    Job *job = jobs_.front();
    if (job->next.load(std::memory_order_relaxed) >= job->n) {
      jobs_.pop_front(); // exhausted: its caller is finishing it
      continue;
    }
    ++job->helpers;
    lock.unlock();
    runItems(*job);
    lock.lock();
    dropJob(job);
    // Notify under the lock: once it is released the caller may return and
    // destroy the job, condition variable included.
    if (--job->helpers == 0)
      job->helpersDone.notify_all();
  }
}

} // namespace attn::rt
