//===- VectorWidthTest.cpp - the CPU kernels at every width and legal config ===//
//
// The JIT compiles for the host's widest vectors (16 f32 lanes on AVX-512) with the heuristic
// tiles, so the public conformance suite exercises one configuration per problem. Here the
// compiler library is driven directly with the tile configuration forced: the heuristic at 16, 8
// (AVX2) and 4 (SSE) lanes, and a sweep of legal #attn.cpu_config values (what a tuner may pick:
// odd block sizes, decode rows and splits at their bounds), each entry point called on small
// problems and compared with the float64 oracle. Narrower code runs on wider hardware, so this
// machine checks what an AVX2-only machine would run.
//
//===----------------------------------------------------------------------===//

#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/ObjectLoader.h"
#include "attn/Oracle/Oracle.h"
#include "attn/Oracle/TestUtil.h"
#include "attn/Tuning/Tuning.h"
#include "attn/attn_jit_plugin.h"

#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"

#include <cstring>
#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::attn;

namespace {

attn_memref4 memref4(float *data, std::array<int64_t, 4> sizes) {
  attn_memref4 m{};
  m.allocated = m.aligned = data;
  for (int i = 0; i < 4; ++i)
    m.sizes[i] = sizes[i];
  m.strides[3] = 1;
  for (int i = 2; i >= 0; --i)
    m.strides[i] = m.strides[i + 1] * sizes[i + 1];
  return m;
}

attn_memref3 memref3(float *data, std::array<int64_t, 3> sizes) {
  attn_memref3 m{};
  m.allocated = m.aligned = data;
  for (int i = 0; i < 3; ++i)
    m.sizes[i] = sizes[i];
  m.strides[2] = 1;
  m.strides[1] = sizes[2];
  m.strides[0] = sizes[1] * sizes[2];
  return m;
}

/// ATTN_PARAM_SCALE's value: the bits of an f32.
int64_t scaleBits(double scale) {
  float f = static_cast<float>(scale);
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

attn_memref1 params(int64_t *values) {
  attn_memref1 m{};
  m.allocated = m.aligned = values;
  m.sizes[0] = ATTN_PARAM_COUNT;
  m.strides[0] = 1;
  return m;
}

struct Compiled {
  std::unique_ptr<LoadedObject> object;
  CPUKernelConfig config;
};

/// Compiles `problem` with the tile configuration forced to `config` (block_q = 0: the heuristic
/// for its width).
Compiled compile(const attn_problem &problem, const CPUKernelConfig &forced) {
  const int64_t width = forced.vectorWidth;
  MLIRContext ctx(cpuCompilerRegistry(), MLIRContext::Threading::DISABLED);
  std::string error;
  auto module = buildProblemModule(ctx, problem, error);
  EXPECT_TRUE(succeeded(module)) << error;
  (*module)->walk([&](Operation *op) {
    if (isa<AttentionOp, LinearAttentionOp>(op))
      setCPUConfig(op, forced.blockQ ? forced : chooseCPUConfig(op, width));
  });
  Compiled compiled;
  const CPUTargetInfo &host = CPUTargetInfo::host();
  EXPECT_TRUE(succeeded(prepareProblemModule(**module, host, compiled.config, error))) << error;
  EXPECT_EQ(compiled.config.vectorWidth, width);
  if (forced.blockQ) { // kept as given, not replaced by the heuristic
    EXPECT_EQ(compiled.config.blockQ, forced.blockQ);
    EXPECT_EQ(compiled.config.blockK, forced.blockK);
    EXPECT_EQ(compiled.config.decodeRows, forced.decodeRows);
    EXPECT_EQ(compiled.config.splitKeys, forced.splitKeys);
  }
  auto objects = compileToObjects(**module, host, error);
  EXPECT_TRUE(succeeded(objects)) << error;
  auto loaded = LoadedObject::load(*objects);
  EXPECT_TRUE(bool(loaded));
  compiled.object = std::move(*loaded);
  return compiled;
}

struct Shape {
  int64_t batch, seqQ, seqKv, headsQ, headsKv, headDim, headDimV;
};

struct Inputs {
  std::vector<double> q, k, v;
  std::vector<float> qf, kf, vf;
  explicit Inputs(const Shape &s) {
    q.resize(s.batch * s.seqQ * s.headsQ * s.headDim);
    k.resize(s.batch * s.seqKv * s.headsKv * s.headDim);
    v.resize(s.batch * s.seqKv * s.headsKv * s.headDimV);
    ::attn::testutil::fillRandom(q, 1);
    ::attn::testutil::fillRandom(k, 2);
    ::attn::testutil::fillRandom(v, 3);
    qf.assign(q.begin(), q.end());
    kf.assign(k.begin(), k.end());
    vf.assign(v.begin(), v.end());
    // The oracle sees exactly the f32 values the kernel reads.
    q.assign(qf.begin(), qf.end());
    k.assign(kf.begin(), kf.end());
    v.assign(vf.begin(), vf.end());
  }
};

class VectorWidth : public ::testing::TestWithParam<CPUKernelConfig> {};

TEST_P(VectorWidth, SoftmaxMainAndDecodeMatchTheOracle) {
  const CPUKernelConfig config = GetParam();
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  Shape s{2, 37, 150, 4, 2, 32, 64};
  p.heads_q = s.headsQ;
  p.heads_kv = s.headsKv;
  p.head_dim = s.headDim;
  p.head_dim_v = s.headDimV;
  p.causal = 1;
  p.window_left = 40;
  p.global_tokens = 3;
  p.softcap = 20.0;
  p.return_lse = 1;
  p.scale = 1.0 / std::sqrt(32.0);
  Compiled kernel = compile(p, config);
  auto main = reinterpret_cast<attn_softmax_fn>(kernel.object->lookup("_mlir_ciface_attn_main"));
  auto decode = reinterpret_cast<attn_decode_fn>(kernel.object->lookup("_mlir_ciface_attn_decode"));
  auto merge = reinterpret_cast<attn_merge_fn>(kernel.object->lookup("_mlir_ciface_attn_merge"));
  ASSERT_TRUE(main && decode && merge);

  ::attn::oracle::AttentionProblem op;
  op.batch = s.batch;
  op.seqQ = s.seqQ;
  op.seqKv = s.seqKv;
  op.headsQ = s.headsQ;
  op.headsKv = s.headsKv;
  op.headDim = s.headDim;
  op.headDimV = s.headDimV;
  op.scale = p.scale;
  op.causal = true;
  op.windowLeft = 40;
  op.globalTokens = 3;
  op.softcap = 20.0;

  // Prefill through attn_main.
  Inputs in(s);
  std::vector<float> o(s.batch * s.seqQ * s.headsQ * s.headDimV), lse(s.batch * s.headsQ * s.seqQ);
  ::attn::testutil::poison(o.data(), o.size());
  auto q = memref4(in.qf.data(), {s.batch, s.seqQ, s.headsQ, s.headDim});
  auto k = memref4(in.kf.data(), {s.batch, s.seqKv, s.headsKv, s.headDim});
  auto v = memref4(in.vf.data(), {s.batch, s.seqKv, s.headsKv, s.headDimV});
  auto out = memref4(o.data(), {s.batch, s.seqQ, s.headsQ, s.headDimV});
  auto lseRef = memref3(lse.data(), {s.batch, s.headsQ, s.seqQ});
  attn_memref3 none{};
  int32_t zero = 0;
  attn_memref1 noLens{&zero, &zero, 0, {1}, {1}};
  attn_memref2 noTable{&zero, &zero, 0, {1, 1}, {1, 1}};
  float noValue = 0.0f;
  attn_memref1 noHeads{&noValue, &noValue, 0, {1}, {1}};
  int64_t nqb = (s.seqQ + kernel.config.blockQ - 1) / kernel.config.blockQ;
  int64_t mainParams[ATTN_PARAM_COUNT] = {0, s.batch * s.headsKv * nqb, 0, 0,
                                          1, scaleBits(p.scale)};
  attn_memref1 mp = params(mainParams);
  main(&q, &k, &v, &out, &lseRef, &none, &noLens, &noLens, &noTable, &noHeads, &noHeads, &mp);
  std::vector<double> ref(o.size()), refLse(lse.size());
  ::attn::oracle::attention(op, in.q.data(), in.k.data(), in.v.data(), ref.data(), refLse.data(),
                            nullptr);
  EXPECT_LE(::attn::testutil::relativeFrobeniusError(o.data(), ref.data(), o.size()), 1e-5);

  // Decode (Sq = 2) through attn_decode with 3 splits, then attn_merge.
  Shape d{2, 2, 700, 4, 2, 32, 64};
  Inputs din(d);
  op.seqQ = d.seqQ;
  op.seqKv = d.seqKv;
  const int64_t splits = 3;
  std::vector<float> parts(splits * d.batch * d.seqQ * d.headsQ * d.headDimV);
  std::vector<float> partLse(splits * d.batch * d.headsQ * d.seqQ);
  std::vector<float> dout(d.batch * d.seqQ * d.headsQ * d.headDimV),
      dlse(d.batch * d.headsQ * d.seqQ);
  ::attn::testutil::poison(dout.data(), dout.size());
  auto dq = memref4(din.qf.data(), {d.batch, d.seqQ, d.headsQ, d.headDim});
  auto dk = memref4(din.kf.data(), {d.batch, d.seqKv, d.headsKv, d.headDim});
  auto dv = memref4(din.vf.data(), {d.batch, d.seqKv, d.headsKv, d.headDimV});
  auto partsRef = memref4(parts.data(), {splits * d.batch, d.seqQ, d.headsQ, d.headDimV});
  auto partLseRef = memref3(partLse.data(), {splits * d.batch, d.headsQ, d.seqQ});
  auto doutRef = memref4(dout.data(), {d.batch, d.seqQ, d.headsQ, d.headDimV});
  auto dlseRef = memref3(dlse.data(), {d.batch, d.headsQ, d.seqQ});
  int64_t decodeParams[ATTN_PARAM_COUNT] = {0, splits * d.batch, 0, 0, splits, scaleBits(p.scale)};
  attn_memref1 dp = params(decodeParams);
  decode(&dq, &dk, &dv, &partsRef, &partLseRef, &noLens, &noLens, &noTable, &noHeads, &noHeads,
         &dp);
  int64_t mergeParams[ATTN_PARAM_COUNT] = {0, d.batch * d.seqQ, 0, 0, splits, scaleBits(p.scale)};
  attn_memref1 merp = params(mergeParams);
  merge(&partsRef, &partLseRef, &doutRef, &dlseRef, &noLens, &merp);
  std::vector<double> dref(dout.size()), dRefLse(dlse.size());
  ::attn::oracle::attention(op, din.q.data(), din.k.data(), din.v.data(), dref.data(),
                            dRefLse.data(), nullptr);
  EXPECT_LE(::attn::testutil::relativeFrobeniusError(dout.data(), dref.data(), dout.size()), 1e-5);
  for (size_t i = 0; i < dlse.size(); ++i)
    EXPECT_NEAR(dlse[i], dRefLse[i], 1e-4 * (1 + std::fabs(dRefLse[i]))) << i;
}

TEST_P(VectorWidth, LinearMatchesTheOracle) {
  const CPUKernelConfig config = GetParam();
  attn_problem p;
  ASSERT_EQ(attn_problem_init(&p), ATTN_STATUS_SUCCESS);
  Shape s{2, 150, 100, 4, 2, 32, 16};
  p.variant = ATTN_VARIANT_LINEAR;
  p.heads_q = s.headsQ;
  p.heads_kv = s.headsKv;
  p.head_dim = s.headDim;
  p.head_dim_v = s.headDimV;
  p.causal = 1;
  p.scale = 1.0;
  Compiled kernel = compile(p, config);
  auto linear = reinterpret_cast<attn_linear_fn>(kernel.object->lookup("_mlir_ciface_attn_linear"));
  ASSERT_TRUE(linear);
  Inputs in(s);
  std::vector<float> o(s.batch * s.seqQ * s.headsQ * s.headDimV);
  ::attn::testutil::poison(o.data(), o.size());
  auto q = memref4(in.qf.data(), {s.batch, s.seqQ, s.headsQ, s.headDim});
  auto k = memref4(in.kf.data(), {s.batch, s.seqKv, s.headsKv, s.headDim});
  auto v = memref4(in.vf.data(), {s.batch, s.seqKv, s.headsKv, s.headDimV});
  auto out = memref4(o.data(), {s.batch, s.seqQ, s.headsQ, s.headDimV});
  int32_t zero = 0;
  attn_memref1 noLens{&zero, &zero, 0, {1}, {1}};
  attn_memref2 noTable{&zero, &zero, 0, {1, 1}, {1, 1}};
  int64_t values[ATTN_PARAM_COUNT] = {0, s.batch * s.headsKv, 0, 0, 1, scaleBits(p.scale)};
  attn_memref1 lp = params(values);
  linear(&q, &k, &v, &out, &noLens, &noLens, &lp);
  ::attn::oracle::LinearProblem op;
  op.batch = s.batch;
  op.seqQ = s.seqQ;
  op.seqKv = s.seqKv;
  op.headsQ = s.headsQ;
  op.headsKv = s.headsKv;
  op.headDim = s.headDim;
  op.headDimV = s.headDimV;
  op.causal = true;
  std::vector<double> ref(o.size());
  ::attn::oracle::linearAttention(op, in.q.data(), in.k.data(), in.v.data(), ref.data());
  EXPECT_LE(::attn::testutil::relativeFrobeniusError(o.data(), ref.data(), o.size()), 1e-5);
}

/// The heuristic at each width, then a deterministic sample of legal configurations (checked by
/// the dialect's own verifier): block_q 1..48, block_k from one vector to 96 keys, decode rows
/// from the decode launch's 8 rows up, splits of one tile or several.
std::vector<CPUKernelConfig> configurations() {
  std::vector<CPUKernelConfig> configs;
  for (int64_t width : {4, 8, 16})
    configs.push_back({0, 0, width});
  const int64_t group = 2; // the problems' Hq / Hkv
  for (int64_t width : {4, 8, 16})
    for (auto [blockQ, blockKVectors, decodeRows, splitTiles] :
         {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 1, 8, 1},
          {3, 3, 64, 4},
          {48, 6, 256, 2}}) {
      CPUKernelConfig c{blockQ, blockKVectors * width, width, decodeRows,
                        splitTiles * blockKVectors * width};
      MLIRContext ctx;
      bool legal = succeeded(
          verifyCPUConfigValues([&] { return mlir::emitError(UnknownLoc::get(&ctx)); }, c.blockQ,
                                c.blockK, c.vectorWidth, c.decodeRows, c.splitKeys, group));
      EXPECT_TRUE(legal) << "the sweep holds an illegal configuration";
      if (legal)
        configs.push_back(c);
    }
  // What attnc tune may pick: a deterministic sample (every third) of the tuner's search space
  // for the softmax test's problem at both phases, on AVX2 and AVX-512 targets.
  attn_problem p;
  (void)attn_problem_init(&p);
  p.heads_q = 4;
  p.heads_kv = p.heads_q / group;
  p.head_dim = 32;
  p.head_dim_v = 64;
  p.causal = 1;
  p.window_left = 40;
  p.global_tokens = 3;
  p.softcap = 20.0;
  p.return_lse = 1;
  MLIRContext ctx(cpuCompilerRegistry());
  std::string error;
  auto module = buildProblemModule(ctx, p, error);
  EXPECT_TRUE(succeeded(module)) << error;
  Operation *op = nullptr;
  (*module)->walk([&](AttentionOp a) { op = a; });
  for (const char *level : {"x86-64-v3", "x86-64-v4"})
    for (Phase phase : {Phase::Prefill, Phase::Decode}) {
      std::vector<CPUKernelConfig> space =
          cpuSearchSpace(op, *CPUTargetInfo::fromName(level), phase);
      EXPECT_GE(space.size(), 3u) << level << " " << phaseName(phase);
      for (size_t i = 1; i < space.size(); i += 3)
        configs.push_back(space[i]);
    }
  return configs;
}

INSTANTIATE_TEST_SUITE_P(Configs, VectorWidth, ::testing::ValuesIn(configurations()),
                         [](const ::testing::TestParamInfo<CPUKernelConfig> &info) {
                           const CPUKernelConfig &c = info.param;
                           if (!c.blockQ)
                             return "heuristic_f32x" + std::to_string(c.vectorWidth);
                           return std::to_string(info.index) + "_w" +
                                  std::to_string(c.vectorWidth) + "_q" + std::to_string(c.blockQ) +
                                  "_k" + std::to_string(c.blockK) + "_d" +
                                  std::to_string(c.decodeRows) + "_s" + std::to_string(c.splitKeys);
                         });

} // namespace
