//===- error.cpp - status strings, the last error, the version query ------===//

#include "core/error.h"

#include <cstdarg>
#include <cstring>

namespace attn::rt {

namespace {
// A fixed buffer rather than a std::string: recording an error (often an
// out-of-memory one) must not itself allocate or throw.
thread_local char lastError[1024] = "";
} // namespace

std::string format(const char *fmt, ...) {
  va_list args;
  va_start(args, fmt);
  va_list copy;
  va_copy(copy, args);
  int length = std::vsnprintf(nullptr, 0, fmt, copy);
  va_end(copy);
  std::string text(length > 0 ? static_cast<size_t>(length) : 0, '\0');
  if (length > 0)
    std::vsnprintf(text.data(), text.size() + 1, fmt, args);
  va_end(args);
  return text;
}

void fail(attn_status status, std::string message) { throw Error(status, std::move(message)); }

void failInvalid(std::string message) {
  throw Error(ATTN_STATUS_INVALID_ARGUMENT, std::move(message));
}

void setLastError(const char *message) noexcept {
  std::snprintf(lastError, sizeof(lastError), "%s", message ? message : "");
}

} // namespace attn::rt

using namespace attn::rt;

extern "C" {

ATTN_API const char *attn_status_string(attn_status status) {
  // A C caller may pass any int: read it as one (loading an out-of-range value as the C++ enum is
  // undefined), then compare.
  int32_t value;
  static_assert(sizeof(value) == sizeof(status), "C enums are int-sized");
  std::memcpy(&value, &status, sizeof(value));
  switch (value) {
  case ATTN_STATUS_SUCCESS:
    return "ATTN_STATUS_SUCCESS";
  case ATTN_STATUS_INVALID_ARGUMENT:
    return "ATTN_STATUS_INVALID_ARGUMENT";
  case ATTN_STATUS_UNSUPPORTED:
    return "ATTN_STATUS_UNSUPPORTED";
  case ATTN_STATUS_COMPILE_ERROR:
    return "ATTN_STATUS_COMPILE_ERROR";
  case ATTN_STATUS_OUT_OF_MEMORY:
    return "ATTN_STATUS_OUT_OF_MEMORY";
  case ATTN_STATUS_IO_ERROR:
    return "ATTN_STATUS_IO_ERROR";
  case ATTN_STATUS_CORRUPT_DATA:
    return "ATTN_STATUS_CORRUPT_DATA";
  case ATTN_STATUS_INTERNAL_ERROR:
    return "ATTN_STATUS_INTERNAL_ERROR";
  }
  return "ATTN_STATUS_UNKNOWN";
}

ATTN_API const char *attn_last_error(void) { return lastError; }

ATTN_API attn_status attn_get_version(int32_t *out_major, int32_t *out_minor, int32_t *out_patch) {
  return guard([&] {
    requireNonNull(out_major, "out_major");
    requireNonNull(out_minor, "out_minor");
    requireNonNull(out_patch, "out_patch");
    *out_major = ATTN_VERSION_MAJOR;
    *out_minor = ATTN_VERSION_MINOR;
    *out_patch = ATTN_VERSION_PATCH;
    return ATTN_STATUS_SUCCESS;
  });
}

} // extern "C"
