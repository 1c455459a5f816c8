//===- LaunchArgsTest.cpp - launch validation and problem normalization ---===//
//
// Calls the validators directly, so every launch-argument check is covered
// even in a build without the compiler plugin (the C API tests need a kernel).
//
//===----------------------------------------------------------------------===//

#include "core/error.h"
#include "core/launch_args.h"
#include "core/problem.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <vector>

namespace {

using namespace attn::rt;

attn_problem normalizedProblem(bool lse = false) {
  attn_problem problem;
  EXPECT_EQ(attn_problem_init(&problem), ATTN_STATUS_SUCCESS);
  problem.heads_q = 4;
  problem.heads_kv = 2;
  problem.return_lse = lse;
  return validateProblem(&problem);
}

struct Buffers {
  std::vector<float> q = std::vector<float>(2 * 5 * 4 * 64);
  std::vector<float> kv = std::vector<float>(2 * 7 * 2 * 64);
  std::vector<float> o = std::vector<float>(2 * 5 * 4 * 64);
  std::vector<float> lse = std::vector<float>(2 * 4 * 5);
  std::vector<int32_t> seqlens = {3, 5};

  attn_launch_args args() {
    attn_launch_args args;
    EXPECT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
    args.batch = 2;
    args.seq_q = 5;
    args.seq_kv = 7;
    auto dense = [](float *data, int64_t s, int64_t h) {
      return attn_tensor{data, {s * h * 64, h * 64, 64, 1}};
    };
    args.q = dense(q.data(), 5, 4);
    args.k = dense(kv.data(), 7, 2);
    args.v = dense(kv.data(), 7, 2);
    args.o = dense(o.data(), 5, 4);
    return args;
  }
};

std::string errorOf(const attn_problem &problem, const attn_launch_args *args) {
  try {
    validateLaunchArgs(problem, args);
  } catch (const Error &error) {
    EXPECT_EQ(error.status(), ATTN_STATUS_INVALID_ARGUMENT);
    return error.what();
  }
  return "";
}

TEST(LaunchArgs, ValidArgsPass) {
  Buffers buffers;
  attn_launch_args args = buffers.args();
  EXPECT_EQ(errorOf(normalizedProblem(), &args), "");
  args.seqlens_q = buffers.seqlens.data();
  args.seqlens_kv = buffers.seqlens.data();
  EXPECT_EQ(errorOf(normalizedProblem(), &args), "");
  args.lse = buffers.lse.data();
  EXPECT_EQ(errorOf(normalizedProblem(/*lse=*/true), &args), "");
}

struct BadArgs {
  const char *needle;
  std::function<void(attn_launch_args &, Buffers &)> apply;
  bool lseProblem = false;
};

TEST(LaunchArgs, EachBadFieldIsNamed) {
  const BadArgs cases[] = {
      {"attn_launch_args.struct_size is 8, expected at least 224",
       [](attn_launch_args &a, Buffers &) { a.struct_size = 8; }},
      {"attn_launch_args.batch is 0", [](attn_launch_args &a, Buffers &) { a.batch = 0; }},
      {"attn_launch_args.seq_q is -1", [](attn_launch_args &a, Buffers &) { a.seq_q = -1; }},
      {"attn_launch_args.seq_kv is 0", [](attn_launch_args &a, Buffers &) { a.seq_kv = 0; }},
      {"attn_launch_args.k.data is NULL",
       [](attn_launch_args &a, Buffers &) { a.k.data = nullptr; }},
      {"attn_launch_args.o.strides[3] is 2, expected 1 (the last dim must be contiguous)",
       [](attn_launch_args &a, Buffers &) { a.o.strides[3] = 2; }},
      {"attn_launch_args.q.strides[0] is -1, expected >= 0",
       [](attn_launch_args &a, Buffers &) { a.q.strides[0] = -1; }},
      {"is not aligned to 4 bytes (the size of one f32 element)",
       [](attn_launch_args &a, Buffers &) { a.v.data = static_cast<char *>(a.v.data) + 2; }},
      {"attn_launch_args.o has overlapping elements",
       [](attn_launch_args &a, Buffers &) { a.o.strides[0] = 0; }},
      {"attn_launch_args.q is too large",
       [](attn_launch_args &a, Buffers &) { a.q.strides[1] = int64_t(1) << 62; }},
      {"attn_launch_args.lse is set, but the kernel's problem does not ask for it",
       [](attn_launch_args &a, Buffers &b) { a.lse = b.lse.data(); }},
      {"attn_launch_args.entropy is set",
       [](attn_launch_args &a, Buffers &b) { a.entropy = b.lse.data(); }},
      {"attn_launch_args.lse is NULL, but the kernel's problem asks for it",
       [](attn_launch_args &, Buffers &) {}, true},
      {"attn_launch_args.lse (",
       [](attn_launch_args &a, Buffers &b) {
         a.lse = reinterpret_cast<float *>(reinterpret_cast<char *>(b.lse.data()) + 1);
       },
       true},
      {"attn_launch_args.seqlens_q[1] is 6, expected 0..5 (seq_q)",
       [](attn_launch_args &a, Buffers &b) {
         b.seqlens = {0, 6};
         a.seqlens_q = b.seqlens.data();
       }},
      {"attn_launch_args.seqlens_kv[0] is -3, expected 0..7 (seq_kv)",
       [](attn_launch_args &a, Buffers &b) {
         b.seqlens = {-3, 1};
         a.seqlens_kv = b.seqlens.data();
       }},
      {"is not aligned to 4 bytes (int32)",
       [](attn_launch_args &a, Buffers &b) {
         a.seqlens_q = reinterpret_cast<const int32_t *>(
             reinterpret_cast<const char *>(b.seqlens.data()) + 2);
       }},
  };
  for (const BadArgs &bad : cases) {
    SCOPED_TRACE(bad.needle);
    Buffers buffers;
    attn_launch_args args = buffers.args();
    bad.apply(args, buffers);
    std::string message = errorOf(normalizedProblem(bad.lseProblem), &args);
    EXPECT_NE(message.find(bad.needle), std::string::npos) << message;
  }
  EXPECT_NE(errorOf(normalizedProblem(), nullptr).find("args is NULL"), std::string::npos);
}

// Two spellings of one kernel normalize to the same problem and cache key.
TEST(ProblemNormalization, SpellingsShareAKey) {
  attn_problem a;
  ASSERT_EQ(attn_problem_init(&a), ATTN_STATUS_SUCCESS);
  attn_problem b = a;
  b.scale = 0.125;
  b.feature_map = ATTN_FEATURE_MAP_IDENTITY;
  b.normalize = 0;
  b.softcap = -0.0;
  b.struct_size = sizeof(attn_problem) + 8; // a newer caller: only read up to our size
  attn_problem na = validateProblem(&a), nb = validateProblem(&b);
  EXPECT_EQ(na.scale, 0.125);
  EXPECT_EQ(na.struct_size, sizeof(attn_problem));
  EXPECT_EQ(nb.struct_size, sizeof(attn_problem));
  EXPECT_FALSE(std::signbit(nb.softcap));
  EXPECT_EQ(problemCacheKey(na), problemCacheKey(nb));

  attn_problem c = a;
  c.causal = 1;
  EXPECT_NE(problemCacheKey(validateProblem(&c)), problemCacheKey(na));
}

TEST(ProblemNormalization, LinearDefaults) {
  attn_problem linear;
  ASSERT_EQ(attn_problem_init(&linear), ATTN_STATUS_SUCCESS);
  linear.variant = ATTN_VARIANT_LINEAR;
  linear.head_dim = 128;
  attn_problem normalized = validateProblem(&linear);
  EXPECT_EQ(normalized.scale, 1.0); // linear attention's default: no scaling
  EXPECT_EQ(normalized.feature_map, ATTN_FEATURE_MAP_ELU_PLUS_ONE);
  linear.scale = 1.0;
  EXPECT_EQ(problemCacheKey(validateProblem(&linear)), problemCacheKey(normalized));
}

} // namespace
