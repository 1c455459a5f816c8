//===- DiskCache.h - the on-disk kernel cache ------------------*- C++ -*-===//
//
// One file per content key, `<dir>/<key>.attnk`: a fixed header (magic, format version, attnc and
// LLVM versions, the key, object count, payload size, and an xxh3 hash of the header and payload
// together) followed by the object files, each preceded by its 64-bit size. The header holds
// nothing the code could disagree with: the tiles are the configured module's (part of the key),
// and the objects carry their own manifest, which the plugin checks on load. Entries are written
// to a temporary file and renamed into place, so readers never see a partial entry; an entry that
// does not check out is reported as rejected, removed, and rebuilt by the caller.
//
// The directory is kept under a size bound: after each store the least recently used entries
// (a hit refreshes an entry's modification time) are removed until the rest fit.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_DISKCACHE_H
#define ATTN_JIT_DISKCACHE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::attn {

struct CacheEntry {
  std::vector<std::string> objects; // linked together when loaded
};

enum class CacheLookup { Hit, Miss, Rejected };

class DiskCache {
public:
  /// The default size bound of a cache directory.
  static constexpr int64_t kDefaultMaxBytes = int64_t(1) << 30;
  /// No entry is larger (a kernel's objects are tens to hundreds of KiB): a bound on what a
  /// lookup reads.
  static constexpr int64_t kMaxEntryBytes = int64_t(64) << 20;

  explicit DiskCache(std::string directory, int64_t maxBytes = kDefaultMaxBytes)
      : directory(std::move(directory)), maxBytes(maxBytes > 0 ? maxBytes : kDefaultMaxBytes) {}

  /// Reads the entry for `key`; a corrupt or stale one is deleted and reported as Rejected.
  CacheLookup lookup(const std::string &key, CacheEntry &entry) const;
  /// Stores an entry atomically, then evicts least recently used entries past the size bound.
  /// Failures (read-only disk, ...) are ignored: the cache is only an accelerator. Returns whether
  /// the entry was written.
  bool store(const std::string &key, const CacheEntry &entry) const;
  /// Removes the entry for `key` (one whose code turned out not to match it).
  void remove(const std::string &key) const;

  std::string pathFor(const std::string &key) const;

  /// Decodes the bytes of an entry file for `key` (the format described above).
  static bool decode(llvm::StringRef data, const std::string &key, CacheEntry &entry);
  /// The bytes of an entry file for `key`.
  static std::string encode(const std::string &key, const CacheEntry &entry);

private:
  /// Removes the least recently used entries until the directory holds at most maxBytes of them;
  /// `keep` (the entry just written) is never removed.
  void evict(const std::string &keep) const;

  std::string directory;
  int64_t maxBytes;
};

} // namespace mlir::attn

#endif // ATTN_JIT_DISKCACHE_H
