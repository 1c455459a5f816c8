//===- launch_args.cpp - validation of attn_launch_args -------------------===//

#include "core/launch_args.h"
#include "core/struct_init.h"

#include "core/error.h"
#include "core/problem.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>

namespace attn::rt {

namespace {

using Dims = std::array<int64_t, 4>;

long long ll(int64_t value) { return static_cast<long long>(value); }

std::string dimsText(const int64_t *values) {
  return format("[%lld, %lld, %lld, %lld]", ll(values[0]), ll(values[1]), ll(values[2]),
                ll(values[3]));
}

bool isAligned(const void *pointer, size_t alignment) {
  return reinterpret_cast<uintptr_t>(pointer) % alignment == 0;
}

// The largest element offset a tensor reaches, so that no index computed by a
// kernel can overflow int64 (sizes come from the caller and can be anything).
void checkSpan(const char *name, const Dims &sizes, const int64_t *strides, size_t elementSize) {
  int64_t span = 0;
  for (int d = 0; d < 4; ++d) {
    int64_t term;
    if (__builtin_mul_overflow(sizes[d] - 1, strides[d], &term) ||
        __builtin_add_overflow(span, term, &span))
      failInvalid(format("attn_launch_args.%s is too large: sizes %s with strides %s overflow "
                         "int64 offsets",
                         name, dimsText(sizes.data()).c_str(), dimsText(strides).c_str()));
  }
  int64_t bytes;
  if (__builtin_mul_overflow(span + 1, static_cast<int64_t>(elementSize), &bytes))
    failInvalid(format("attn_launch_args.%s is too large: sizes %s with strides %s overflow "
                       "int64 byte offsets",
                       name, dimsText(sizes.data()).c_str(), dimsText(strides).c_str()));
}

void checkTensor(const char *name, const attn_tensor &tensor, const Dims &sizes, attn_dtype dtype) {
  if (!tensor.data)
    failInvalid(format("attn_launch_args.%s.data is NULL", name));
  if (tensor.strides[3] != 1)
    failInvalid(format("attn_launch_args.%s.strides[3] is %lld, expected 1 (the last dim must "
                       "be contiguous)",
                       name, ll(tensor.strides[3])));
  for (int d = 0; d < 3; ++d)
    if (tensor.strides[d] < 0)
      failInvalid(format("attn_launch_args.%s.strides[%d] is %lld, expected >= 0", name, d,
                         ll(tensor.strides[d])));
  size_t elementSize = dtypeSize(dtype);
  if (!isAligned(tensor.data, elementSize))
    failInvalid(format("attn_launch_args.%s.data (%p) is not aligned to %zu bytes (the size of "
                       "one %s element)",
                       name, tensor.data, elementSize, dtypeName(dtype)));
  checkSpan(name, sizes, tensor.strides, elementSize);
}

// Work items write the output concurrently, so no two of its elements may
// share memory: with the dims of extent > 1 ordered by stride, each stride
// must step past everything the smaller dims can reach.
void checkNoOverlap(const char *name, const attn_tensor &tensor, const Dims &sizes) {
  std::array<int, 4> order = {0, 1, 2, 3};
  std::sort(order.begin(), order.end(),
            [&](int a, int b) { return tensor.strides[a] < tensor.strides[b]; });
  int64_t reach = 0; // the largest offset the dims seen so far can reach
  for (int d : order) {
    if (sizes[d] == 1)
      continue;
    if (tensor.strides[d] <= reach)
      failInvalid(format("attn_launch_args.%s has overlapping elements: strides %s for sizes %s "
                         "(each output element needs its own memory)",
                         name, dimsText(tensor.strides).c_str(), dimsText(sizes.data()).c_str()));
    reach += (sizes[d] - 1) * tensor.strides[d]; // cannot overflow: checkSpan passed
  }
}

void checkStatistic(const char *name, const float *buffer, int32_t asked, const char *flag) {
  if (asked && !buffer)
    failInvalid(format("attn_launch_args.%s is NULL, but the kernel's problem asks for it "
                       "(attn_problem.%s = 1)",
                       name, flag));
  if (!asked && buffer)
    failInvalid(format("attn_launch_args.%s is set, but the kernel's problem does not ask for "
                       "it (attn_problem.%s = 0); pass NULL",
                       name, flag));
  if (buffer && !isAligned(buffer, alignof(float)))
    failInvalid(format("attn_launch_args.%s (%p) is not aligned to 4 bytes (f32)", name,
                       static_cast<const void *>(buffer)));
}

void checkSeqlens(const char *name, const int32_t *seqlens, int64_t batch, int64_t limit,
                  const char *limitName) {
  if (!seqlens)
    return;
  if (!isAligned(seqlens, alignof(int32_t)))
    failInvalid(format("attn_launch_args.%s (%p) is not aligned to 4 bytes (int32)", name,
                       static_cast<const void *>(seqlens)));
  for (int64_t b = 0; b < batch; ++b)
    if (seqlens[b] < 0 || seqlens[b] > limit)
      failInvalid(format("attn_launch_args.%s[%lld] is %d, expected 0..%lld (%s)", name, ll(b),
                         seqlens[b], ll(limit), limitName));
}

void checkLength(int64_t value, const char *name) {
  if (value < 1 || value > ATTN_MAX_SEQUENCE_LENGTH)
    failInvalid(format("attn_launch_args.%s is %lld, expected 1..%d (ATTN_MAX_SEQUENCE_LENGTH)",
                       name, ll(value), ATTN_MAX_SEQUENCE_LENGTH));
}

} // namespace

attn_launch_args validateLaunchArgs(const attn_problem &p, const attn_launch_args *in) {
  requireNonNull(in, "args");
  if (in->struct_size < kLaunchArgsSizeV1)
    failInvalid(format("attn_launch_args.struct_size is %zu, expected at least %zu "
                       "(initialize it with attn_launch_args_init)",
                       in->struct_size, kLaunchArgsSizeV1));
  attn_launch_args args;
  std::memcpy(&args, in, sizeof(args));
  checkLength(args.batch, "batch");
  checkLength(args.seq_q, "seq_q");
  checkLength(args.seq_kv, "seq_kv");

  const int64_t B = args.batch, Sq = args.seq_q, Skv = args.seq_kv;
  checkTensor("q", args.q, {B, Sq, p.heads_q, p.head_dim}, p.dtype);
  checkTensor("k", args.k, {B, Skv, p.heads_kv, p.head_dim}, p.dtype);
  checkTensor("v", args.v, {B, Skv, p.heads_kv, p.head_dim_v}, p.dtype);
  checkTensor("o", args.o, {B, Sq, p.heads_q, p.head_dim_v}, p.dtype);
  checkNoOverlap("o", args.o, {B, Sq, p.heads_q, p.head_dim_v});

  // LSE/ENTROPY [B, Hq, Sq] cannot overflow int64 offsets: they have fewer
  // elements than O, whose non-overlapping span was just checked.
  checkStatistic("lse", args.lse, p.return_lse, "return_lse");
  checkStatistic("entropy", args.entropy, p.return_entropy, "return_entropy");
  checkSeqlens("seqlens_q", args.seqlens_q, B, Sq, "seq_q");
  checkSeqlens("seqlens_kv", args.seqlens_kv, B, Skv, "seq_kv");
  args.struct_size = sizeof(attn_launch_args);
  return args;
}

} // namespace attn::rt

using namespace attn::rt;

extern "C" ATTN_API attn_status attn_launch_args_init_sized(attn_launch_args *args,
                                                            size_t structSize) {
  return guard([&] {
    // Shapes and pointers stay 0/NULL: a launch that forgets one fails
    // validation by name instead of running on a guessed shape.
    initSized(args, structSize, attn_launch_args{}, sizeof(attn_launch_args), "args");
    return ATTN_STATUS_SUCCESS;
  });
}
