//===- AllocationTest.cpp - launches that allocate nothing ----------------===//
//
// Global operator new / delete replaced by counting ones (the runtime library's calls bind to
// them: the executable's definitions come first), armed around launches: a prefill launch
// allocates nothing, with metrics off and with them on (the metrics path adds no allocation).
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void *allocate(size_t size, size_t alignment) {
  if (counting.load(std::memory_order_relaxed))
    allocations.fetch_add(1, std::memory_order_relaxed);
  size = size ? size : 1;
  void *p = alignment > alignof(std::max_align_t)
                ? std::aligned_alloc(alignment, (size + alignment - 1) / alignment * alignment)
                : std::malloc(size);
  if (!p)
    throw std::bad_alloc();
  return p;
}
} // namespace

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

long allocationsOfLaunches(int32_t metrics) {
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
  const int64_t B = 2, S = 200;
  Tensor q(ATTN_DTYPE_F32, {B, S, 4, 64}), k(ATTN_DTYPE_F32, {B, S, 2, 64}),
      v(ATTN_DTYPE_F32, {B, S, 2, 64}), o(ATTN_DTYPE_F32, {B, S, 4, 64});
  q.fillRandom(1);
  k.fillRandom(2);
  v.fillRandom(3);
  std::vector<float> lse(B * 4 * S);
  attn_launch_args args = launchArgs(q, k, v, o);
  args.lse = lse.data();
  EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS); // warm
  allocations = 0;
  counting = true;
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(attn_kernel_launch(kernel.get(), &args), ATTN_STATUS_SUCCESS);
  counting = false;
  return allocations.load();
}

TEST(Allocation, PrefillLaunchesAllocateNothingWithMetricsOffOrOn) {
  long off = allocationsOfLaunches(0);
  if (off < 0)
    GTEST_SKIP() << "no compiler plugin";
  EXPECT_EQ(off, 0) << "allocations in 10 launches with metrics off";
  EXPECT_EQ(allocationsOfLaunches(1), 0) << "allocations in 10 launches with metrics on";
}

} // namespace
