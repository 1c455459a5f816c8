//===- error.h - statuses, the thread-local message and the C boundary ----===//
//
// Internally the runtime reports failures by throwing attn::rt::Error (a
// status plus a message); every exported function runs its body through
// guard(), which turns any exception into a status and the thread's last-error
// message, so no exception ever crosses the C API (SPEC section 6).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_ERROR_H
#define ATTN_RUNTIME_CORE_ERROR_H

#include "attn/attn_runtime.h"

#include <cstdio>
#include <exception>
#include <new>
#include <string>

namespace attn::rt {

/// A failure to report through the C API.
class Error : public std::exception {
public:
  Error(attn_status status, std::string message) : status_(status), message_(std::move(message)) {}
  attn_status status() const noexcept { return status_; }
  const char *what() const noexcept override { return message_.c_str(); }

private:
  attn_status status_;
  std::string message_;
};

/// printf-style message formatting for Error; keeps the call sites short.
std::string format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

[[noreturn]] void fail(attn_status status, std::string message);
[[noreturn]] void failInvalid(std::string message);

/// Records the calling thread's last-error message (truncated, never allocates).
void setLastError(const char *message) noexcept;

/// Runs body() and returns its status; converts every exception into a status
/// and a last-error message (std::bad_alloc -> OUT_OF_MEMORY, anything else
/// unknown -> INTERNAL_ERROR).
template <typename Body> attn_status guard(Body &&body) noexcept {
  try {
    return body();
  } catch (const Error &error) {
    setLastError(error.what());
    return error.status();
  } catch (const std::bad_alloc &) {
    setLastError("out of memory");
    return ATTN_STATUS_OUT_OF_MEMORY;
  } catch (const std::exception &error) {
    setLastError(error.what());
    return ATTN_STATUS_INTERNAL_ERROR;
  } catch (...) {
    setLastError("internal error: an unknown exception was thrown");
    return ATTN_STATUS_INTERNAL_ERROR;
  }
}

/// Throws INVALID_ARGUMENT "<name> is NULL" when pointer is null.
inline void requireNonNull(const void *pointer, const char *name) {
  if (!pointer)
    failInvalid(std::string(name) + " is NULL");
}

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_ERROR_H
