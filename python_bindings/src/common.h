//===- common.h - shared declarations of the _attn extension -----------------===//
//
// The extension is a thin layer over libattn_runtime's C API (attn/attn_runtime.h): argument
// normalization and the user-facing API live in Python (python_bindings/attn/).
//
//===----------------------------------------------------------------------------===//
#ifndef ATTN_PYTHON_COMMON_H
#define ATTN_PYTHON_COMMON_H

#include <nanobind/nanobind.h>
#include <nanobind/ndarray.h>

#include <stdexcept>
#include <string>

#include "attn/attn_runtime.h"

namespace attn_python {

namespace nb = nanobind;

/// Raised for every failing C status except ATTN_STATUS_INVALID_ARGUMENT; becomes attn.AttnError.
struct AttnError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws the Python exception for a failing status: ValueError for ATTN_STATUS_INVALID_ARGUMENT,
/// attn.AttnError otherwise, carrying attn_last_error()'s message. Must run on the thread that
/// made the failing call (the message is thread-local). Does nothing on success.
void check(attn_status status, const char *what);

/// The module's lazily created context (one per process), shared by every kernel.
attn_context *context();

void registerErrors(nb::module_ &m);
void registerContext(nb::module_ &m);
void registerKernel(nb::module_ &m);
void registerTensors(nb::module_ &m);

} // namespace attn_python

#endif
