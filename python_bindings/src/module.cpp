//===- module.cpp - the _attn extension module ------------------------------===//
#include "common.h"

NB_MODULE(_attn, m) {
  m.doc() = "attnc's runtime C API (libattn_runtime) for Python; use the 'attn' package.";
  attn_python::registerErrors(m);
  attn_python::registerContext(m);
  attn_python::registerKernel(m);
  attn_python::registerTensors(m);
}
