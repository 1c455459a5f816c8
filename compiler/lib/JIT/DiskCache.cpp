//===- DiskCache.cpp - the on-disk kernel cache ---------------------------===//

#include "attn/JIT/DiskCache.h"
#include "attn/attn_version.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Support/xxhash.h"

#include <cstring>

using namespace mlir;
using namespace mlir::attn;

namespace {
constexpr char kMagic[8] = {'A', 'T', 'T', 'N', 'K', 'E', 'R', 'N'};
constexpr uint32_t kFormatVersion = 2;

/// The fixed-size header in front of the object code (little-endian, as the host).
struct Header {
  char magic[8];
  uint32_t formatVersion;
  uint32_t headerSize;
  char attncVersion[16];
  char llvmVersion[16];
  char key[64];
  int64_t blockQ, blockK, vectorWidth;
  uint64_t objectCount;
  uint64_t payloadSize;
  uint64_t payloadHash;
};

void copyField(char *field, size_t size, const std::string &value) {
  std::memset(field, 0, size);
  std::memcpy(field, value.data(), std::min(size, value.size()));
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
    if (payload.size() < size)
      return false;
    objects.push_back(payload.take_front(size).str());
    payload = payload.drop_front(size);
  }
  return payload.empty() && !objects.empty();
}

bool fieldEquals(const char *field, size_t size, const std::string &value) {
  char expected[64] = {};
  std::memcpy(expected, value.data(), std::min(size, value.size()));
  return std::memcmp(field, expected, size) == 0;
}
} // namespace

std::string DiskCache::pathFor(const std::string &key) const {
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, key + ".attnk");
  return std::string(path);
}

CacheLookup DiskCache::lookup(const std::string &key, CacheEntry &entry) const {
  std::string path = pathFor(key);
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return CacheLookup::Miss;
  llvm::StringRef data = (*buffer)->getBuffer();
  Header header;
  bool valid = data.size() >= sizeof(Header);
  if (valid) {
    std::memcpy(&header, data.data(), sizeof(Header));
    llvm::StringRef payload = data.drop_front(sizeof(Header));
    valid = std::memcmp(header.magic, kMagic, sizeof(kMagic)) == 0 &&
            header.formatVersion == kFormatVersion && header.headerSize == sizeof(Header) &&
            fieldEquals(header.attncVersion, sizeof(header.attncVersion), ATTN_VERSION_STRING) &&
            fieldEquals(header.llvmVersion, sizeof(header.llvmVersion), LLVM_VERSION_STRING) &&
            fieldEquals(header.key, sizeof(header.key), key) &&
            header.payloadSize == payload.size() && header.blockQ > 0 && header.blockK > 0 &&
            header.vectorWidth > 0 && header.payloadHash == llvm::xxh3_64bits(payload) &&
            decodeObjects(payload, header.objectCount, entry.objects);
    if (valid) {
      entry.config = {header.blockQ, header.blockK, header.vectorWidth};
      return CacheLookup::Hit;
    }
  }
  llvm::sys::fs::remove(path);
  return CacheLookup::Rejected;
}

bool DiskCache::store(const std::string &key, const CacheEntry &entry) const {
  if (llvm::sys::fs::create_directories(directory))
    return false;
  Header header;
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.formatVersion = kFormatVersion;
  header.headerSize = sizeof(Header);
  copyField(header.attncVersion, sizeof(header.attncVersion), ATTN_VERSION_STRING);
  copyField(header.llvmVersion, sizeof(header.llvmVersion), LLVM_VERSION_STRING);
  copyField(header.key, sizeof(header.key), key);
  header.blockQ = entry.config.blockQ;
  header.blockK = entry.config.blockK;
  header.vectorWidth = entry.config.vectorWidth;
  std::string payload;
  for (const std::string &object : entry.objects) {
    uint64_t size = object.size();
    payload.append(reinterpret_cast<const char *>(&size), sizeof(size));
    payload += object;
  }
  header.objectCount = entry.objects.size();
  header.payloadSize = payload.size();
  header.payloadHash = llvm::xxh3_64bits(payload);

  // Write a uniquely named temporary in the same directory, then rename it over the entry: the
  // rename is atomic, so a concurrent reader sees the old file, no file, or the whole new one.
  llvm::SmallString<256> model(pathFor(key) + ".tmp-%%%%%%%%");
  int fd;
  llvm::SmallString<256> tmpPath;
  if (llvm::sys::fs::createUniqueFile(model, fd, tmpPath))
    return false;
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(reinterpret_cast<const char *>(&header), sizeof(header));
    os << payload;
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
  return true;
}
