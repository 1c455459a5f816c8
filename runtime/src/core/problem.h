//===- problem.h - validation and normalization of attn_problem -----------===//
//
// attn_kernel_create accepts a caller's attn_problem only after every field
// has been checked (SPEC section 6: each bad input gets a message naming it).
// The validated problem is then normalized - fields that do not apply to the
// variant reset to their defaults, the default scale made explicit - so that
// two spellings of one kernel share a cache entry, and so the compiler plugin
// receives one well-formed struct of the runtime's own size.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_PROBLEM_H
#define ATTN_RUNTIME_CORE_PROBLEM_H

#include "attn/attn_runtime.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace attn::rt {

/// An enum field or argument read as a plain int: a C caller can store any value there, and an
/// out-of-range value must become a message, not undefined behaviour.
template <typename Enum> int32_t rawEnum(const Enum &field) {
  static_assert(sizeof(Enum) == sizeof(int32_t), "C enums are int-sized");
  int32_t value;
  std::memcpy(&value, &field, sizeof(value));
  return value;
}

/// The size of the first version of attn_problem: callers compiled against it
/// pass at least this much.
constexpr size_t kProblemSizeV1 =
    offsetof(attn_problem, normalize) + sizeof(attn_problem::normalize);

/// Validates *problem (throws Error naming the first bad field) and returns
/// its normalized copy: struct_size = sizeof(attn_problem), scale resolved,
/// fields unused by the variant at their defaults.
attn_problem validateProblem(const attn_problem *problem);

/// A byte string that identifies a normalized problem (field by field, so
/// padding bytes never take part).
std::string problemCacheKey(const attn_problem &normalized);

/// Size in bytes of one element of dtype.
size_t dtypeSize(attn_dtype dtype);
const char *dtypeName(attn_dtype dtype);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_PROBLEM_H
