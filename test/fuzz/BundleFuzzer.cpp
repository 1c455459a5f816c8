//===- BundleFuzzer.cpp - attn-fuzz-bundle --------------------------------===//
//
// The bundle loader, attn_kernel_load_bundle. An input that starts with the bundle magic is loaded
// as it is. Raw mutation rarely survives the checksum, so any other input is an overlay: XORed
// onto the header and entry table of a valid seed bundle (ATTN_FUZZ_SEED_BUNDLE, else the first
// bundle in a corpus directory on the command line), which is then re-checksummed and loaded. XOR
// keeps the committed overlay seeds meaningful whatever the seed's versions: zeros are the seed.
//
// The payload is never changed: it is native code, as trusted as any shared object, and dlopen of
// a malformed ELF may crash by design: a bundle that passes the format's checks is loaded only if
// it carries the seed's payload.
//
// Properties: no crash; a bundle that loads describes its code exactly (the problem and tiles the
// code's manifest names: the loader compares them); its launch on poisoned buffers (NaN, with a
// canary tail) either fails leaving every output byte as it was, or writes every output element
// (no NaN left for finite inputs) and nothing past the end.
//
//===----------------------------------------------------------------------===//

#include "BundleSeal.h"
#include "LaunchCheck.h"

#include "attn/attn_runtime.h"
#include "core/bundle_format.h"
#include "core/problem.h"

#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>

namespace bundle = attn::bundle;

namespace {

struct Seed {
  std::string bytes;
  bundle::BundleEntry entry;
  std::string problemKey; // the normalized problem its kernel solves
  size_t editable;        // header and entry table
};

attn_context *gContext;
std::optional<Seed> gSeed;

std::string readFile(const std::string &path) {
  std::ifstream file(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

bool startsWithMagic(const void *data, size_t size) {
  return size >= sizeof(bundle::kMagic) &&
         std::memcmp(data, bundle::kMagic, sizeof(bundle::kMagic)) == 0;
}

std::string problemKeyOf(attn_kernel *kernel) {
  attn_problem problem{};
  problem.struct_size = sizeof(problem);
  if (attn_kernel_get_problem(kernel, &problem) != ATTN_STATUS_SUCCESS)
    attn::fuzz::violated("attn_kernel_get_problem failed on a loaded kernel");
  return attn::rt::problemCacheKey(problem);
}

/// A seed this runtime loads, or nothing.
std::optional<Seed> trySeed(const std::string &path) {
  Seed seed;
  seed.bytes = readFile(path);
  bundle::BundleView view;
  std::string message;
  if (!startsWithMagic(seed.bytes.data(), seed.bytes.size()) ||
      bundle::parseBundle(seed.bytes.data(), seed.bytes.size(), ATTN_VERSION_MAJOR,
                          ATTN_VERSION_MINOR, view, message) != bundle::ParseError::None ||
      view.entries.size() != 1)
    return std::nullopt;
  attn_kernel *kernel;
  if (attn_kernel_load_bundle(gContext, seed.bytes.data(), seed.bytes.size(), &kernel) !=
      ATTN_STATUS_SUCCESS)
    return std::nullopt;
  seed.problemKey = problemKeyOf(kernel);
  attn_kernel_destroy(kernel);
  seed.entry = view.entries[0];
  seed.editable = sizeof(bundle::BundleHeader) + view.entries.size() * sizeof(bundle::BundleEntry);
  return seed;
}

std::optional<Seed> findSeed(int argc, char **argv) {
  if (const char *path = std::getenv("ATTN_FUZZ_SEED_BUNDLE"))
    return trySeed(path);
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-')
      continue;
    DIR *dir = opendir(argv[i]);
    if (!dir)
      continue;
    std::optional<Seed> seed;
    while (dirent *file = readdir(dir)) {
      if (file->d_name[0] != '.' && (seed = trySeed(std::string(argv[i]) + "/" + file->d_name)))
        break;
    }
    closedir(dir);
    if (seed)
      return seed;
  }
  return std::nullopt;
}

/// The seed with `overlay` XORed onto its header and entry table, its payload where it was.
std::string overlaid(const Seed &seed, const uint8_t *overlay, size_t size) {
  std::string bytes = seed.bytes;
  for (size_t i = 0; i < std::min(size, seed.editable); ++i)
    bytes[i] = static_cast<char>(bytes[i] ^ overlay[i]);
  bundle::BundleEntry entry;
  char *slot = bytes.data() + sizeof(bundle::BundleHeader);
  std::memcpy(&entry, slot, sizeof(entry));
  entry.payloadOffset = seed.entry.payloadOffset;
  entry.payloadSize = seed.entry.payloadSize;
  std::memcpy(slot, &entry, sizeof(entry));
  attn::fuzz::resealBundle(bytes);
  return bytes;
}

/// Whether `bytes` may be handed to the loader: any bundle the format rejects (the loader stops
/// before the payload), and one it accepts only with the seed's payload, byte for byte (the
/// fuzzer can repair a checksum by itself: it sees the comparison).
bool safeToLoad(const std::string &bytes) {
  bundle::BundleView view;
  std::string message;
  if (bundle::parseBundle(bytes.data(), bytes.size(), ATTN_VERSION_MAJOR, ATTN_VERSION_MINOR, view,
                          message) != bundle::ParseError::None)
    return true;
  if (!gSeed)
    return false;
  const bundle::BundleEntry &seed = gSeed->entry;
  for (const bundle::BundleEntry &entry : view.entries)
    if (entry.payloadSize != seed.payloadSize ||
        bytes.compare(entry.payloadOffset, entry.payloadSize, gSeed->bytes, seed.payloadOffset,
                      seed.payloadSize) != 0)
      return false;
  return true;
}

/// Whether a loaded bundle still describes the seed's code: same problem, same tiles.
bool describesSeedCode(const Seed &seed, const std::string &bytes, attn_kernel *kernel) {
  bundle::BundleEntry entry;
  std::memcpy(&entry, bytes.data() + sizeof(bundle::BundleHeader), sizeof(entry));
  return entry.blockQ == seed.entry.blockQ && entry.blockK == seed.entry.blockK &&
         entry.decodeMaxRows == seed.entry.decodeMaxRows && problemKeyOf(kernel) == seed.problemKey;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int *argc, char ***argv) {
  attn_context_options options;
  if (attn_context_options_init(&options) != ATTN_STATUS_SUCCESS)
    attn::fuzz::violated("attn_context_options_init failed");
  options.num_threads = 2; // the pool and split-KV decode take part
  options.disk_cache = 0;
  if (attn_context_create(&options, &gContext) != ATTN_STATUS_SUCCESS)
    attn::fuzz::violated("attn_context_create failed");
  gSeed = findSeed(*argc, *argv);
  if (!gSeed)
    std::fprintf(stderr, "attn-fuzz-bundle: no seed bundle (ATTN_FUZZ_SEED_BUNDLE or a corpus "
                         "directory holding one): overlay inputs are skipped\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const bool raw = startsWithMagic(data, size);
  if (!raw && !gSeed)
    return -1;
  std::string bytes =
      raw ? std::string(reinterpret_cast<const char *>(data), size) : overlaid(*gSeed, data, size);
  if (!safeToLoad(bytes))
    return -1;
  attn_kernel *kernel;
  if (attn_kernel_load_bundle(gContext, bytes.data(), bytes.size(), &kernel) != ATTN_STATUS_SUCCESS)
    return 0;
  // A loaded bundle passed safeToLoad, so it carries the seed's code: gSeed is set.
  if (!describesSeedCode(*gSeed, bytes, kernel))
    attn::fuzz::violated("a bundle loaded whose entry does not describe its code");
  attn::fuzz::checkLaunch(kernel, bundle::fnv1a(data, size));
  attn_kernel_destroy(kernel);
  return 0;
}
