//===- bundle.cpp - kernels built ahead of time: bundles and linked code --===//
//
// A bundle (core/bundle_format.h) is verified (layout, checksum, versions, target, CPU level),
// its shared object is handed to the dynamic loader through an anonymous memory file, and its
// entry points become an ordinary kernel: launches go through the same validation and dispatch as
// JIT-compiled ones. No compiler is loaded. attn_kernel_create_from_code does the same for code
// linked into the program (attnc --emit=obj with its generated header).
//
//===----------------------------------------------------------------------===//

#include "core/bundle_format.h"
#include "core/error.h"
#include "core/kernel_handle.h"
#include "core/plugin.h"
#include "core/problem.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <functional>
#include <iterator>
#include <sys/mman.h>
#include <unistd.h>

using namespace attn::rt;
namespace bundle = attn::bundle;

namespace {

/// Whether this CPU runs code built for an x86-64 micro-architecture level.
bool cpuSupportsLevel(const std::string &level) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (level == "x86-64-v3")
    return __builtin_cpu_supports("x86-64-v3");
  if (level == "x86-64-v4")
    return __builtin_cpu_supports("x86-64-v4");
#endif
  return false;
}

std::string fieldString(const char *field, size_t size) {
  return std::string(field, strnlen(field, size));
}

attn_problem problemOf(const bundle::BundleEntry &e) {
  attn_problem p{};
  p.struct_size = sizeof(p);
  p.target = ATTN_TARGET_CPU;
  p.variant = static_cast<attn_variant>(e.variant);
  p.dtype = static_cast<attn_dtype>(e.dtype);
  p.heads_q = e.headsQ;
  p.heads_kv = e.headsKv;
  p.head_dim = e.headDim;
  p.head_dim_v = e.headDimV;
  p.scale = e.scale;
  p.causal = e.causal;
  p.window_left = e.windowLeft;
  p.window_right = e.windowRight;
  p.global_tokens = e.globalTokens;
  p.softcap = e.softcap;
  p.return_lse = e.returnLse;
  p.return_entropy = e.returnEntropy;
  p.feature_map = static_cast<attn_feature_map>(e.featureMap);
  p.normalize = e.normalize;
  return p;
}

/// Hands a shared object held in memory to the dynamic loader (through a memfd: nothing touches
/// the file system). Returns the dlopen handle.
void *loadSharedObject(const unsigned char *data, size_t size) {
  int fd = memfd_create("attn-bundle-kernel", MFD_CLOEXEC);
  if (fd < 0)
    fail(ATTN_STATUS_INTERNAL_ERROR, format("memfd_create failed: %s", std::strerror(errno)));
  size_t written = 0;
  while (written < size) {
    ssize_t n = write(fd, data + written, size - written);
    if (n <= 0) {
      close(fd);
      fail(ATTN_STATUS_INTERNAL_ERROR, "cannot write the bundle's kernel to memory");
    }
    written += static_cast<size_t>(n);
  }
  std::string path = "/proc/self/fd/" + std::to_string(fd);
  void *handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  close(fd);
  if (!handle)
    fail(ATTN_STATUS_CORRUPT_DATA,
         format("the bundle's kernel cannot be loaded: %s", dlerror() ? dlerror() : "?"));
  return handle;
}

/// The kernel object for entry points the caller vouches for; `release` frees the code.
attn_kernel *makeKernel(attn_context *context, const attn_problem &normalized,
                        const attn_jit_kernel &code, std::function<void()> release) {
  std::string defect = kernelDefect(normalized, code);
  if (!defect.empty()) {
    if (release)
      release();
    fail(ATTN_STATUS_CORRUPT_DATA, "the kernel code is incomplete: " + defect);
  }
  auto kernel = std::make_unique<attn_kernel>();
  kernel->context = context->state;
  kernel->compiled = std::make_shared<const CompiledKernel>(normalized, code, std::move(release));
  return kernel.release();
}

attn_status loadBundle(attn_context *context, const void *data, size_t size,
                       attn_kernel **outKernel) {
  requireNonNull(context, "context");
  requireNonNull(data, "data");
  requireNonNull(outKernel, "out_kernel");
  bundle::BundleView view;
  std::string message;
  switch (bundle::parseBundle(data, size, ATTN_VERSION_MAJOR, ATTN_VERSION_MINOR, view, message)) {
  case bundle::ParseError::Corrupt:
    fail(ATTN_STATUS_CORRUPT_DATA, message);
  case bundle::ParseError::Version:
    fail(ATTN_STATUS_UNSUPPORTED, message);
  case bundle::ParseError::None:
    break;
  }
  if (view.entries.size() != 1)
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the bundle holds %zu kernels; attn_kernel_load_bundle loads bundles of one",
                view.entries.size()));
  const bundle::BundleEntry &entry = view.entries[0];
  std::string target = fieldString(entry.target, sizeof(entry.target));
  if (target != "cpu")
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the bundle's kernel targets '%s'; this runtime runs 'cpu' kernels",
                target.c_str()));
  std::string level = fieldString(entry.cpuLevel, sizeof(entry.cpuLevel));
  if (!cpuSupportsLevel(level))
    fail(ATTN_STATUS_UNSUPPORTED,
         format("the bundle's kernel was built for %s, which this CPU does not support",
                level.c_str()));
  attn_problem problem = problemOf(entry);
  attn_problem normalized = validateProblem(&problem);

  void *handle = loadSharedObject(view.bytes + entry.payloadOffset, entry.payloadSize);
  auto symbol = [&](const char *name) { return dlsym(handle, name); };
  attn_jit_kernel code{};
  code.struct_size = sizeof(code);
  code.handle = handle;
  code.softmax_main = reinterpret_cast<attn_softmax_fn>(symbol("_mlir_ciface_attn_main"));
  code.softmax_decode = reinterpret_cast<attn_decode_fn>(symbol("_mlir_ciface_attn_decode"));
  code.merge = reinterpret_cast<attn_merge_fn>(symbol("_mlir_ciface_attn_merge"));
  code.linear = reinterpret_cast<attn_linear_fn>(symbol("_mlir_ciface_attn_linear"));
  code.block_q = entry.blockQ;
  code.block_k = entry.blockK;
  code.decode_max_rows = entry.decodeMaxRows;
  *outKernel = makeKernel(context, normalized, code, [handle] { dlclose(handle); });
  return ATTN_STATUS_SUCCESS;
}

} // namespace

extern "C" {

ATTN_API attn_status attn_kernel_create_from_code(attn_context *context,
                                                  const attn_problem *problem,
                                                  const attn_kernel_code *code,
                                                  attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(code, "code");
    requireNonNull(out_kernel, "out_kernel");
    if (code->struct_size < sizeof(attn_kernel_code))
      fail(ATTN_STATUS_INVALID_ARGUMENT, format("attn_kernel_code.struct_size is %zu, expected %zu",
                                                code->struct_size, sizeof(attn_kernel_code)));
    attn_problem normalized = validateProblem(problem);
    attn_jit_kernel entry{};
    entry.struct_size = sizeof(entry);
    entry.softmax_main = reinterpret_cast<attn_softmax_fn>(code->softmax_main);
    entry.softmax_decode = reinterpret_cast<attn_decode_fn>(code->softmax_decode);
    entry.merge = reinterpret_cast<attn_merge_fn>(code->merge);
    entry.linear = reinterpret_cast<attn_linear_fn>(code->linear);
    entry.block_q = code->block_q;
    entry.block_k = code->block_k;
    entry.decode_max_rows = code->decode_max_rows;
    *out_kernel = makeKernel(context, normalized, entry, nullptr);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_load_bundle(attn_context *context, const void *data, size_t size,
                                             attn_kernel **out_kernel) {
  return guard([&] { return loadBundle(context, data, size, out_kernel); });
}

ATTN_API attn_status attn_kernel_load_bundle_file(attn_context *context, const char *path,
                                                  attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(path, "path");
    std::ifstream file(path, std::ios::binary);
    if (!file)
      fail(ATTN_STATUS_IO_ERROR, format("cannot open the bundle '%s'", path));
    std::string bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
    return loadBundle(context, bytes.data(), bytes.size(), out_kernel);
  });
}

} // extern "C"
