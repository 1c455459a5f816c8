//===- ValidationFuzzer.cpp - attn-fuzz-validation ------------------------===//
//
// Problem descriptors and launch arguments as any C caller could write them (every field, absurd
// values included) through the runtime's validation, then, for arguments it accepts, through the
// CPU work split, whose arithmetic runs on the validated sizes (UBSan reports any overflow).
// Validation must reject with attn::rt::Error, never crash; it never dereferences tensor data, so
// the tensors point into one small buffer, but the seqlens arrays it reads hold `batch` entries
// and a block table its `batch` rows.
//
//===----------------------------------------------------------------------===//

#include "core/error.h"
#include "core/launch_args.h"
#include "core/problem.h"
#include "core/sequences.h"
#include "cpu/work_split.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <iterator>
#include <array>
#include <cstdint>
#include <cstring>

namespace {

constexpr int64_t kMaxSeqlens = 64;

// The draws are ordered so that an exhausted input (every draw then returns its minimum) decodes
// to valid fields: the fuzzer starts from accepted problems and arguments and mutates away.

/// Mostly small sizes, sometimes non-positive ones, the extremes, or any int64.
int64_t consumeSize(FuzzedDataProvider &in) {
  switch (in.ConsumeIntegralInRange(0, 4)) {
  case 0:
  case 1:
    return in.ConsumeIntegralInRange<int64_t>(1, 300);
  case 2:
    return in.ConsumeIntegralInRange<int64_t>(-2, 0);
  case 3:
    return in.PickValueInArray<int64_t>(
        {INT64_MIN, INT64_MAX, INT64_MAX / 2, INT32_MAX, int64_t(1) << 32, int64_t(1) << 62});
  default:
    return in.ConsumeIntegral<int64_t>();
  }
}

double consumeReal(FuzzedDataProvider &in) {
  if (in.ConsumeBool())
    return in.PickValueInArray<double>({0.0, -0.0, 1.0, 0.125, 50.0, 1e308, -1.0, 1e-320});
  double value;
  uint64_t bits = in.ConsumeIntegral<uint64_t>(); // NaN, infinities, denormals
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

/// Stores any int in an int-sized C enum field, as a C caller may (written as bytes: a C++ load
/// of such a value would itself be undefined).
template <typename Enum> void consumeEnum(FuzzedDataProvider &in, Enum &field) {
  int32_t raw = in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(0, 3);
  static_assert(sizeof(field) == sizeof(raw), "C enums are int-sized");
  std::memcpy(&field, &raw, sizeof(raw));
}

int32_t consumeFlag(FuzzedDataProvider &in) {
  return in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(0, 1);
}

attn_problem consumeProblem(FuzzedDataProvider &in) {
  attn_problem p;
  std::memset(&p, 0, sizeof(p));
  p.struct_size = in.ConsumeBool() ? in.ConsumeIntegral<size_t>() : sizeof(p);
  consumeEnum(in, p.target);
  consumeEnum(in, p.variant);
  consumeEnum(in, p.dtype);
  p.heads_q = consumeSize(in);
  p.heads_kv = consumeSize(in);
  p.head_dim =
      in.ConsumeBool() ? consumeSize(in) : in.PickValueInArray<int64_t>({32, 64, 128, 256});
  p.head_dim_v = in.ConsumeBool() ? consumeSize(in) : p.head_dim;
  p.scale = consumeReal(in);
  p.causal = consumeFlag(in);
  p.window_left = consumeSize(in);
  p.window_right = consumeSize(in);
  p.global_tokens = consumeSize(in);
  p.softcap = consumeReal(in);
  p.return_lse = consumeFlag(in);
  p.return_entropy = consumeFlag(in);
  consumeEnum(in, p.feature_map);
  p.normalize = consumeFlag(in);
  // Mostly none, often a valid page size, sometimes anything.
  switch (in.ConsumeIntegralInRange(0, 3)) {
  case 1:
    p.page_size = in.PickValueInArray<int64_t>({1, 2, 16, 256});
    break;
  case 2:
    p.page_size = consumeSize(in);
    break;
  default:
    p.page_size = 0;
  }
  p.alibi = consumeFlag(in);
  p.sinks = consumeFlag(in);
  return p;
}

/// Storage the pointers point into: validation checks alignment and nullness only.
alignas(64) unsigned char gTensorBytes[256];
alignas(64) float gStatistics[2][16];
alignas(64) int32_t gSeqlens[2][kMaxSeqlens + 1];
alignas(64) int32_t gCuSeqlens[2][kMaxSeqlens + 2]; // batch + 1 offsets, one more for the shift
constexpr int64_t kMaxTableEntries = 64;
alignas(64) int32_t gTable[kMaxTableEntries + 1];
// Per-head values: validation reads all Hq (at most ATTN_MAX_HEADS) of them.
alignas(64) float gHeadValues[2][ATTN_MAX_HEADS + 1];

void *consumePointer(FuzzedDataProvider &in, void *valid) {
  switch (in.ConsumeIntegralInRange(0, 3)) {
  case 2:
    return nullptr;
  case 3:
    return static_cast<unsigned char *>(valid) + 1; // misaligned for every dtype
  default:
    return valid;
  }
}

/// Strides for a [d0, d1, d2, d3] tensor: contiguous, broadcast (0), or anything.
attn_tensor consumeTensor(FuzzedDataProvider &in, std::array<int64_t, 4> dims) {
  attn_tensor t;
  t.data = consumePointer(in, gTensorBytes);
  int64_t contiguous = 1;
  for (int d = 3; d >= 0; --d) {
    switch (in.ConsumeIntegralInRange(0, 3)) {
    case 0:
      t.strides[d] = contiguous;
      break;
    case 1:
      t.strides[d] = in.ConsumeIntegralInRange<int64_t>(-1, 1);
      break;
    default:
      t.strides[d] = consumeSize(in);
    }
    if (__builtin_mul_overflow(contiguous, dims[d], &contiguous))
      contiguous = INT64_MAX;
  }
  return t;
}

/// A seqlens array: non-NULL only where it can hold `batch` entries, as the API requires.
const int32_t *consumeSeqlens(FuzzedDataProvider &in, int32_t *storage, int64_t batch) {
  if (batch < 1 || batch > kMaxSeqlens || !in.ConsumeBool())
    return nullptr;
  for (int64_t b = 0; b < batch; ++b)
    storage[b] =
        in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(0, 300);
  return in.ConsumeBool() ? reinterpret_cast<const int32_t *>(
                                reinterpret_cast<const unsigned char *>(storage) + 1)
                          : storage;
}

/// Packed offsets: non-NULL only where they can hold `batch` + 1 entries; mostly increasing.
const int32_t *consumeCuSeqlens(FuzzedDataProvider &in, int32_t *storage, int64_t batch) {
  if (batch < 1 || batch > kMaxSeqlens || !in.ConsumeBool())
    return nullptr;
  storage[0] = in.ConsumeBool() ? 0 : in.ConsumeIntegral<int32_t>();
  for (int64_t b = 0; b < batch; ++b)
    storage[b + 1] = in.ConsumeBool()
                         ? in.ConsumeIntegral<int32_t>()
                         : static_cast<int32_t>(std::min<int64_t>(
                               INT32_MAX, int64_t(storage[b]) + in.ConsumeIntegralInRange(0, 300)));
  return in.ConsumeBool() ? reinterpret_cast<const int32_t *>(
                                reinterpret_cast<const unsigned char *>(storage) + 1)
                          : storage;
}

attn_launch_args consumeLaunchArgs(FuzzedDataProvider &in, const attn_problem &p) {
  attn_launch_args a;
  std::memset(&a, 0, sizeof(a));
  a.struct_size = in.ConsumeBool() ? in.ConsumeIntegral<size_t>() : sizeof(a);
  a.batch = consumeSize(in);
  a.seq_q = consumeSize(in);
  a.seq_kv = consumeSize(in);
  a.q = consumeTensor(in, {a.batch, a.seq_q, p.heads_q, p.head_dim});
  a.k = consumeTensor(in, {a.batch, a.seq_kv, p.heads_kv, p.head_dim});
  a.v = consumeTensor(in, {a.batch, a.seq_kv, p.heads_kv, p.head_dim_v});
  a.o = consumeTensor(in, {a.batch, a.seq_q, p.heads_q, p.head_dim_v});
  a.lse = static_cast<float *>(consumePointer(in, gStatistics[0]));
  a.entropy = static_cast<float *>(consumePointer(in, gStatistics[1]));
  a.seqlens_q = consumeSeqlens(in, gSeqlens[0], a.batch);
  a.seqlens_kv = consumeSeqlens(in, gSeqlens[1], a.batch);
  // A paged cache's table: the caller's memory must hold its B rows of block_table_stride
  // (validation reads the entries), so a table is given only where gTable holds it.
  a.max_pages = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 8) : consumeSize(in);
  a.num_pages = in.ConsumeBool() ? in.ConsumeIntegralInRange<int64_t>(0, 8) : consumeSize(in);
  a.block_table_stride = in.ConsumeBool() ? 0 : consumeSize(in);
  const int64_t stride = a.block_table_stride ? a.block_table_stride : a.max_pages;
  int64_t span;
  const bool fits = a.batch >= 1 && a.max_pages >= 0 && stride >= 0 &&
                    !__builtin_mul_overflow(a.batch, std::max(stride, a.max_pages), &span) &&
                    span <= kMaxTableEntries;
  if (fits && in.ConsumeBool()) {
    for (int64_t i = 0; i < kMaxTableEntries; ++i)
      gTable[i] =
          in.ConsumeBool() ? in.ConsumeIntegral<int32_t>() : in.ConsumeIntegralInRange(0, 8);
    a.block_table = in.ConsumeBool() ? gTable
                                     : reinterpret_cast<const int32_t *>(
                                           reinterpret_cast<const unsigned char *>(gTable) + 1);
  }
  a.cu_seqlens_q = consumeCuSeqlens(in, gCuSeqlens[0], a.batch);
  a.cu_seqlens_kv = consumeCuSeqlens(in, gCuSeqlens[1], a.batch);
  // ALiBi slopes and sinks: mostly finite, sometimes NaN, infinities or any bits.
  for (float(&values)[ATTN_MAX_HEADS + 1] : gHeadValues) {
    std::fill(std::begin(values), std::end(values), 0.25f);
    for (int n = in.ConsumeIntegralInRange(0, 3); n > 0; --n) {
      uint32_t bits = in.ConsumeIntegral<uint32_t>();
      std::memcpy(&values[in.ConsumeIntegralInRange(0, 63)], &bits, sizeof(float));
    }
  }
  // Absent when the input runs out (a problem then has neither).
  a.alibi_slopes =
      in.ConsumeBool() ? static_cast<const float *>(consumePointer(in, gHeadValues[0])) : nullptr;
  a.sinks =
      in.ConsumeBool() ? static_cast<const float *>(consumePointer(in, gHeadValues[1])) : nullptr;
  return a;
}

/// What a kernel and a context bring to the work split: tiles and threads.
struct SplitParams {
  int64_t blockQ, decodeMaxRows, splitKeys;
  int32_t threads;
};

SplitParams consumeSplitParams(FuzzedDataProvider &in) {
  SplitParams s;
  s.blockQ = in.ConsumeIntegralInRange<int64_t>(1, 512);
  s.decodeMaxRows = in.ConsumeIntegralInRange<int64_t>(1, 4096);
  s.splitKeys = in.ConsumeIntegralInRange<int64_t>(1, int64_t(1) << 20);
  s.threads = in.ConsumeIntegralInRange<int32_t>(1, 1024);
  return s;
}

/// The work split of a softmax launch, as cpu/launch.cpp computes it (a packed one: per
/// sequence, on its view).
void splitWork(const SplitParams &s, const attn_problem &p, const attn_launch_args &a) {
  if (p.variant != ATTN_VARIANT_SOFTMAX)
    return;
  if (attn::rt::isPacked(a)) {
    int64_t items = 0;
    for (int64_t b = 0; b < a.batch; ++b) {
      attn_launch_args view = attn::rt::sequenceView(p, a, b);
      if (attn::rt::queryLength(a, b) > 0)
        items += attn::rt::softmaxItems(1, p.heads_kv, view.seq_q, s.blockQ);
    }
    (void)items;
    return;
  }
  if (attn::rt::usesDecode(a.seq_q, p.heads_q, s.decodeMaxRows, p.return_entropy != 0))
    (void)attn::rt::chooseDecodeSplits(a.batch, s.threads, a.seq_kv, s.splitKeys);
  else
    (void)attn::rt::softmaxItems(a.batch, p.heads_kv, a.seq_q, s.blockQ);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzedDataProvider in(data, size);
  // Drawn first: the input runs out mostly before the end, where every draw is its minimum.
  const SplitParams split = consumeSplitParams(in);
  attn_problem problem = consumeProblem(in);
  attn_problem normalized;
  try {
    normalized = attn::rt::validateProblem(&problem);
  } catch (const attn::rt::Error &) {
    return 0;
  }
  attn_launch_args args = consumeLaunchArgs(in, normalized);
  attn_launch_args validated;
  try {
    validated = attn::rt::validateLaunchArgs(normalized, &args);
  } catch (const attn::rt::Error &) {
    return 0;
  }
  splitWork(split, normalized, validated);
  return 0;
}
