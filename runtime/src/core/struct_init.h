//===- struct_init.h - filling versioned structs of the caller's size -----===//
//
// The *_init_sized entry points write defaults into a struct the caller allocated with its own
// sizeof: a caller built against an older, smaller struct gets only the fields it has.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_STRUCT_INIT_H
#define ATTN_RUNTIME_CORE_STRUCT_INIT_H

#include "core/error.h"

#include <algorithm>
#include <cstring>

namespace attn::rt {

/// Copies the first min(structSize, sizeof(T)) bytes of `defaults` into `out` and records that
/// size in out->struct_size. `minSize` is the size of the struct's first version.
template <typename T>
void initSized(T *out, size_t structSize, T defaults, size_t minSize, const char *name) {
  requireNonNull(out, name);
  if (structSize < minSize)
    fail(ATTN_STATUS_INVALID_ARGUMENT,
         format("struct_size %zu is smaller than any version of %s (%zu)", structSize, name,
                minSize));
  size_t size = std::min(structSize, sizeof(T));
  defaults.struct_size = size;
  std::memcpy(static_cast<void *>(out), &defaults, size);
}

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_STRUCT_INIT_H
