//===- RuntimeTestUtil.cpp - helpers for the C API tests ------------------===//

#include "RuntimeTestUtil.h"

#include "attn/Oracle/Oracle.h"
#include "attn/Oracle/TestUtil.h"

#include <cmath>
#include <cstring>

namespace attn::rttest {

using attn::testutil::relativeFrobeniusError;

ContextPtr makeContext(const attn_context_options *options) {
  attn_context *context = nullptr;
  attn_status status = attn_context_create(options, &context);
  EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  return ContextPtr(context);
}

ContextPtr makeContext(int32_t numThreads) {
  attn_context_options options;
  EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = numThreads;
  options.disk_cache = 0;
  return makeContext(&options);
}

attn_problem makeProblem(attn_variant variant, attn_dtype dtype, int64_t headsQ, int64_t headsKv,
                         int64_t headDim, int64_t headDimV) {
  attn_problem problem;
  EXPECT_EQ(attn_problem_init(&problem), ATTN_STATUS_SUCCESS);
  problem.variant = variant;
  problem.dtype = dtype;
  problem.heads_q = headsQ;
  problem.heads_kv = headsKv;
  problem.head_dim = headDim;
  problem.head_dim_v = headDimV;
  return problem;
}

bool isNoPluginError(attn_status status, const char *message) {
  return status == ATTN_STATUS_UNSUPPORTED &&
         std::strstr(message, "no compiler plugin was found") != nullptr;
}

namespace {

std::array<int64_t, 4> stridesFor(const std::array<int64_t, 4> &n, Layout layout) {
  const int64_t S = n[1], H = n[2], D = n[3];
  switch (layout) {
  case Layout::BSHD:
    return {S * H * D, H * D, D, 1};
  case Layout::BHSD:
    return {H * S * D, D, S * D, 1};
  case Layout::PaddedBSHD: // rows padded by 8 elements: strides that are not dense
    return {S * H * (D + 8), H * (D + 8), D + 8, 1};
  }
  return {};
}

size_t elementSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

} // namespace

Tensor::Tensor(attn_dtype dtype, std::array<int64_t, 4> sizes, Layout layout)
    : dtype_(dtype), sizes_(sizes), strides_(stridesFor(sizes, layout)) {
  int64_t span = 1;
  for (int d = 0; d < 4; ++d)
    span += (sizes_[d] - 1) * strides_[d];
  storage_.assign((span * elementSize(dtype) + 3) / 4, 0);
  values_.assign(sizes_[0] * sizes_[1] * sizes_[2] * sizes_[3], 0.0);
}

int64_t Tensor::offset(int64_t b, int64_t s, int64_t h, int64_t d) const {
  return b * strides_[0] + s * strides_[1] + h * strides_[2] + d * strides_[3];
}

void Tensor::set(int64_t index, double value) {
  if (dtype_ == ATTN_DTYPE_F32) {
    reinterpret_cast<float *>(storage_.data())[index] = static_cast<float>(value);
    return;
  }
  uint16_t bits = dtype_ == ATTN_DTYPE_F16 ? testutil::floatToHalf(static_cast<float>(value))
                                           : testutil::floatToBf16(static_cast<float>(value));
  reinterpret_cast<uint16_t *>(storage_.data())[index] = bits;
}

double Tensor::get(int64_t b, int64_t s, int64_t h, int64_t d) const {
  int64_t index = offset(b, s, h, d);
  if (dtype_ == ATTN_DTYPE_F32)
    return reinterpret_cast<const float *>(storage_.data())[index];
  uint16_t bits = reinterpret_cast<const uint16_t *>(storage_.data())[index];
  return dtype_ == ATTN_DTYPE_F16 ? testutil::halfToFloat(bits) : testutil::bf16ToFloat(bits);
}

void Tensor::fillRandom(uint64_t seed, double lo, double hi) {
  std::vector<double> random(values_.size());
  testutil::fillRandom(random, seed, lo, hi);
  int64_t i = 0;
  for (int64_t b = 0; b < sizes_[0]; ++b)
    for (int64_t s = 0; s < sizes_[1]; ++s)
      for (int64_t h = 0; h < sizes_[2]; ++h)
        for (int64_t d = 0; d < sizes_[3]; ++d, ++i) {
          set(offset(b, s, h, d), random[i]);
          values_[i] = get(b, s, h, d); // what the kernel will read
        }
}

void Tensor::poison() {
  if (dtype_ == ATTN_DTYPE_F32)
    testutil::poison(reinterpret_cast<float *>(storage_.data()), storage_.size());
  else
    testutil::poison(reinterpret_cast<uint16_t *>(storage_.data()), storage_.size() * 2);
}

attn_tensor Tensor::view() {
  attn_tensor view;
  view.data = storage_.data();
  for (int d = 0; d < 4; ++d)
    view.strides[d] = strides_[d];
  return view;
}

double tolerance(attn_dtype dtype) {
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

void expectAccurate(const CaseResult &result, attn_dtype dtype) {
  ASSERT_EQ(result.status, ATTN_STATUS_SUCCESS) << result.error;
  EXPECT_LE(result.oError, tolerance(dtype));
  EXPECT_LE(result.lseError, 1e-5); // statistics are f32 whatever the dtype
  EXPECT_LE(result.entropyError, 1e-5);
  EXPECT_EQ(result.clobberedPadRows, 0) << "rows i >= Lq must be left as they were";
}

namespace {

std::vector<int64_t> widen(const std::vector<int32_t> &values) {
  return std::vector<int64_t>(values.begin(), values.end());
}

// Compares O (and the statistics) on written rows; counts written pad rows.
void compare(const AttentionCase &c, const Tensor &o, const std::vector<float> &lse,
             const std::vector<float> &entropy, const std::vector<double> &refO,
             const std::vector<double> &refLse, const std::vector<double> &refEntropy,
             CaseResult &result) {
  const attn_problem &p = c.problem;
  const int64_t Hq = p.heads_q, Dv = p.head_dim_v, Sq = c.seqQ;
  std::vector<float> gotO, gotLse, gotEntropy;
  std::vector<double> wantO, wantLse, wantEntropy;
  for (int64_t b = 0; b < c.batch; ++b) {
    int64_t lq = c.seqlensQ.empty() ? Sq : c.seqlensQ[b];
    for (int64_t i = 0; i < Sq; ++i)
      for (int64_t h = 0; h < Hq; ++h) {
        int64_t statIndex = (b * Hq + h) * Sq + i;
        if (i >= lq) {
          bool written = false;
          for (int64_t d = 0; d < Dv; ++d)
            written |= !std::isnan(o.get(b, i, h, d));
          if (p.return_lse && !std::isnan(lse[statIndex]))
            written = true;
          if (p.return_entropy && !std::isnan(entropy[statIndex]))
            written = true;
          result.clobberedPadRows += written;
          continue;
        }
        for (int64_t d = 0; d < Dv; ++d) {
          gotO.push_back(static_cast<float>(o.get(b, i, h, d)));
          wantO.push_back(refO[((b * Sq + i) * Hq + h) * Dv + d]);
        }
        if (p.return_lse) {
          gotLse.push_back(lse[statIndex]);
          wantLse.push_back(refLse[statIndex]);
        }
        if (p.return_entropy) {
          gotEntropy.push_back(entropy[statIndex]);
          wantEntropy.push_back(refEntropy[statIndex]);
        }
      }
  }
  result.oError = relativeFrobeniusError(gotO.data(), wantO.data(), gotO.size());
  if (p.return_lse)
    result.lseError = relativeFrobeniusError(gotLse.data(), wantLse.data(), gotLse.size());
  if (p.return_entropy)
    result.entropyError =
        relativeFrobeniusError(gotEntropy.data(), wantEntropy.data(), gotEntropy.size());
}

} // namespace

attn_launch_args launchArgs(Tensor &q, Tensor &k, Tensor &v, Tensor &o) {
  attn_launch_args args;
  EXPECT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  args.batch = q.sizes()[0];
  args.seq_q = q.sizes()[1];
  args.seq_kv = k.sizes()[1];
  args.q = q.view();
  args.k = k.view();
  args.v = v.view();
  args.o = o.view();
  return args;
}

CaseResult runCase(attn_kernel *kernel, const AttentionCase &c) {
  const attn_problem &p = c.problem;
  const int64_t B = c.batch, Sq = c.seqQ, Skv = c.seqKv;
  Tensor q(p.dtype, {B, Sq, p.heads_q, p.head_dim}, c.layout);
  Tensor k(p.dtype, {B, Skv, p.heads_kv, p.head_dim}, c.layout);
  Tensor v(p.dtype, {B, Skv, p.heads_kv, p.head_dim_v}, c.layout);
  Tensor o(p.dtype, {B, Sq, p.heads_q, p.head_dim_v}, c.layout);
  q.fillRandom(c.seed);
  k.fillRandom(c.seed + 1);
  v.fillRandom(c.seed + 2);
  o.poison();
  const size_t statCount = static_cast<size_t>(B * p.heads_q * Sq);
  std::vector<float> lse(statCount), entropy(statCount);
  testutil::poison(lse.data(), lse.size());
  testutil::poison(entropy.data(), entropy.size());

  attn_launch_args args = launchArgs(q, k, v, o);
  args.lse = p.return_lse ? lse.data() : nullptr;
  args.entropy = p.return_entropy ? entropy.data() : nullptr;
  args.seqlens_q = c.seqlensQ.empty() ? nullptr : c.seqlensQ.data();
  args.seqlens_kv = c.seqlensKv.empty() ? nullptr : c.seqlensKv.data();
  args.workspace = c.workspace;
  args.workspace_bytes = c.workspaceBytes;

  CaseResult result;
  result.status = attn_kernel_launch(kernel, &args);
  if (result.status != ATTN_STATUS_SUCCESS) {
    result.error = attn_last_error();
    return result;
  }

  std::vector<double> refO(o.values().size(), 0.0), refLse(statCount), refEntropy(statCount);
  if (p.variant == ATTN_VARIANT_LINEAR) {
    oracle::LinearProblem lp;
    lp.batch = B;
    lp.seqQ = Sq;
    lp.seqKv = Skv;
    lp.headsQ = p.heads_q;
    lp.headsKv = p.heads_kv;
    lp.headDim = p.head_dim;
    lp.headDimV = p.head_dim_v;
    lp.featureMap = static_cast<oracle::FeatureMap>(p.feature_map);
    lp.causal = p.causal;
    lp.normalize = p.normalize;
    lp.scale = p.scale == 0 ? 1.0 : p.scale;
    lp.seqlensQ = widen(c.seqlensQ);
    lp.seqlensKv = widen(c.seqlensKv);
    oracle::linearAttention(lp, q.values().data(), k.values().data(), v.values().data(),
                            refO.data());
  } else {
    oracle::AttentionProblem ap;
    ap.batch = B;
    ap.seqQ = Sq;
    ap.seqKv = Skv;
    ap.headsQ = p.heads_q;
    ap.headsKv = p.heads_kv;
    ap.headDim = p.head_dim;
    ap.headDimV = p.head_dim_v;
    if (p.scale != 0)
      ap.scale = p.scale;
    ap.causal = p.causal;
    ap.windowLeft = p.window_left;
    ap.windowRight = p.window_right;
    ap.globalTokens = p.global_tokens;
    ap.softcap = p.softcap;
    ap.seqlensQ = widen(c.seqlensQ);
    ap.seqlensKv = widen(c.seqlensKv);
    oracle::attention(ap, q.values().data(), k.values().data(), v.values().data(), refO.data(),
                      refLse.data(), refEntropy.data());
  }
  compare(c, o, lse, entropy, refO, refLse, refEntropy, result);
  return result;
}

} // namespace attn::rttest
