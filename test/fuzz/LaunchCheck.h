//===- LaunchCheck.h - launching a kernel on poisoned buffers -------------===//
//
// What a fuzzer checks about a kernel it got: a launch on small buffers whose outputs are poisoned
// (NaN) and followed by a canary tail either fails leaving every output byte as it was (the C
// API's promise), or writes every output element of the rows within the batches' lengths, with no
// NaN left for finite inputs, and nothing else: not the rows past them, not past the end. The
// kernel's code is not instrumented: the canary stands in for ASan.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_FUZZ_LAUNCHCHECK_H
#define ATTN_TEST_FUZZ_LAUNCHCHECK_H

#include "attn/attn_runtime.h"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

namespace attn::fuzz {

[[noreturn]] inline void violated(const char *property) {
  std::fprintf(stderr, "attn fuzz property violated: %s (%s)\n", property, attn_last_error());
  std::abort();
}

/// A tensor's elements (f32, f16 or bf16) and a canary tail, 8-byte aligned.
class Buffer {
public:
  static constexpr size_t kCanaryBytes = 64;

  Buffer(size_t count, attn_dtype dtype)
      : dtype(dtype), count(count), elementSize(dtype == ATTN_DTYPE_F32 ? 4 : 2),
        words((count * elementSize + kCanaryBytes + 7) / 8, 0xA5A5A5A5A5A5A5A5ull) {}

  void *data() { return words.data(); }
  unsigned char *bytes() { return reinterpret_cast<unsigned char *>(words.data()); }

  /// Random finite values below 2 in magnitude, in every dtype: no overflow anywhere.
  void fillFinite(std::mt19937_64 &rng) {
    for (size_t i = 0; i < count; ++i) {
      uint64_t r = rng();
      if (elementSize == 4) {
        uint32_t bits = uint32_t(r & 0x807FFFFF) | uint32_t(124 + r % 4) << 23;
        std::memcpy(bytes() + 4 * i, &bits, 4);
      } else { // f16 and bf16 alike: bf16's exponent field (8 bits) spans a wider range
        uint16_t bits = uint16_t(r & 0x83FF) | uint16_t(12 + r % 4) << 10;
        std::memcpy(bytes() + 2 * i, &bits, 2);
      }
    }
  }

  void poison() {
    for (size_t i = 0; i < count; ++i) {
      if (elementSize == 4) {
        float nan = std::nanf("");
        std::memcpy(bytes() + 4 * i, &nan, 4);
      } else {
        uint16_t nan = 0x7FFF; // a NaN in f16 and in bf16
        std::memcpy(bytes() + 2 * i, &nan, 2);
      }
    }
  }

  bool isNaN(size_t i) const {
    const unsigned char *element = reinterpret_cast<const unsigned char *>(words.data());
    if (elementSize == 4) {
      float value;
      std::memcpy(&value, element + 4 * i, 4);
      return std::isnan(value);
    }
    uint16_t bits;
    std::memcpy(&bits, element + 2 * i, 2);
    return dtype == ATTN_DTYPE_BF16 ? (bits & 0x7F80) == 0x7F80 && (bits & 0x7F)
                                    : (bits & 0x7C00) == 0x7C00 && (bits & 0x3FF);
  }

  bool sameElement(const Buffer &before, size_t i) const {
    return std::memcmp(reinterpret_cast<const unsigned char *>(words.data()) + i * elementSize,
                       reinterpret_cast<const unsigned char *>(before.words.data()) +
                           i * elementSize,
                       elementSize) == 0;
  }

  size_t size() const { return count; }

  bool canaryIntact(const Buffer &before) const {
    size_t end = count * elementSize;
    return std::memcmp(reinterpret_cast<const unsigned char *>(words.data()) + end,
                       reinterpret_cast<const unsigned char *>(before.words.data()) + end,
                       kCanaryBytes) == 0;
  }

  bool operator==(const Buffer &other) const { return words == other.words; }

private:
  attn_dtype dtype;
  size_t count, elementSize;
  std::vector<uint64_t> words;
};

/// The number of elements of a [d0, d1, d2, d3] tensor, or 0 past `limit`.
inline size_t elements(int64_t d0, int64_t d1, int64_t d2, int64_t d3, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : {d0, d1, d2, d3})
    if (d < 1 || __builtin_mul_overflow(n, d, &n) || n > limit)
      return 0;
  return static_cast<size_t>(n);
}

/// Launches `kernel` on contiguous BSHD buffers of a shape drawn from `seed`, and checks the
/// outputs as the header comment says. Kernels too big for small buffers are not launched.
inline void checkLaunch(attn_kernel *kernel, uint64_t seed) {
  attn_problem p{};
  p.struct_size = sizeof(p);
  if (attn_kernel_get_problem(kernel, &p) != ATTN_STATUS_SUCCESS)
    violated("attn_kernel_get_problem failed on a loaded kernel");
  std::mt19937_64 rng(seed);
  const int64_t B = 1 + rng() % 2, Sq = 1 + rng() % 9, Skv = 1 + rng() % 40;
  const int64_t limit = int64_t(1) << 20;
  const size_t nq = elements(B, Sq, p.heads_q, p.head_dim, limit);
  const size_t nk = elements(B, Skv, p.heads_kv, p.head_dim, limit);
  const size_t nv = elements(B, Skv, p.heads_kv, p.head_dim_v, limit);
  const size_t no = elements(B, Sq, p.heads_q, p.head_dim_v, limit);
  const size_t ns = elements(B, p.heads_q, Sq, 1, limit);
  if (!nq || !nk || !nv || !no || !ns)
    return;
  Buffer q(nq, p.dtype), k(nk, p.dtype), v(nv, p.dtype), o(no, p.dtype);
  Buffer lse(ns, ATTN_DTYPE_F32), entropy(ns, ATTN_DTYPE_F32);
  for (Buffer *input : {&q, &k, &v})
    input->fillFinite(rng);
  for (Buffer *output : {&o, &lse, &entropy})
    output->poison();
  std::vector<int32_t> seqlensQ, seqlensKv;
  for (int64_t b = 0; b < B; ++b) {
    seqlensQ.push_back(static_cast<int32_t>(rng() % (Sq + 1)));
    seqlensKv.push_back(static_cast<int32_t>(rng() % (Skv + 1)));
  }
  const Buffer oBefore = o, lseBefore = lse, entropyBefore = entropy;

  attn_launch_args a;
  if (attn_launch_args_init(&a) != ATTN_STATUS_SUCCESS)
    violated("attn_launch_args_init failed");
  a.batch = B;
  a.seq_q = Sq;
  a.seq_kv = Skv;
  auto bshd = [](Buffer &buffer, int64_t S, int64_t H, int64_t D) {
    return attn_tensor{buffer.data(), {S * H * D, H * D, D, 1}};
  };
  a.q = bshd(q, Sq, p.heads_q, p.head_dim);
  a.k = bshd(k, Skv, p.heads_kv, p.head_dim);
  a.v = bshd(v, Skv, p.heads_kv, p.head_dim_v);
  a.o = bshd(o, Sq, p.heads_q, p.head_dim_v);
  a.lse = p.return_lse ? static_cast<float *>(lse.data()) : nullptr;
  a.entropy = p.return_entropy ? static_cast<float *>(entropy.data()) : nullptr;
  if (rng() % 2) { // varlen
    a.seqlens_q = seqlensQ.data();
    a.seqlens_kv = seqlensKv.data();
  }

  if (attn_kernel_launch(kernel, &a) != ATTN_STATUS_SUCCESS) {
    if (!(o == oBefore && lse == lseBefore && entropy == entropyBefore))
      violated("a failing launch wrote an output");
    return;
  }
  if (!o.canaryIntact(oBefore) || !lse.canaryIntact(lseBefore) ||
      !entropy.canaryIntact(entropyBefore))
    violated("a launch wrote past the end of an output");
  // Rows past a batch's query length are not written (SPEC §3); every other element is.
  auto checkRows = [&](const Buffer &out, const Buffer &before, auto rowOf) {
    for (size_t e = 0; e < out.size(); ++e) {
      auto [b, i] = rowOf(static_cast<int64_t>(e));
      bool written = !a.seqlens_q || i < a.seqlens_q[b];
      if (written && out.isNaN(e))
        violated("a launch left an output element unwritten (NaN) for finite inputs");
      if (!written && !out.sameElement(before, e))
        violated("a launch wrote a row past its batch's seqlens_q");
    }
  };
  const int64_t Hq = p.heads_q, Dv = p.head_dim_v;
  checkRows(o, oBefore, [&](int64_t e) {
    return std::pair<int64_t, int64_t>{e / (Sq * Hq * Dv), e / (Hq * Dv) % Sq};
  });
  auto statisticRow = [&](int64_t e) { return std::pair<int64_t, int64_t>{e / (Hq * Sq), e % Sq}; };
  if (p.return_lse)
    checkRows(lse, lseBefore, statisticRow);
  if (p.return_entropy)
    checkRows(entropy, entropyBefore, statisticRow);
}

} // namespace attn::fuzz

#endif // ATTN_TEST_FUZZ_LAUNCHCHECK_H
