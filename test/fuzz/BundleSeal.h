//===- BundleSeal.h - re-checksumming a bundle after an edit --------------===//
//
// The fuzzer edits a valid bundle's header and entry table and must then make the checksum match
// again, or every edit would stop at the checksum check. What the checksum covers is the format's
// business (core/bundle_format.h): this is the one place that knows it.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TEST_FUZZ_BUNDLESEAL_H
#define ATTN_TEST_FUZZ_BUNDLESEAL_H

#include "core/bundle_format.h"

#include <cstring>
#include <string>

namespace attn::fuzz {

/// Recomputes the checksum of `bytes` (at least a header long) with the format's own function.
inline void resealBundle(std::string &bytes) {
  bundle::BundleHeader header;
  std::memcpy(&header, bytes.data(), sizeof(header));
  header.checksum = bundle::bundleChecksum(bytes.data(), bytes.size());
  std::memcpy(bytes.data(), &header, sizeof(header));
}

} // namespace attn::fuzz

#endif // ATTN_TEST_FUZZ_BUNDLESEAL_H
