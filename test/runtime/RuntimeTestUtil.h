//===- RuntimeTestUtil.h - helpers for the C API tests ----------*- C++ -*-===//
//
// RAII handles, typed BSHD buffers with any strides, and a runner that
// launches a kernel on random inputs and compares with the float64 oracle
// (SPEC section 4: poisoned outputs, relative Frobenius error).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_RUNTIME_RUNTIMETESTUTIL_H
#define ATTN_TEST_RUNTIME_RUNTIMETESTUTIL_H

#include "attn/attn_runtime.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace attn::rttest {

struct ContextDeleter {
  void operator()(attn_context *context) const { (void)attn_context_destroy(context); }
};
struct KernelDeleter {
  void operator()(attn_kernel *kernel) const { (void)attn_kernel_destroy(kernel); }
};
using ContextPtr = std::unique_ptr<attn_context, ContextDeleter>;
using KernelPtr = std::unique_ptr<attn_kernel, KernelDeleter>;

/// A context with the given options (NULL = defaults); fails the test on error.
ContextPtr makeContext(const attn_context_options *options = nullptr);
/// A context with num_threads threads and no disk cache (tests stay hermetic).
ContextPtr makeContext(int32_t numThreads);

/// attn_problem_init, then the given shape.
attn_problem makeProblem(attn_variant variant, attn_dtype dtype, int64_t headsQ, int64_t headsKv,
                         int64_t headDim, int64_t headDimV);

// A fresh directory, removed with its contents at the end of the test.
class TempDir {
public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "attn-runtime-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data()) ? pattern : "";
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string &path() const { return path_; }

private:
  std::string path_;
};

/// The whole content of a file ("" when it cannot be read).
inline std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
}

/// True when a failed kernel create only means that no compiler plugin exists.
bool isNoPluginError(attn_status status, const char *message);

/// Creates a kernel into `out` (a KernelPtr); skips the test when no compiler
/// plugin is present, fails it on any other error.
#define ATTN_CREATE_KERNEL_OR_SKIP(context, problem, out)                                          \
  do {                                                                                             \
    attn_kernel *created_ = nullptr;                                                               \
    attn_status status_ = attn_kernel_create((context), &(problem), &created_);                    \
    if (::attn::rttest::isNoPluginError(status_, attn_last_error()))                               \
      GTEST_SKIP() << attn_last_error();                                                           \
    ASSERT_EQ(status_, ATTN_STATUS_SUCCESS) << attn_last_error();                                  \
    (out).reset(created_);                                                                         \
  } while (0)

enum class Layout { BSHD, BHSD, PaddedBSHD };

/// A 4-D tensor [B, S, H, D] of dtype, stored with the strides of a layout.
class Tensor {
public:
  Tensor(attn_dtype dtype, std::array<int64_t, 4> sizes, Layout layout = Layout::BSHD);

  /// Random values in [lo, hi), rounded to dtype; values() holds them as the
  /// kernel sees them, contiguous BSHD.
  void fillRandom(uint64_t seed, double lo = -1.0, double hi = 1.0);
  /// NaN in every element (SPEC section 4: unwritten elements must fail).
  void poison();

  double get(int64_t b, int64_t s, int64_t h, int64_t d) const;
  /// The raw backing store (to check that a failed launch wrote nothing).
  const std::vector<uint32_t> &storage() const { return storage_; }
  const std::vector<double> &values() const { return values_; }

  attn_tensor view();
  void *data() { return storage_.data(); }
  size_t bytes() const { return storage_.size() * sizeof(uint32_t); }
  const std::array<int64_t, 4> &sizes() const { return sizes_; }
  const std::array<int64_t, 4> &strides() const { return strides_; }

private:
  int64_t offset(int64_t b, int64_t s, int64_t h, int64_t d) const;
  void set(int64_t index, double value);

  attn_dtype dtype_;
  std::array<int64_t, 4> sizes_, strides_;
  std::vector<uint32_t> storage_; // 4-byte aligned backing store for any dtype
  std::vector<double> values_;
};

/// Launch arguments over the four tensors: batch and lengths from their shapes, no LSE,
/// entropy, seqlens or block table.
attn_launch_args launchArgs(Tensor &q, Tensor &k, Tensor &v, Tensor &o);

/// A launch to check against the oracle.
struct AttentionCase {
  attn_problem problem;
  int64_t batch = 1, seqQ = 1, seqKv = 1;
  std::vector<int32_t> seqlensQ, seqlensKv; // empty = not passed
  Layout layout = Layout::BSHD;
  uint64_t seed = 1;
  void *workspace = nullptr; // attn_launch_args.workspace / workspace_bytes
  size_t workspaceBytes = 0;
};

struct CaseResult {
  attn_status status = ATTN_STATUS_SUCCESS;
  std::string error;            // attn_last_error() when status != SUCCESS
  double oError = 0;            // relative Frobenius error of O (written rows)
  double lseError = 0;          // of LSE, when the problem asks for it
  double entropyError = 0;      // of ENTROPY, when the problem asks for it
  int64_t clobberedPadRows = 0; // rows i >= Lq that were written (must be 0)
};

/// Poisons the outputs, launches, and compares with attn::oracle.
CaseResult runCase(attn_kernel *kernel, const AttentionCase &testCase);

/// SPEC section 4's tolerance for dtype.
double tolerance(attn_dtype dtype);

/// Asserts a successful, accurate result within tolerance(dtype).
void expectAccurate(const CaseResult &result, attn_dtype dtype);

} // namespace attn::rttest

#endif // ATTN_TEST_RUNTIME_RUNTIMETESTUTIL_H
