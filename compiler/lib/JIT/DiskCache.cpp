//===- DiskCache.cpp - the on-disk kernel cache ---------------------------===//

#include "attn/JIT/DiskCache.h"
#include "attn/attn_version.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <system_error>

using namespace mlir;
using namespace mlir::attn;

namespace {
constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'K', 'E', 'R', 'N'};
constexpr uint32_t kFormatVersion = 3;
/// A kernel is a handful of objects (one per parallel compile partition).
constexpr uint64_t kMaxObjects = 64;
constexpr llvm::StringLiteral kEntrySuffix = ".attnk";

/// The fixed-size header in front of the object code (little-endian, as the host).
struct Header {
  char magic[8];
  uint32_t formatVersion;
  uint32_t headerSize;
  char attncVersion[16];
  char llvmVersion[16];
  char key[64];
  uint64_t objectCount;
  uint64_t payloadSize;
  uint64_t hash; // xxh3 of this header (this field zeroed) followed by the payload
};
static_assert(sizeof(Header) == 136, "Header has no padding");

void copyField(char *field, size_t size, const std::string &value) {
  std::memset(field, 0, size);
  std::memcpy(field, value.data(), std::min(size, value.size()));
}

bool fieldEquals(const char *field, size_t size, const std::string &value) {
  char expected[64] = {};
  std::memcpy(expected, value.data(), std::min(size, value.size()));
  return std::memcmp(field, expected, size) == 0;
}

uint64_t entryHash(Header header, llvm::StringRef payload) {
  header.hash = 0;
  std::string bytes(reinterpret_cast<const char *>(&header), sizeof(header));
  bytes.append(payload.data(), payload.size());
  return llvm::xxh3_64bits(llvm::StringRef(bytes));
}

/// Marks `path` used now, to the nanosecond: the file system stamps writes with a coarse clock
/// (one tick is milliseconds), so a store and a hit right after it could otherwise look equally
/// recent to the eviction.
void touch(const std::string &path) {
  auto now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  struct timespec times[2];
  times[0].tv_sec = times[1].tv_sec = static_cast<time_t>(now / 1000000000);
  times[0].tv_nsec = times[1].tv_nsec = static_cast<long>(now % 1000000000);
  ::utimensat(AT_FDCWD, path.c_str(), times, 0);
}

/// Splits a payload into its size-prefixed objects; false if the sizes do not add up.
bool decodeObjects(llvm::StringRef payload, uint64_t count, std::vector<std::string> &objects) {
  objects.clear();
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t size;
    if (payload.size() < sizeof(size))
      return false;
    std::memcpy(&size, payload.data(), sizeof(size));
    payload = payload.drop_front(sizeof(size));
    if (payload.size() < size || size == 0)
      return false;
    objects.push_back(payload.take_front(size).str());
    payload = payload.drop_front(size);
  }
  return payload.empty() && !objects.empty();
}
} // namespace

std::string DiskCache::pathFor(const std::string &key) const {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, key + kEntrySuffix.str());
  return std::string(path);
}

bool DiskCache::decode(llvm::StringRef data, const std::string &key, CacheEntry &entry) {
  if (data.size() < sizeof(Header))
    return false;
  Header header;
  std::memcpy(&header, data.data(), sizeof(Header));
  llvm::StringRef payload = data.drop_front(sizeof(Header));
  return std::memcmp(header.magic, kMagic, sizeof(kMagic)) == 0 &&
         header.formatVersion == kFormatVersion && header.headerSize == sizeof(Header) &&
         fieldEquals(header.attncVersion, sizeof(header.attncVersion), ATTN_VERSION_STRING) &&
         fieldEquals(header.llvmVersion, sizeof(header.llvmVersion), LLVM_VERSION_STRING) &&
         fieldEquals(header.key, sizeof(header.key), key) && header.payloadSize == payload.size() &&
         header.objectCount >= 1 && header.objectCount <= kMaxObjects &&
         header.hash == entryHash(header, payload) &&
         decodeObjects(payload, header.objectCount, entry.objects);
}

std::string DiskCache::encode(const std::string &key, const CacheEntry &entry) {
  Header header;
  std::memset(&header, 0, sizeof(header));
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.formatVersion = kFormatVersion;
  header.headerSize = sizeof(Header);
  copyField(header.attncVersion, sizeof(header.attncVersion), ATTN_VERSION_STRING);
  copyField(header.llvmVersion, sizeof(header.llvmVersion), LLVM_VERSION_STRING);
  copyField(header.key, sizeof(header.key), key);
  std::string payload;
  for (const std::string &object : entry.objects) {
    uint64_t size = object.size();
    payload.append(reinterpret_cast<const char *>(&size), sizeof(size));
    payload += object;
  }
  header.objectCount = entry.objects.size();
  header.payloadSize = payload.size();
  header.hash = entryHash(header, payload);
  return std::string(reinterpret_cast<const char *>(&header), sizeof(header)) + payload;
}

CacheLookup DiskCache::lookup(const std::string &key, CacheEntry &entry) const {
  std::string path = pathFor(key);
  llvm::sys::fs::file_status status;
  if (llvm::sys::fs::status(path, status))
    return CacheLookup::Miss;
  bool valid = false;
  if (status.type() == llvm::sys::fs::file_type::regular_file &&
      status.getSize() <= static_cast<uint64_t>(kMaxEntryBytes)) {
    auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                              /*RequiresNullTerminator=*/false);
    if (!buffer)
      return CacheLookup::Miss;
    valid = decode((*buffer)->getBuffer(), key, entry);
  }
  if (!valid) {
    entry.objects.clear();
    llvm::sys::fs::remove(path);
    return CacheLookup::Rejected;
  }
  touch(path); // recently used: the last to be evicted
  return CacheLookup::Hit;
}

void DiskCache::remove(const std::string &key) const { llvm::sys::fs::remove(pathFor(key)); }

bool DiskCache::store(const std::string &key, const CacheEntry &entry) const {
  if (llvm::sys::fs::create_directories(directory))
    return false;
  std::string bytes = encode(key, entry);

  // Write a uniquely named temporary in the same directory, then rename it over the entry: the
  // rename is atomic, so a concurrent reader sees the old file, no file, or the whole new one.
  llvm::SmallString<256> model(pathFor(key) + ".tmp-%%%%%%%%");
  int fd;
  llvm::SmallString<256> tmpPath;
  if (llvm::sys::fs::createUniqueFile(model, fd, tmpPath))
    return false;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << bytes;
    os.flush();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tmpPath);
      return false;
    }
  }
  if (llvm::sys::fs::rename(tmpPath, pathFor(key))) {
    llvm::sys::fs::remove(tmpPath);
    return false;
  }
  touch(pathFor(key));
  evict(pathFor(key));
  return true;
}

void DiskCache::evict(const std::string &keep) const {
  struct File {
    std::string path;
    uint64_t size;
    llvm::sys::TimePoint<> used;
  };
  std::vector<File> files;
  uint64_t total = 0;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(directory, ec), end; it != end && !ec;
       it.increment(ec)) {
    if (!llvm::StringRef(it->path()).ends_with(kEntrySuffix))
      continue;
    llvm::sys::fs::file_status status;
    if (llvm::sys::fs::status(it->path(), status) ||
        status.type() != llvm::sys::fs::file_type::regular_file)
      continue;
    files.push_back({it->path(), status.getSize(), status.getLastModificationTime()});
    total += status.getSize();
  }
  if (total <= static_cast<uint64_t>(maxBytes))
    return;
  std::sort(files.begin(), files.end(),
            [](const File &a, const File &b) { return a.used < b.used; });
  for (const File &file : files) {
    if (total <= static_cast<uint64_t>(maxBytes))
      break;
    if (file.path == keep)
      continue;
    // Another process may have removed it first: either way it no longer counts.
    llvm::sys::fs::remove(file.path);
    total -= file.size;
  }
}
