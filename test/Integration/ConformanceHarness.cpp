//===- ConformanceHarness.cpp - run a problem through the C API and judge it ---===//

#include "ConformanceHarness.h"

#include "attn/Oracle/Oracle.h"
#include "attn/Oracle/TestUtil.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <sstream>

using namespace attn;
using namespace attn::conformance;

namespace {

size_t elementSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

/// A tensor in the dtype's storage, addressed by logical BSHD coordinates.
struct Tensor {
  attn_dtype dtype;
  int64_t dims[4];
  bool bhsd;
  std::vector<uint8_t> bytes;

  Tensor(attn_dtype dtype, int64_t b, int64_t s, int64_t h, int64_t d, bool bhsd)
      : dtype(dtype), dims{b, s, h, d}, bhsd(bhsd),
        bytes(static_cast<size_t>(b * s * h * d) * elementSize(dtype)) {}

  size_t offset(int64_t b, int64_t s, int64_t h, int64_t d) const {
    auto [B, S, H, D] = dims;
    (void)B;
    return static_cast<size_t>(bhsd ? ((b * H + h) * S + s) * D + d
                                    : ((b * S + s) * H + h) * D + d);
  }
  attn_tensor view() {
    auto [B, S, H, D] = dims;
    (void)B;
    attn_tensor t;
    t.data = bytes.data();
    if (bhsd) {
      int64_t strides[4] = {H * S * D, D, S * D, 1};
      std::memcpy(t.strides, strides, sizeof strides);
    } else {
      int64_t strides[4] = {S * H * D, H * D, D, 1};
      std::memcpy(t.strides, strides, sizeof strides);
    }
    return t;
  }
  /// Stores x rounded to the dtype and returns the rounded value.
  double store(size_t i, double x) {
    switch (dtype) {
    case ATTN_DTYPE_F32: {
      float f = static_cast<float>(x);
      std::memcpy(&bytes[i * 4], &f, 4);
      return f;
    }
    case ATTN_DTYPE_F16: {
      uint16_t h = testutil::floatToHalf(static_cast<float>(x));
      std::memcpy(&bytes[i * 2], &h, 2);
      return testutil::halfToFloat(h);
    }
    case ATTN_DTYPE_BF16: {
      uint16_t h = testutil::floatToBf16(static_cast<float>(x));
      std::memcpy(&bytes[i * 2], &h, 2);
      return testutil::bf16ToFloat(h);
    }
    }
    return 0;
  }
  double load(size_t i) const {
    if (dtype == ATTN_DTYPE_F32) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return dtype == ATTN_DTYPE_F16 ? testutil::halfToFloat(h) : testutil::bf16ToFloat(h);
  }
  void poison() {
    if (dtype == ATTN_DTYPE_F32)
      testutil::poison(reinterpret_cast<float *>(bytes.data()), bytes.size() / 4);
    else
      testutil::poison(reinterpret_cast<uint16_t *>(bytes.data()), bytes.size() / 2);
  }
  bool isPoison(size_t i) const {
    if (dtype == ATTN_DTYPE_F32)
      return std::isnan(load(i));
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return h == testutil::kPoison16;
  }
};

/// Fills `t` with fresh random values (times `scale`) and returns them, rounded, in BSHD order.
std::vector<double> randomize(Tensor &t, uint64_t seed, double scale) {
  auto [B, S, H, D] = t.dims;
  std::vector<double> values(static_cast<size_t>(B * S * H * D));
  testutil::fillRandom(values, seed);
  size_t i = 0;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d, ++i)
          values[i] = t.store(t.offset(b, s, h, d), values[i] * scale);
  return values;
}

int64_t length(const std::vector<int32_t> &lens, int64_t b, int64_t full) {
  return lens.empty() ? full : lens[b];
}

/// Compares a [B, Hq, Sq] statistic on valid rows; rows past Lq must still be poison.
bool checkStat(const char *name, const std::vector<float> &out, const std::vector<double> &ref,
               const Case &c, double tol, std::ostringstream &why) {
  int64_t H = c.problem.heads_q;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < c.seqQ; ++i) {
        size_t at = static_cast<size_t>((b * H + h) * c.seqQ + i);
        float o = out[at];
        double r = ref[at];
        if (i >= length(c.seqlensQ, b, c.seqQ)) {
          if (!std::isnan(o)) {
            why << name << " row past the query length was written (b=" << b << " i=" << i << ")";
            return false;
          }
          continue;
        }
        bool good =
            std::isinf(r) ? (std::isinf(o) && o < 0) : std::fabs(o - r) <= tol * (1 + std::fabs(r));
        if (!good) {
          why << name << " mismatch at b=" << b << " h=" << h << " i=" << i << ": " << o
              << " vs reference " << r;
          return false;
        }
      }
  return true;
}

/// A paged KV cache holding the same keys as contiguous K/V (SPEC §2): each sequence's pages at
/// shuffled page indices, with spare pages between them. Every slot the kernel must not read (spare
/// pages, keys past a sequence's length) is poison (NaN), and table entries past a sequence's
/// last page are -1: a kernel reading any of them fails the comparison or the launch.
struct PagedCache {
  Tensor k, v;
  std::vector<int32_t> table, lens;
  int64_t maxPages, numPages;

  PagedCache(const Case &c, const Tensor &kc, const Tensor &vc, uint64_t seed)
      : k(kc.dtype, 1, 1, 1, 1, c.bhsd), v(vc.dtype, 1, 1, 1, 1, c.bhsd) {
    const attn_problem &p = c.problem;
    const int64_t P = p.page_size;
    maxPages = (c.seqKv + P - 1) / P;
    numPages = c.batch * maxPages + 3;
    k = Tensor(kc.dtype, numPages, P, p.heads_kv, p.head_dim, c.bhsd);
    v = Tensor(vc.dtype, numPages, P, p.heads_kv, p.head_dim_v, c.bhsd);
    k.poison();
    v.poison();
    std::vector<int32_t> order(static_cast<size_t>(numPages));
    for (size_t i = 0; i < order.size(); ++i)
      order[i] = static_cast<int32_t>(i);
    uint64_t state = seed * 6364136223846793005ull + 1442695040888963407ull;
    for (size_t i = order.size(); i > 1; --i) { // Fisher-Yates with an LCG
      state = state * 6364136223846793005ull + 1442695040888963407ull;
      std::swap(order[i - 1], order[(state >> 33) % i]);
    }
    table.assign(static_cast<size_t>(c.batch * maxPages), -1);
    size_t next = 0;
    for (int64_t b = 0; b < c.batch; ++b) {
      int64_t L = length(c.seqlensKv, b, c.seqKv);
      lens.push_back(static_cast<int32_t>(L));
      for (int64_t i = 0; i < (L + P - 1) / P; ++i)
        table[static_cast<size_t>(b * maxPages + i)] = order[next++];
      for (int64_t j = 0; j < L; ++j) {
        int32_t page = table[static_cast<size_t>(b * maxPages + j / P)];
        copyRow(kc, k, b, j, page, j % P, p.heads_kv, p.head_dim);
        copyRow(vc, v, b, j, page, j % P, p.heads_kv, p.head_dim_v);
      }
    }
  }

  static void copyRow(const Tensor &from, Tensor &to, int64_t b, int64_t j, int64_t page,
                      int64_t slot, int64_t heads, int64_t dim) {
    size_t size = elementSize(from.dtype);
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t d = 0; d < dim; ++d)
        std::memcpy(&to.bytes[to.offset(page, slot, h, d) * size],
                    &from.bytes[from.offset(b, j, h, d) * size], size);
  }
};

/// Offsets of packed sequences: cu[b] = the sum of the lengths before b.
std::vector<int32_t> offsets(const std::vector<int32_t> &lens, int64_t batch, int64_t full) {
  std::vector<int32_t> cu(static_cast<size_t>(batch) + 1, 0);
  for (int64_t b = 0; b < batch; ++b)
    cu[b + 1] = cu[b] + static_cast<int32_t>(length(lens, b, full));
  return cu;
}

constexpr int64_t kSpareRows = 3; // poison rows after a packed tensor's last sequence

/// A packed copy [1, cu[B] + kSpareRows, H, D] of the valid rows of a padded tensor; the rest
/// poison.
Tensor pack(const Tensor &padded, const std::vector<int32_t> &cu, int64_t batch, bool bhsd) {
  auto [B, S, H, D] = padded.dims;
  (void)B;
  (void)S;
  Tensor packed(padded.dtype, 1, cu[batch] + kSpareRows, H, D, bhsd);
  packed.poison();
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < cu[b + 1] - cu[b]; ++s)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d)
          packed.store(packed.offset(0, cu[b] + s, h, d), padded.load(padded.offset(b, s, h, d)));
  return packed;
}

/// Copies a packed output's rows to their padded places; false if a spare row was written.
bool unpack(const Tensor &packed, Tensor &padded, const std::vector<int32_t> &cu, int64_t batch) {
  auto [B, T, H, D] = packed.dims;
  (void)B;
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t s = 0; s < cu[b + 1] - cu[b]; ++s)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t d = 0; d < D; ++d) {
          size_t from = packed.offset(0, cu[b] + s, h, d), to = padded.offset(b, s, h, d);
          size_t size = elementSize(packed.dtype);
          std::memcpy(&padded.bytes[to * size], &packed.bytes[from * size], size);
        }
  for (int64_t t = cu[batch]; t < T; ++t)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t d = 0; d < D; ++d)
        if (!packed.isPoison(packed.offset(0, t, h, d)))
          return false;
  return true;
}

} // namespace

static attn_problem makeProblem(attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d, int64_t dv) {
  attn_problem p;
  if (attn_problem_init(&p) != ATTN_STATUS_SUCCESS)
    return p;
  p.dtype = dtype;
  p.heads_q = hq;
  p.heads_kv = hkv;
  p.head_dim = d;
  p.head_dim_v = dv;
  return p;
}

attn_problem attn::conformance::softmaxProblem(attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d,
                                               int64_t dv) {
  return makeProblem(dtype, hq, hkv, d, dv);
}

attn_problem attn::conformance::linearProblem(attn_dtype dtype, int64_t hq, int64_t hkv, int64_t d,
                                              int64_t dv) {
  attn_problem p = makeProblem(dtype, hq, hkv, d, dv);
  p.variant = ATTN_VARIANT_LINEAR;
  return p;
}

double attn::conformance::tolerance(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
    return 1e-5;
  case ATTN_DTYPE_F16:
    return 2e-3;
  case ATTN_DTYPE_BF16:
    return 1e-2;
  }
  return 0;
}

Outcome attn::conformance::run(attn_context *context, const Case &c, uint64_t seed) {
  Outcome outcome;
  std::ostringstream why;
  const attn_problem &p = c.problem;
  bool softmax = p.variant == ATTN_VARIANT_SOFTMAX;

  attn_kernel *kernel = nullptr;
  if (attn_kernel_create(context, &p, &kernel) != ATTN_STATUS_SUCCESS) {
    outcome.message = std::string("attn_kernel_create failed: ") + attn_last_error();
    return outcome;
  }
  attn_kernel_config config{};
  config.struct_size = sizeof(config);
  if (attn_kernel_get_config(kernel, &config) == ATTN_STATUS_SUCCESS)
    outcome.cpuFeatures = config.cpu_features;

  Tensor q(p.dtype, c.batch, c.seqQ, p.heads_q, p.head_dim, c.bhsd);
  Tensor k(p.dtype, c.batch, c.seqKv, p.heads_kv, p.head_dim, c.bhsd);
  Tensor v(p.dtype, c.batch, c.seqKv, p.heads_kv, p.head_dim_v, c.bhsd);
  Tensor o(p.dtype, c.batch, c.seqQ, p.heads_q, p.head_dim_v, c.bhsd);
  std::vector<double> qd = randomize(q, seed, c.logitScale);
  std::vector<double> kd = randomize(k, seed + 1, 1.0);
  std::vector<double> vd = randomize(v, seed + 2, 1.0);
  o.poison();
  size_t statCount = static_cast<size_t>(c.batch * p.heads_q * c.seqQ);
  std::vector<float> lse(statCount), entropy(statCount);
  testutil::poison(lse.data(), lse.size());
  testutil::poison(entropy.data(), entropy.size());

  attn_launch_args args;
  (void)attn_launch_args_init(&args);
  args.batch = c.batch;
  args.seq_q = c.seqQ;
  args.seq_kv = c.seqKv;
  args.q = q.view();
  args.k = k.view();
  args.v = v.view();
  args.o = o.view();
  args.lse = softmax && p.return_lse ? lse.data() : nullptr;
  args.entropy = softmax && p.return_entropy ? entropy.data() : nullptr;
  args.seqlens_q = c.seqlensQ.empty() ? nullptr : c.seqlensQ.data();
  args.seqlens_kv = c.seqlensKv.empty() ? nullptr : c.seqlensKv.data();
  args.scale = c.launchScale;
  // Per-head ALiBi slopes and sink logits (the problem's alibi / sinks), fresh each run: slopes
  // as large as ALiBi's first heads', sinks on both sides of the scores.
  std::vector<double> slopes, sinks;
  std::vector<float> slopesF, sinksF;
  if (softmax && p.alibi) {
    slopes.resize(static_cast<size_t>(p.heads_q));
    testutil::fillRandom(slopes, seed + 3, 0.01, 0.5);
    slopesF.assign(slopes.begin(), slopes.end());
    args.alibi_slopes = slopesF.data();
  }
  if (softmax && p.sinks) {
    sinks.resize(static_cast<size_t>(p.heads_q));
    testutil::fillRandom(sinks, seed + 4, -2.0, 4.0);
    sinksF.assign(sinks.begin(), sinks.end());
    args.sinks = sinksF.data();
  }
  for (size_t h = 0; h < slopes.size(); ++h)
    slopes[h] = slopesF[h]; // the oracle sees what the kernel reads (f32)
  for (size_t h = 0; h < sinks.size(); ++h)
    sinks[h] = sinksF[h];
  // Packed copies of the same sequences (Case::packedQ / packedKv).
  const std::vector<int32_t> cuQ = offsets(c.seqlensQ, c.batch, c.seqQ);
  const std::vector<int32_t> cuKv = offsets(c.seqlensKv, c.batch, c.seqKv);
  std::unique_ptr<Tensor> packedQ, packedO, packedK, packedV;
  const int64_t tq = cuQ[c.batch] + kSpareRows;
  std::vector<float> packedLse, packedEntropy;
  if (c.packedQ) {
    packedQ = std::make_unique<Tensor>(pack(q, cuQ, c.batch, c.bhsd));
    packedO = std::make_unique<Tensor>(pack(o, cuQ, c.batch, c.bhsd)); // all poison
    packedO->poison();
    packedLse.resize(static_cast<size_t>(p.heads_q * tq));
    packedEntropy.resize(packedLse.size());
    testutil::poison(packedLse.data(), packedLse.size());
    testutil::poison(packedEntropy.data(), packedEntropy.size());
    args.seq_q = tq;
    args.q = packedQ->view();
    args.o = packedO->view();
    args.lse = args.lse ? packedLse.data() : nullptr;
    args.entropy = args.entropy ? packedEntropy.data() : nullptr;
    args.seqlens_q = nullptr;
    args.cu_seqlens_q = cuQ.data();
  }
  if (c.packedKv) {
    packedK = std::make_unique<Tensor>(pack(k, cuKv, c.batch, c.bhsd));
    packedV = std::make_unique<Tensor>(pack(v, cuKv, c.batch, c.bhsd));
    args.seq_kv = cuKv[c.batch] + kSpareRows;
    args.k = packedK->view();
    args.v = packedV->view();
    args.seqlens_kv = nullptr;
    args.cu_seqlens_kv = cuKv.data();
  }
  std::unique_ptr<PagedCache> paged;
  if (softmax && p.page_size > 0) {
    paged = std::make_unique<PagedCache>(c, k, v, seed + 3);
    args.k = paged->k.view();
    args.v = paged->v.view();
    args.block_table = paged->table.data();
    args.max_pages = paged->maxPages;
    args.num_pages = paged->numPages;
    args.seq_kv = 0; // the capacity, max_pages x page_size
    args.seqlens_kv = paged->lens.data();
  }
  attn_status status = attn_kernel_launch(kernel, &args);
  std::string launchError = status == ATTN_STATUS_SUCCESS ? "" : attn_last_error();
  // Timed launches overwrite the outputs with the same values; the checks below see the last.
  outcome.seconds = c.timedLaunches > 0 ? INFINITY : 0.0;
  for (int r = 0; status == ATTN_STATUS_SUCCESS && r < c.timedLaunches; ++r) {
    auto start = std::chrono::steady_clock::now();
    status = attn_kernel_launch(kernel, &args);
    outcome.seconds =
        std::min(outcome.seconds,
                 std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  (void)attn_kernel_destroy(kernel);
  if (status != ATTN_STATUS_SUCCESS) {
    outcome.message = "attn_kernel_launch failed: " + launchError;
    return outcome;
  }
  if (c.packedQ) { // back to the padded layout the checks below judge
    if (!unpack(*packedO, o, cuQ, c.batch)) {
      outcome.message = "a packed output row past the last sequence was written";
      return outcome;
    }
    for (auto [from, to] : {std::pair{&packedLse, &lse}, std::pair{&packedEntropy, &entropy}})
      for (int64_t h = 0; h < p.heads_q; ++h) {
        for (int64_t b = 0; b < c.batch; ++b)
          for (int64_t i = 0; i < cuQ[b + 1] - cuQ[b]; ++i)
            (*to)[static_cast<size_t>((b * p.heads_q + h) * c.seqQ + i)] =
                (*from)[static_cast<size_t>(h * tq + cuQ[b] + i)];
        for (int64_t t = cuQ[c.batch]; t < tq; ++t)
          if (!std::isnan((*from)[static_cast<size_t>(h * tq + t)])) {
            outcome.message = "a packed LSE/ENTROPY entry past the last sequence was written";
            return outcome;
          }
      }
  }

  std::vector<int64_t> lensQ(c.seqlensQ.begin(), c.seqlensQ.end());
  std::vector<int64_t> lensKv(c.seqlensKv.begin(), c.seqlensKv.end());
  std::vector<double> ref(static_cast<size_t>(c.batch * c.seqQ * p.heads_q * p.head_dim_v));
  std::vector<double> refLse(statCount), refEntropy(statCount);
  if (softmax) {
    oracle::AttentionProblem op;
    op.batch = c.batch;
    op.seqQ = c.seqQ;
    op.seqKv = c.seqKv;
    op.headsQ = p.heads_q;
    op.headsKv = p.heads_kv;
    op.headDim = p.head_dim;
    op.headDimV = p.head_dim_v;
    if (p.scale != 0)
      op.scale = p.scale;
    if (c.launchScale != 0)
      op.scale = static_cast<float>(c.launchScale);
    op.causal = p.causal != 0;
    op.windowLeft = p.window_left;
    op.windowRight = p.window_right;
    op.globalTokens = p.global_tokens;
    op.softcap = p.softcap;
    op.seqlensQ = lensQ;
    op.seqlensKv = lensKv;
    op.alibiSlopes = slopes;
    op.sinks = sinks;
    oracle::attention(op, qd.data(), kd.data(), vd.data(), ref.data(), refLse.data(),
                      refEntropy.data());
  } else {
    oracle::LinearProblem lp;
    lp.batch = c.batch;
    lp.seqQ = c.seqQ;
    lp.seqKv = c.seqKv;
    lp.headsQ = p.heads_q;
    lp.headsKv = p.heads_kv;
    lp.headDim = p.head_dim;
    lp.headDimV = p.head_dim_v;
    lp.featureMap = static_cast<oracle::FeatureMap>(p.feature_map);
    lp.causal = p.causal != 0;
    lp.normalize = p.normalize != 0;
    lp.scale = c.launchScale != 0 ? static_cast<float>(c.launchScale)
               : p.scale != 0     ? p.scale
                                  : 1.0;
    lp.seqlensQ = lensQ;
    lp.seqlensKv = lensKv;
    oracle::linearAttention(lp, qd.data(), kd.data(), vd.data(), ref.data());
  }

  // O on the valid rows; padding rows must be untouched.
  std::vector<double> got, want;
  size_t i = 0;
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t s = 0; s < c.seqQ; ++s)
      for (int64_t h = 0; h < p.heads_q; ++h)
        for (int64_t d = 0; d < p.head_dim_v; ++d, ++i) {
          size_t at = o.offset(b, s, h, d);
          if (s >= length(c.seqlensQ, b, c.seqQ)) {
            if (!o.isPoison(at)) {
              outcome.message = "an output row past the query length was written";
              return outcome;
            }
            continue;
          }
          got.push_back(o.load(at));
          want.push_back(ref[i]);
        }
  outcome.error =
      got.empty() ? 0 : testutil::relativeFrobeniusError(got.data(), want.data(), got.size());
  if (!(outcome.error <= tolerance(p.dtype))) {
    why << "relative error " << outcome.error << " exceeds " << tolerance(p.dtype);
    outcome.message = why.str();
    return outcome;
  }
  double statTol = p.dtype == ATTN_DTYPE_F32 ? 1e-4 : 1e-3;
  if (softmax && p.return_lse && !checkStat("lse", lse, refLse, c, statTol, why)) {
    outcome.message = why.str();
    return outcome;
  }
  if (softmax && p.return_entropy && !checkStat("entropy", entropy, refEntropy, c, statTol, why)) {
    outcome.message = why.str();
    return outcome;
  }
  outcome.ok = true;
  return outcome;
}
