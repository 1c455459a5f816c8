//===- BundleTestUtil.h - reading and editing the test bundles -------------===//
//
// The bundles are built by attnc before the bundle tests run (the ctest fixture
// runtime-bundles-build) into $ATTN_TEST_BUNDLE_DIR; tests read them and make edited copies.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_RUNTIME_BUNDLETESTUTIL_H
#define ATTN_TEST_RUNTIME_BUNDLETESTUTIL_H

#include "RuntimeTestUtil.h"
#include "core/bundle_format.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

namespace attn::rttest {

namespace bundle = attn::bundle;

inline std::string bundlePath(const char *name) {
  const char *dir = std::getenv("ATTN_TEST_BUNDLE_DIR");
  return dir ? std::string(dir) + "/" + name : std::string();
}

#define BUNDLE_OR_SKIP(name, bytes)                                                                \
  std::string bytes;                                                                               \
  do {                                                                                             \
    std::string path_ = bundlePath(name);                                                          \
    if (path_.empty())                                                                             \
      GTEST_SKIP() << "runs under ctest's runtime-bundles (ATTN_TEST_BUNDLE_DIR)";                 \
    bytes = readFile(path_);                                                                       \
    ASSERT_FALSE(bytes.empty()) << "no bundle at " << path_;                                       \
  } while (0)

/// The bundle's first entry, patched by `edit`, with the checksum made right again (so that only
/// the edited field is wrong).
inline std::string withEntry(std::string bytes,
                             const std::function<void(bundle::BundleEntry &)> &edit) {
  bundle::BundleEntry entry;
  std::memcpy(&entry, bytes.data() + sizeof(bundle::BundleHeader), sizeof(entry));
  edit(entry);
  std::memcpy(bytes.data() + sizeof(bundle::BundleHeader), &entry, sizeof(entry));
  bundle::BundleHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  header.checksum = bundle::bundleChecksum(bytes.data(), bytes.size());
  std::memcpy(bytes.data(), &header, sizeof(header));
  return bytes;
}

/// The bundle with its header patched by `edit` and, when `rechecksum`, the checksum made right
/// again.
inline std::string withHeader(std::string bytes, void (*edit)(bundle::BundleHeader &),
                              bool rechecksum = true) {
  bundle::BundleHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  edit(header);
  std::memcpy(bytes.data(), &header, sizeof(header));
  if (rechecksum) {
    header.checksum = bundle::bundleChecksum(bytes.data(), bytes.size());
    std::memcpy(bytes.data(), &header, sizeof(header));
  }
  return bytes;
}

/// The checksum of `bytes` made right again after an edit.
inline std::string rechecksummed(std::string bytes) {
  bundle::BundleHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  header.checksum = bundle::bundleChecksum(bytes.data(), bytes.size());
  std::memcpy(bytes.data(), &header, sizeof(header));
  return bytes;
}

/// Loading `bytes` fails with `status` and a message containing `why`, and writes no kernel.
inline void expectRejected(const std::string &bytes, attn_status status, const char *why) {
  ContextPtr context = makeContext(1);
  attn_kernel *kernel = reinterpret_cast<attn_kernel *>(0x1);
  EXPECT_EQ(attn_kernel_load_bundle(context.get(), bytes.data(), bytes.size(), &kernel), status);
  EXPECT_NE(std::strstr(attn_last_error(), why), nullptr) << attn_last_error();
  EXPECT_EQ(kernel, reinterpret_cast<attn_kernel *>(0x1)) << "out_kernel written on failure";
}

// The problem attnc was given for gqa.attnb (see test/runtime/CMakeLists.txt).
inline attn_problem gqaProblem() {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 8, 2, 64, 64);
  p.causal = 1;
  p.return_lse = 1;
  return p;
}

} // namespace attn::rttest

#endif // ATTN_TEST_RUNTIME_BUNDLETESTUTIL_H
