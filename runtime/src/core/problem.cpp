//===- problem.cpp - validation and normalization of attn_problem ---------===//

#include "core/problem.h"
#include "core/struct_init.h"

#include "core/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attn::rt {

namespace {

constexpr int64_t kSupportedHeadDims[] = {32, 64, 80, 96, 128, 192, 256};
constexpr const char *kSupportedHeadDimsText = "32, 64, 80, 96, 128, 192, 256";

void checkEnum(int32_t value, int32_t count, const char *field, const char *expected) {
  if (value < 0 || value >= count)
    failInvalid(format("attn_problem.%s is %d, expected %s", field, value, expected));
}

void checkBool(int32_t value, const char *field) {
  if (value != 0 && value != 1)
    failInvalid(format("attn_problem.%s is %d, expected 0 or 1", field, value));
}

void checkHeadDimSupported(int64_t value, const char *field) {
  for (int64_t supported : kSupportedHeadDims)
    if (value == supported)
      return;
  fail(ATTN_STATUS_UNSUPPORTED,
       format("attn_problem.%s %lld is not supported (supported: %s)", field,
              static_cast<long long>(value), kSupportedHeadDimsText));
}

void checkWindowBound(int64_t value, const char *field) {
  if (value < -1)
    failInvalid(format("attn_problem.%s is %lld, expected >= 0, or -1 for unbounded", field,
                       static_cast<long long>(value)));
}

// Everything that is wrong with the problem as written, independent of what
// this build can run.
void checkFields(const attn_problem &p) {
  checkEnum(rawEnum(p.target), 3, "target",
            "ATTN_TARGET_CPU (0), ATTN_TARGET_CUDA (1) or ATTN_TARGET_VULKAN (2)");
  checkEnum(rawEnum(p.variant), 2, "variant",
            "ATTN_VARIANT_SOFTMAX (0) or ATTN_VARIANT_LINEAR (1)");
  checkEnum(rawEnum(p.dtype), 3, "dtype",
            "ATTN_DTYPE_F32 (0), ATTN_DTYPE_F16 (1) or ATTN_DTYPE_BF16 (2)");
  checkEnum(rawEnum(p.feature_map), 3, "feature_map",
            "ATTN_FEATURE_MAP_ELU_PLUS_ONE (0), ATTN_FEATURE_MAP_RELU (1) or "
            "ATTN_FEATURE_MAP_IDENTITY (2)");
  checkBool(p.causal, "causal");
  checkBool(p.return_lse, "return_lse");
  checkBool(p.return_entropy, "return_entropy");
  checkBool(p.normalize, "normalize");
  checkBool(p.alibi, "alibi");
  checkBool(p.sinks, "sinks");

  if (p.heads_q < 1)
    failInvalid(
        format("attn_problem.heads_q is %lld, expected >= 1", static_cast<long long>(p.heads_q)));
  if (p.heads_kv < 1)
    failInvalid(
        format("attn_problem.heads_kv is %lld, expected >= 1", static_cast<long long>(p.heads_kv)));
  if (p.heads_q > ATTN_MAX_HEADS || p.heads_kv > ATTN_MAX_HEADS)
    failInvalid(format(
        "attn_problem.heads_q/heads_kv are %lld/%lld; at most %d heads are supported "
        "(ATTN_MAX_HEADS)",
        static_cast<long long>(p.heads_q), static_cast<long long>(p.heads_kv), ATTN_MAX_HEADS));
  if (p.heads_q % p.heads_kv != 0)
    failInvalid(format("attn_problem.heads_q (%lld) must be a multiple of heads_kv (%lld) "
                       "(grouped-query attention)",
                       static_cast<long long>(p.heads_q), static_cast<long long>(p.heads_kv)));
  if (p.heads_q / p.heads_kv > ATTN_MAX_GQA_GROUP)
    failInvalid(format("attn_problem.heads_q / heads_kv is %lld query heads per kv head; at most "
                       "%d are supported (ATTN_MAX_GQA_GROUP)",
                       static_cast<long long>(p.heads_q / p.heads_kv), ATTN_MAX_GQA_GROUP));
  if (p.head_dim < 1)
    failInvalid(format("attn_problem.head_dim is %lld, expected a positive head dim",
                       static_cast<long long>(p.head_dim)));
  if (p.head_dim_v < 1)
    failInvalid(format("attn_problem.head_dim_v is %lld, expected a positive head dim",
                       static_cast<long long>(p.head_dim_v)));
  if (!std::isfinite(p.scale) || p.scale < 0)
    failInvalid(
        format("attn_problem.scale is %g, expected a finite value >= 0 (0 = default)", p.scale));
  checkWindowBound(p.window_left, "window_left");
  checkWindowBound(p.window_right, "window_right");
  if (p.global_tokens < 0)
    failInvalid(format("attn_problem.global_tokens is %lld, expected >= 0",
                       static_cast<long long>(p.global_tokens)));
  if (!std::isfinite(p.softcap) || p.softcap < 0)
    failInvalid(
        format("attn_problem.softcap is %g, expected a finite value >= 0 (0 = none)", p.softcap));
  if (p.page_size != 0 && (p.page_size < 1 || p.page_size > ATTN_MAX_PAGE_SIZE ||
                           (p.page_size & (p.page_size - 1)) != 0))
    failInvalid(format("attn_problem.page_size is %lld, expected 0 (no paged KV cache) or a power "
                       "of two from 1 to %d (ATTN_MAX_PAGE_SIZE)",
                       static_cast<long long>(p.page_size), ATTN_MAX_PAGE_SIZE));

  if (p.variant == ATTN_VARIANT_LINEAR) {
    if (p.return_lse)
      failInvalid("linear attention has no softmax: it cannot return LSE "
                  "(attn_problem.return_lse must be 0)");
    if (p.return_entropy)
      failInvalid("linear attention has no softmax: it cannot return entropy "
                  "(attn_problem.return_entropy must be 0)");
    if (p.window_left != -1 || p.window_right != -1)
      failInvalid(format("linear attention has no sliding window: attn_problem.window_left/"
                         "window_right must be -1, got %lld/%lld",
                         static_cast<long long>(p.window_left),
                         static_cast<long long>(p.window_right)));
    if (p.global_tokens != 0)
      failInvalid(format("linear attention has no global tokens: attn_problem.global_tokens "
                         "must be 0, got %lld",
                         static_cast<long long>(p.global_tokens)));
    if (p.softcap != 0)
      failInvalid(format("linear attention has no logits to cap: attn_problem.softcap must be "
                         "0, got %g",
                         p.softcap));
    if (p.page_size != 0)
      failInvalid(format("linear attention does not read a paged KV cache: attn_problem."
                         "page_size must be 0, got %lld",
                         static_cast<long long>(p.page_size)));
    if (p.alibi)
      failInvalid("linear attention has no scores to bias: attn_problem.alibi must be 0");
    if (p.sinks)
      failInvalid("linear attention has no softmax to add sinks to: attn_problem.sinks must be 0");
  }
}

// What a valid problem may still ask that this build cannot do.
void checkSupported(const attn_problem &p) {
#if !ATTN_HAVE_CUDA
  if (p.target == ATTN_TARGET_CUDA)
    fail(ATTN_STATUS_UNSUPPORTED,
         "attn_problem.target is ATTN_TARGET_CUDA, but this build has no CUDA backend");
#endif
#if !ATTN_HAVE_VULKAN
  if (p.target == ATTN_TARGET_VULKAN)
    fail(ATTN_STATUS_UNSUPPORTED,
         "attn_problem.target is ATTN_TARGET_VULKAN, but this build has no Vulkan backend");
#endif
  if (p.page_size != 0 && p.target == ATTN_TARGET_CUDA)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("a paged KV cache (attn_problem.page_size %lld) is supported on ATTN_TARGET_CPU "
                "and ATTN_TARGET_VULKAN only so far",
                static_cast<long long>(p.page_size)));
  if ((p.alibi || p.sinks) && p.target == ATTN_TARGET_CUDA)
    fail(ATTN_STATUS_UNSUPPORTED, format("%s (attn_problem.%s) %s supported on ATTN_TARGET_CPU "
                                         "and ATTN_TARGET_VULKAN only so far",
                                         p.alibi && p.sinks ? "ALiBi and sink logits"
                                         : p.alibi          ? "ALiBi"
                                                            : "sink logits",
                                         p.alibi && p.sinks ? "alibi, sinks"
                                         : p.alibi          ? "alibi"
                                                            : "sinks",
                                         p.alibi && p.sinks ? "are" : "is"));
  checkHeadDimSupported(p.head_dim, "head_dim");
  checkHeadDimSupported(p.head_dim_v, "head_dim_v");
}

// The mask in the dialect's canonical form (AttnCanonicalize.cpp), so that one meaning has one
// spelling (one cache entry) and the problem equals what the code's manifest says. No sequence is
// longer than ATTN_MAX_SEQUENCE_LENGTH, so no |p_i - j| reaches it: a bound that large is
// unbounded, and more global tokens than that are that many.
void canonicalizeMask(attn_problem &p) {
  for (int64_t *bound : {&p.window_left, &p.window_right})
    if (*bound >= ATTN_MAX_SEQUENCE_LENGTH)
      *bound = -1;
  p.global_tokens = std::min<int64_t>(p.global_tokens, ATTN_MAX_SEQUENCE_LENGTH);
  if (p.window_right == 0)
    p.causal = 1;
  if (p.causal)
    p.window_right = -1;
  if (p.window_left == -1 && p.window_right == -1)
    p.global_tokens = 0;
}

template <typename T> void appendField(std::string &key, const T &value) {
  key.append(reinterpret_cast<const char *>(&value), sizeof(value));
}

} // namespace

attn_problem validateProblem(const attn_problem *problem) {
  requireNonNull(problem, "problem");
  if (problem->struct_size < kProblemSizeV1)
    failInvalid(format("attn_problem.struct_size is %zu, expected at least %zu "
                       "(initialize it with attn_problem_init)",
                       problem->struct_size, kProblemSizeV1));
  // A larger struct_size comes from a newer header: its extra fields are not
  // known here and are not read. A smaller one (at least the first version's)
  // comes from an older header: the fields it lacks take their defaults.
  attn_problem p{};
  std::memcpy(&p, problem, std::min(problem->struct_size, sizeof(p)));
  checkFields(p);
  checkSupported(p);

  p.struct_size = sizeof(attn_problem);
  if (p.variant == ATTN_VARIANT_SOFTMAX) {
    if (p.scale == 0)
      p.scale = 1.0 / std::sqrt(static_cast<double>(p.head_dim));
    p.feature_map = ATTN_FEATURE_MAP_ELU_PLUS_ONE;
    p.normalize = 1;
    canonicalizeMask(p);
  } else if (p.scale == 0) {
    p.scale = 1.0;
  }
  if (p.softcap == 0)
    p.softcap = 0.0; // -0.0 passes validation; one spelling of "no softcap"
  return p;
}

std::string problemCacheKey(const attn_problem &p) {
  std::string key;
  appendField(key, p.target);
  appendField(key, p.variant);
  appendField(key, p.dtype);
  appendField(key, p.heads_q);
  appendField(key, p.heads_kv);
  appendField(key, p.head_dim);
  appendField(key, p.head_dim_v);
  appendField(key, p.scale);
  appendField(key, p.causal);
  appendField(key, p.window_left);
  appendField(key, p.window_right);
  appendField(key, p.global_tokens);
  appendField(key, p.softcap);
  appendField(key, p.return_lse);
  appendField(key, p.return_entropy);
  appendField(key, p.feature_map);
  appendField(key, p.normalize);
  appendField(key, p.page_size);
  appendField(key, p.alibi);
  appendField(key, p.sinks);
  return key;
}

size_t dtypeSize(attn_dtype dtype) { return dtype == ATTN_DTYPE_F32 ? 4 : 2; }

const char *dtypeName(attn_dtype dtype) {
  switch (dtype) {
  case ATTN_DTYPE_F32:
    return "f32";
  case ATTN_DTYPE_F16:
    return "f16";
  case ATTN_DTYPE_BF16:
    return "bf16";
  }
  return "?";
}

} // namespace attn::rt

using namespace attn::rt;

extern "C" ATTN_API attn_status attn_problem_init_sized(attn_problem *problem, size_t structSize) {
  return guard([&] {
    attn_problem defaults{};
    defaults.target = ATTN_TARGET_CPU;
    defaults.variant = ATTN_VARIANT_SOFTMAX;
    defaults.dtype = ATTN_DTYPE_F32;
    defaults.heads_q = 1;
    defaults.heads_kv = 1;
    defaults.head_dim = 64;
    defaults.head_dim_v = 64;
    defaults.scale = 0;
    defaults.window_left = -1;
    defaults.window_right = -1;
    defaults.feature_map = ATTN_FEATURE_MAP_ELU_PLUS_ONE;
    defaults.normalize = 1;
    initSized(problem, structSize, defaults, kProblemSizeV1, "problem");
    return ATTN_STATUS_SUCCESS;
  });
}
