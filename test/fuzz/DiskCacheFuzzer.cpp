//===- DiskCacheFuzzer.cpp - attn-fuzz-disk-cache -------------------------===//
//
// The on-disk kernel cache's entry reader, through its public API only (the header format is the
// cache's business and will change). An input is either
//   - raw (first byte even): the rest is written as the entry file of a fixed key; or
//   - stored (first byte odd): the rest decodes to a CacheEntry (up to 4 objects), which
//     DiskCache::store writes with a valid header for this build; what is left of the input
//     then names (position, value) edits and a truncation applied to the stored file.
// lookup() must not crash. An entry it accepts must decode to objects that account for the tail
// of the file as the header documents it (each object preceded by its 64-bit size), and an
// unedited stored entry of non-empty objects must come back exactly as it was stored.
//
//===----------------------------------------------------------------------===//

#include "AsanOptions.h"
#include "attn/JIT/DiskCache.h"

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <unistd.h>

using namespace mlir::attn;

namespace {

const std::string kKey(64, 'a'); // content keys are 64 hex digits
std::string gDirectory;

[[noreturn]] void violated(const char *property) {
  std::fprintf(stderr, "attn-fuzz-disk-cache: %s\n", property);
  std::abort();
}

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

void writeFile(const std::string &path, const std::string &bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), bytes.size());
}

/// The objects as the entry file frames them: each preceded by its 64-bit size.
std::string framed(const std::vector<std::string> &objects) {
  std::string bytes;
  for (const std::string &object : objects) {
    uint64_t size = object.size();
    bytes.append(reinterpret_cast<const char *>(&size), sizeof(size));
    bytes += object;
  }
  return bytes;
}

CacheEntry consumeEntry(FuzzedDataProvider &in) {
  CacheEntry entry;
  size_t count = in.ConsumeIntegralInRange<size_t>(0, 4);
  for (size_t i = 0; i < count; ++i)
    entry.objects.push_back(in.ConsumeRandomLengthString(64));
  return entry;
}

/// Overwrites bytes of the stored file at positions the input picks, then truncates it by what a
/// last odd byte says; returns whether the input asked for any edit.
bool applyEdits(FuzzedDataProvider &in, std::string &file) {
  const bool edits = in.remaining_bytes() != 0;
  while (in.remaining_bytes() >= 3) {
    size_t position = in.ConsumeIntegral<uint16_t>() % file.size();
    file[position] = static_cast<char>(in.ConsumeIntegral<uint8_t>());
  }
  if (in.remaining_bytes() != 0)
    file.resize(file.size() - std::min<size_t>(file.size(), in.ConsumeIntegral<uint8_t>()));
  return edits;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
  char model[] = "/tmp/attn-fuzz-disk-cache-XXXXXX";
  if (!mkdtemp(model))
    violated("cannot create a temporary directory");
  gDirectory = model;
  std::atexit([] { rmdir(gDirectory.c_str()); }); // each input removes its entry file
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return -1;
  const bool stored = data[0] & 1;
  FuzzedDataProvider in(data + 1, size - 1);
  DiskCache cache(gDirectory);
  const std::string path = cache.pathFor(kKey);
  std::optional<CacheEntry> original;
  std::string file;
  if (stored) {
    original = consumeEntry(in);
    std::remove(path.c_str());
    if (!cache.store(kKey, *original))
      return 0;
    file = readFile(path);
    if (applyEdits(in, file))
      original.reset(); // edited: any outcome but a crash or an inconsistent hit is fine
    writeFile(path, file);
  } else {
    file = in.ConsumeRemainingBytesAsString();
    writeFile(path, file);
  }

  CacheEntry entry;
  CacheLookup result = cache.lookup(kKey, entry);
  if (result == CacheLookup::Hit) {
    std::string tail = framed(entry.objects);
    if (entry.objects.empty() || tail.size() > file.size() ||
        file.compare(file.size() - tail.size(), tail.size(), tail) != 0)
      violated("an accepted entry's objects do not account for the end of its file");
    for (const std::string &object : entry.objects)
      if (object.empty())
        violated("an accepted entry holds an empty object");
  }
  // A kernel is at least one object, none empty: what the JIT stores.
  bool storable = original && !original->objects.empty() &&
                  std::none_of(original->objects.begin(), original->objects.end(),
                               [](const std::string &object) { return object.empty(); });
  if (storable && (result != CacheLookup::Hit || entry.objects != original->objects))
    violated("a stored entry does not read back as it was stored");
  std::remove(path.c_str());
  return 0;
}
