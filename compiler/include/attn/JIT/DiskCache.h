//===- DiskCache.h - the on-disk kernel cache ------------------*- C++ -*-===//
//
// One file per content key, `<dir>/<key>.attnk`: a fixed header (magic, format version, attnc and
// LLVM versions, the key, the tile configuration, payload size and xxh3 hash) followed by the
// object files, each preceded by its 64-bit size. Entries are written to a temporary file and
// renamed into place, so readers never see a partial entry; an entry whose header or hash does not
// check out is reported as rejected, removed, and rebuilt by the caller.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_JIT_DISKCACHE_H
#define ATTN_JIT_DISKCACHE_H

#include "attn/Conversion/AttnToCPU/Kernels.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::attn {

struct CacheEntry {
  std::vector<std::string> objects; // linked together when loaded
  CPUKernelConfig config;
};

enum class CacheLookup { Hit, Miss, Rejected };

class DiskCache {
public:
  explicit DiskCache(std::string directory) : directory(std::move(directory)) {}

  /// Reads the entry for `key`; a corrupt or stale one is deleted and reported as Rejected.
  CacheLookup lookup(const std::string &key, CacheEntry &entry) const;
  /// Stores an entry atomically; failures (read-only disk, ...) are ignored: the cache is only
  /// an accelerator. Returns whether the entry was written.
  bool store(const std::string &key, const CacheEntry &entry) const;

  std::string pathFor(const std::string &key) const;

private:
  std::string directory;
};

} // namespace mlir::attn

#endif // ATTN_JIT_DISKCACHE_H
