//===- DiskCacheFormatTest.cpp - what the disk cache accepts --------------===//
//
// The entry format (DiskCache.h): every bit of the header is covered by the hash; sizes that do
// not add up are refused before anything is allocated for them; and an intact entry holding
// another problem's code (a valid hash over the wrong objects) is caught by the code's manifest
// when the plugin loads it, rejected and rebuilt.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"
#include "attn/JIT/DiskCache.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

using namespace mlir::attn;
using namespace attn::rttest;
namespace fs = std::filesystem;

namespace {

const std::string kKey(64, 'a');

CacheEntry sampleEntry() {
  CacheEntry entry;
  entry.objects = {std::string(300, 'x'), std::string(17, 'y')};
  return entry;
}

TEST(DiskCacheFormat, RoundTrip) {
  std::string bytes = DiskCache::encode(kKey, sampleEntry());
  CacheEntry decoded;
  ASSERT_TRUE(DiskCache::decode(bytes, kKey, decoded));
  EXPECT_EQ(decoded.objects, sampleEntry().objects);
  EXPECT_FALSE(DiskCache::decode(bytes, std::string(64, 'b'), decoded)) << "another key";
}

// The old format left its tile fields outside the hash. Now no header bit can change unnoticed.
TEST(DiskCacheFormat, EveryHeaderBitFlipIsRejected) {
  const std::string bytes = DiskCache::encode(kKey, sampleEntry());
  const size_t headerSize = bytes.size() - (8 + 300 + 8 + 17);
  ASSERT_EQ(headerSize, 136u);
  for (size_t byte = 0; byte < headerSize; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[byte] ^= static_cast<char>(1 << bit);
      CacheEntry decoded;
      EXPECT_FALSE(DiskCache::decode(flipped, kKey, decoded)) << "byte " << byte << " bit " << bit;
    }
  }
}

TEST(DiskCacheFormat, SizesThatDoNotAddUpAreRejected) {
  std::string bytes = DiskCache::encode(kKey, sampleEntry());
  CacheEntry decoded;
  EXPECT_FALSE(DiskCache::decode(bytes.substr(0, bytes.size() - 1), kKey, decoded));
  EXPECT_FALSE(DiskCache::decode(bytes + "z", kKey, decoded));
  EXPECT_FALSE(DiskCache::decode(bytes.substr(0, 100), kKey, decoded));
  CacheEntry empty;
  EXPECT_FALSE(DiskCache::decode(DiskCache::encode(kKey, empty), kKey, decoded));
}

/// The one entry file in `dir` that is not in `known`.
fs::path newEntry(const std::string &dir, const std::vector<fs::path> &known) {
  for (const auto &file : fs::directory_iterator(dir))
    if (std::find(known.begin(), known.end(), file.path()) == known.end())
      return file.path();
  return {};
}

// A valid entry for causal attention that holds the code of dense attention: its hash is right,
// only the code's manifest can tell. The plugin rejects it, compiles afresh, and the kernel is
// the causal one.
TEST(DiskCacheFormat, AnotherProblemsCodeIsRejectedAndRebuilt) {
  TempDir dir;
  attn_context_options options;
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 1;
  options.cache_dir = dir.path().c_str();
  attn_problem dense = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 3, 3, 64, 64);
  dense.softcap = 11; // a problem no other test compiles: no live copy in the plugin's memory
  attn_problem causal = dense;
  causal.causal = 1;
  fs::path denseFile, causalFile;
  {
    ContextPtr context = makeContext(&options);
    KernelPtr a, b;
    ATTN_CREATE_KERNEL_OR_SKIP(context.get(), dense, a);
    denseFile = newEntry(dir.path(), {});
    ATTN_CREATE_KERNEL_OR_SKIP(context.get(), causal, b);
    causalFile = newEntry(dir.path(), {denseFile});
  }
  ASSERT_FALSE(denseFile.empty());
  ASSERT_FALSE(causalFile.empty());
  std::string denseKey = denseFile.stem().string(), causalKey = causalFile.stem().string();
  CacheEntry denseCode;
  ASSERT_TRUE(DiskCache::decode(readFile(denseFile.string()), denseKey, denseCode));
  std::ofstream(causalFile, std::ios::binary | std::ios::trunc)
      << DiskCache::encode(causalKey, denseCode);

  ContextPtr context = makeContext(&options);
  KernelPtr kernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context.get(), causal, kernel);
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  ASSERT_EQ(attn_context_get_stats(context.get(), &stats), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(stats.disk_cache_rejected, 1);
  EXPECT_EQ(stats.disk_cache_hits, 0);
  EXPECT_EQ(stats.kernels_compiled, 1);
  AttentionCase c;
  c.problem = causal;
  c.batch = 2;
  c.seqQ = 50;
  c.seqKv = 90;
  expectAccurate(runCase(kernel.get(), c), causal.dtype);
}

} // namespace
