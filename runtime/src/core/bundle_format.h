//===- bundle_format.h - the kernel bundle file format -------------------===//
//
// A kernel bundle (attnc --emit=bundle) carries ahead-of-time compiled kernels with what the
// runtime needs to validate them, and is read with no compiler in the process. Little-endian:
//   BundleHeader | BundleEntry[entry_count] | payloads (one shared object per entry)
// The checksum (FNV-1a 64) covers every byte of the bundle, the header included (its checksum field
// read as zero): versions, entries and payloads alike. It catches damage, not malice: a bundle is
// native code, as trusted as a shared object (README). Header-only and dependency-free:
// attnc writes bundles with it, libattn_runtime and `attnc inspect` read them with it.
//
// Compatibility: a reader accepts format version kBundleFormatVersion only, and bundles written
// by an attnc of the same major version (and, while the major version is 0, the same minor).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_BUNDLE_FORMAT_H
#define ATTN_RUNTIME_CORE_BUNDLE_FORMAT_H

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace attn::bundle {

constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'B', 'N', 'D', 'L'};
constexpr uint32_t kBundleFormatVersion = 4; // 4: alibi, sinks; 3: pageSize
/// The largest bundle a reader accepts: far above one kernel (tens of KiB), and a bound on what a
/// reader allocates before it can check anything.
constexpr uint64_t kMaxBundleSize = uint64_t(256) << 20;

struct BundleHeader {
  char magic[8];
  uint32_t formatVersion;
  uint32_t headerSize;
  uint32_t attncMajor, attncMinor, attncPatch;
  uint32_t entryCount;
  uint64_t totalSize; // the whole bundle, header included
  uint64_t checksum;  // FNV-1a 64 of the whole bundle with this field zeroed
};

static_assert(sizeof(BundleHeader) == 48, "BundleHeader has no padding");

/// One kernel: the problem it solves (the C descriptor's fields), how it was built, where its code
/// is. Entry points: `_mlir_ciface_attn_{main,decode,merge}` (softmax) or `..._linear`.
struct BundleEntry {
  char target[16];   // "cpu"
  char cpuLevel[16]; // the x86-64 micro-architecture level the code needs: "x86-64-v3", "...-v4"
  int32_t variant, dtype, causal, returnLse, returnEntropy, featureMap, normalize;
  int32_t pageSize; // keys per page of a paged KV cache, 0 = none (was reserved, 0, in version 2)
  int32_t alibi, sinks; // per-head ALiBi slopes / sink logits at launch (0 or 1)
  int64_t headsQ, headsKv, headDim, headDimV, windowLeft, windowRight, globalTokens;
  double scale, softcap;
  int64_t blockQ, blockK, decodeMaxRows;
  uint64_t payloadOffset, payloadSize; // a shared object, from the start of the bundle
};
static_assert(sizeof(BundleEntry) == 184, "BundleEntry has no padding");

constexpr uint64_t kFnvOffsetBasis = 1469598103934665603ull;

inline uint64_t fnv1a(const void *data, size_t size, uint64_t hash = kFnvOffsetBasis) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 1099511628211ull;
  }
  return hash;
}

/// The checksum of a whole bundle of `size` bytes (at least a header): every byte, the header's
/// checksum field counted as zero.
inline uint64_t bundleChecksum(const void *data, size_t size) {
  BundleHeader header;
  std::memcpy(&header, data, sizeof(header));
  header.checksum = 0;
  uint64_t hash = fnv1a(&header, sizeof(header));
  return fnv1a(static_cast<const unsigned char *>(data) + sizeof(header), size - sizeof(header),
               hash);
}

/// A bundle whose layout and checksum were verified; entries point into the caller's bytes.
struct BundleView {
  BundleHeader header;
  std::vector<BundleEntry> entries;
  const unsigned char *bytes = nullptr;
};

enum class ParseError { None, Corrupt, Version };

/// Verifies magic, sizes, checksum, version and entry bounds. On failure `message` names the
/// problem; Corrupt is a damaged or truncated file, Version one this reader does not accept.
inline ParseError parseBundle(const void *data, size_t size, uint32_t readerMajor,
                              uint32_t readerMinor, BundleView &view, std::string &message) {
  const unsigned char *bytes = static_cast<const unsigned char *>(data);
  if (size < sizeof(BundleHeader) || std::memcmp(bytes, kMagic, sizeof(kMagic)) != 0) {
    message = size < sizeof(BundleHeader) ? "too short to be a kernel bundle"
                                          : "not a kernel bundle (bad magic)";
    return ParseError::Corrupt;
  }
  std::memcpy(&view.header, bytes, sizeof(BundleHeader));
  const BundleHeader &h = view.header;
  if (h.formatVersion != kBundleFormatVersion) {
    message = "bundle format version " + std::to_string(h.formatVersion) +
              " is not supported (this runtime reads version " +
              std::to_string(kBundleFormatVersion) + ")";
    return ParseError::Version;
  }
  if (h.headerSize != sizeof(BundleHeader) || h.totalSize != size) {
    message = "truncated or padded kernel bundle: " + std::to_string(size) +
              " bytes, the header says " + std::to_string(h.totalSize);
    return ParseError::Corrupt;
  }
  if (bundleChecksum(bytes, size) != h.checksum) {
    message = "corrupt kernel bundle (checksum mismatch)";
    return ParseError::Corrupt;
  }
  if (h.attncMajor != readerMajor || (readerMajor == 0 && h.attncMinor != readerMinor)) {
    message = "bundle built by attnc " + std::to_string(h.attncMajor) + "." +
              std::to_string(h.attncMinor) + "." + std::to_string(h.attncPatch) +
              ", which this runtime (" + std::to_string(readerMajor) + "." +
              std::to_string(readerMinor) + ") does not load";
    return ParseError::Version;
  }
  size_t entriesEnd = sizeof(BundleHeader) + size_t(h.entryCount) * sizeof(BundleEntry);
  if (h.entryCount == 0 || entriesEnd > size) {
    message = "kernel bundle has no valid entry table";
    return ParseError::Corrupt;
  }
  view.entries.resize(h.entryCount);
  std::memcpy(view.entries.data(), bytes + sizeof(BundleHeader),
              h.entryCount * sizeof(BundleEntry));
  // The payloads follow the entry table back to back, in entry order, to the end of the file:
  // any other layout is damage (and a payload cut short would be mapped past its end).
  uint64_t expectedOffset = entriesEnd;
  for (const BundleEntry &e : view.entries) {
    if (e.payloadOffset != expectedOffset || e.payloadSize == 0 ||
        e.payloadSize > size - e.payloadOffset) {
      message = "kernel bundle entry points outside its payload";
      return ParseError::Corrupt;
    }
    expectedOffset += e.payloadSize;
  }
  if (expectedOffset != size) {
    message = "kernel bundle has bytes no entry accounts for";
    return ParseError::Corrupt;
  }
  view.bytes = bytes;
  return ParseError::None;
}

/// Serializes one bundle (header, entries, payloads), filling offsets, sizes and the checksum.
inline std::string writeBundle(std::vector<BundleEntry> entries,
                               const std::vector<std::string> &payloads, uint32_t major,
                               uint32_t minor, uint32_t patch) {
  BundleHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.formatVersion = kBundleFormatVersion;
  h.headerSize = sizeof(BundleHeader);
  h.attncMajor = major;
  h.attncMinor = minor;
  h.attncPatch = patch;
  h.entryCount = static_cast<uint32_t>(entries.size());
  uint64_t offset = sizeof(BundleHeader) + entries.size() * sizeof(BundleEntry);
  for (size_t i = 0; i < entries.size(); ++i) {
    entries[i].payloadOffset = offset;
    entries[i].payloadSize = payloads[i].size();
    offset += payloads[i].size();
  }
  std::string body(reinterpret_cast<const char *>(entries.data()),
                   entries.size() * sizeof(BundleEntry));
  for (const std::string &payload : payloads)
    body += payload;
  h.totalSize = sizeof(BundleHeader) + body.size();
  std::string bytes = std::string(reinterpret_cast<const char *>(&h), sizeof(h)) + body;
  h.checksum = bundleChecksum(bytes.data(), bytes.size());
  std::memcpy(bytes.data(), &h, sizeof(h));
  return bytes;
}

} // namespace attn::bundle

#endif // ATTN_RUNTIME_CORE_BUNDLE_FORMAT_H
