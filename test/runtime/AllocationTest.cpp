//===- AllocationTest.cpp - launches that allocate nothing ----------------===//
//
// Heap allocations counted around launches: after a warm-up launch (a thread's first decode
// launch grows its workspace), prefill, decode and packed launches allocate nothing, with
// metrics off and with them on. Counted: global operator new / delete (the runtime library's
// calls bind to the executable's definitions), and outside sanitizer builds malloc and friends
// too (interposed here over glibc's own: the JIT-compiled kernels call malloc, not operator
// new; the sanitizers interpose malloc themselves).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <new>

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(memory_sanitizer)
#define ATTN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ATTN_SANITIZED 1
#endif
#ifndef ATTN_SANITIZED
#define ATTN_COUNT_MALLOC 1
#else
#define ATTN_COUNT_MALLOC 0
#endif

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void count() {
  if (counting.load(std::memory_order_relaxed))
    allocations.fetch_add(1, std::memory_order_relaxed);
}

void *allocate(size_t size, size_t alignment) {
  if (!ATTN_COUNT_MALLOC) // else malloc below counts it
    count();
  size = size ? size : 1;
  void *p = alignment > alignof(std::max_align_t)
                ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                : std::malloc(size);
  if (!p)
    throw std::bad_alloc();
  return p;
}
} // namespace

#if ATTN_COUNT_MALLOC
extern "C" {
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void *__libc_memalign(size_t, size_t);
void __libc_free(void *);

void *malloc(size_t size) {
  count();
  return __libc_malloc(size);
}
void *calloc(size_t n, size_t size) {
  count();
  return __libc_calloc(n, size);
}
void *realloc(void *p, size_t size) {
  count();
  return __libc_realloc(p, size);
}
void *memalign(size_t alignment, size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
void *aligned_alloc(size_t alignment, size_t size) {
  count();
  return __libc_memalign(alignment, size);
}
int posix_memalign(void **out, size_t alignment, size_t size) {
  count();
  void *p = __libc_memalign(alignment, size);
  if (!p)
    return ENOMEM;
  *out = p;
  return 0;
}
void free(void *p) { __libc_free(p); }
}
#endif

void *operator new(size_t size) { return allocate(size, 0); }
void *operator new[](size_t size) { return allocate(size, 0); }
void *operator new(size_t size, std::align_val_t a) { return allocate(size, size_t(a)); }
void *operator new[](size_t size, std::align_val_t a) { return allocate(size, size_t(a)); }
void *operator new(size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size, 0);
  } catch (...) {
    return nullptr;
  }
}
void *operator new[](size_t size, const std::nothrow_t &) noexcept {
  try {
    return allocate(size, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete[](void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }
void operator delete[](void *p, size_t) noexcept { std::free(p); }
void operator delete(void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void *p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void *p, size_t, std::align_val_t) noexcept { std::free(p); }

using namespace attn::rttest;

namespace {

enum class Shape { Prefill, Decode, Packed };

long allocationsOfLaunches(int32_t metrics, Shape shape) {
  attn_context_options options;
  EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 2;
  options.disk_cache = 0;
  options.metrics = metrics;
  ContextPtr context = makeContext(&options);
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  p.causal = 1;
  p.return_lse = 1;
  attn_kernel *created = nullptr;
  attn_status status = attn_kernel_create(context.get(), &p, &created);
  if (isNoPluginError(status, attn_last_error()))
    return -1;
  EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(created);
  EXPECT_EQ(attn_kernel_set_label(kernel.get(), "layer.0"), ATTN_STATUS_SUCCESS);
  const int64_t B = 2, Sq = shape == Shape::Decode ? 1 : 200,
                Skv = shape == Shape::Decode ? 2000 : 200;
  Tensor q(ATTN_DTYPE_F32, {B, Sq, 4, 64}), k(ATTN_DTYPE_F32, {B, Skv, 2, 64}),
      v(ATTN_DTYPE_F32, {B, Skv, 2, 64}), o(ATTN_DTYPE_F32, {B, Sq, 4, 64});
  q.fillRandom(1);
  k.fillRandom(2);
  v.fillRandom(3);
  std::vector<float> lse(B * 4 * Sq);
  attn_launch_args args = launchArgs(q, k, v, o);
  args.lse = lse.data();
  const int32_t cu[3] = {0, 150, 200}; // two packed sequences in the first 200 rows
  if (shape == Shape::Packed) {
    args.cu_seqlens_q = args.cu_seqlens_kv = cu;
    args.seq_q = args.seq_kv = 200;
  }
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  allocations = 0;
  counting = true;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS);
  counting = false;
  return allocations.load();
}

class Allocation : public ::testing::TestWithParam<Shape> {};

TEST_P(Allocation, LaunchesAllocateNothingWithMetricsOffOrOn) {
  long off = allocationsOfLaunches(0, GetParam());
  if (off < 0)
    GTEST_SKIP() << "no compiler plugin";
  EXPECT_EQ(off, 0) << "allocations in 10 launches with metrics off";
  EXPECT_EQ(allocationsOfLaunches(1, GetParam()), 0)
      << "allocations in 10 launches with metrics on";
}

INSTANTIATE_TEST_SUITE_P(Shapes, Allocation,
                         ::testing::Values(Shape::Prefill, Shape::Decode, Shape::Packed),
                         [](const ::testing::TestParamInfo<Shape> &info) {
                           return info.param == Shape::Prefill  ? "Prefill"
                                  : info.param == Shape::Decode ? "Decode"
                                                                : "Packed";
                         });

// The test can fail: a kernel whose scratch is on the heap (memref.alloc, past the stack
// budget) mallocs per work item, and this counts it.
TEST(AllocationCounter, SeesTheKernelsMalloc) {
#if !ATTN_COUNT_MALLOC
  GTEST_SKIP() << "malloc is the sanitizer's here: only operator new is counted";
#else
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 1;
  options.disk_cache = 0;
  ContextPtr context = makeContext(&options);
  // A GQA group of 256 query heads at D = 256: over 512 KiB of scratch, kept on the heap.
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 256, 1, 256, 256);
  attn_kernel *created = nullptr;
  attn_status status = attn_kernel_create(context.get(), &p, &created);
  if (isNoPluginError(status, attn_last_error()))
    GTEST_SKIP() << "no compiler plugin";
  ASSERT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  KernelPtr kernel(created);
  Tensor q(ATTN_DTYPE_F32, {1, 2, 256, 256}), k(ATTN_DTYPE_F32, {1, 4, 1, 256}),
      v(ATTN_DTYPE_F32, {1, 4, 1, 256}), o(ATTN_DTYPE_F32, {1, 2, 256, 256});
  q.fillRandom(1);
  k.fillRandom(2);
  v.fillRandom(3);
  attn_launch_args args = launchArgs(q, k, v, o);
  ASSERT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  allocations = 0;
  counting = true;
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS);
  counting = false;
  EXPECT_GT(allocations.load(), 0);
#endif
}

} // namespace
