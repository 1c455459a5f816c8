//===- DiskCacheTest.cpp - the cache directory and the disk cache counters ===//
//
// The runtime resolves the cache directory (options, then $ATTN_CACHE_DIR,
// $XDG_CACHE_HOME/attnc, $HOME/.cache/attnc), hands it to the compiler plugin
// (or NULL when disk_cache is 0), and counts what the plugin reports. Needs
// the plugin (skips without it); every test works in its own temporary dir.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

namespace {

using namespace attn::rttest;
namespace fs = std::filesystem;

std::vector<fs::path> filesUnder(const std::string &dir) {
  std::vector<fs::path> files;
  std::error_code error;
  if (!fs::exists(dir, error))
    return files;
  for (const auto &entry : fs::recursive_directory_iterator(dir, error))
    if (entry.is_regular_file())
      files.push_back(entry.path());
  return files;
}

// Sets an environment variable for one scope.
class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name_(name) {
    if (const char *old = std::getenv(name))
      old_ = old;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      setenv(name_, old_->c_str(), 1);
    else
      unsetenv(name_);
  }

private:
  const char *name_;
  std::optional<std::string> old_;
};

// A problem no other test compiles, so the plugin has no live copy of it in memory.
attn_problem uniqueProblem(int64_t headsQ) {
  attn_problem problem = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, headsQ, 1, 96, 96);
  problem.softcap = 7.0;
  return problem;
}

attn_context_stats statsOf(attn_context *context) {
  attn_context_stats stats;
  stats.struct_size = sizeof(stats);
  EXPECT_EQ(attn_context_get_stats(context, &stats), ATTN_STATUS_SUCCESS);
  return stats;
}

// Compiles problem in a fresh context with these options; returns its stats.
attn_context_stats compileOnce(const attn_context_options *options, const attn_problem &problem,
                               bool &skipped) {
  ContextPtr context = makeContext(options);
  attn_kernel *kernel = nullptr;
  attn_status status = attn_kernel_create(context.get(), &problem, &kernel);
  skipped = isNoPluginError(status, attn_last_error());
  if (!skipped) {
    EXPECT_EQ(status, ATTN_STATUS_SUCCESS) << attn_last_error();
  }
  KernelPtr owned(kernel);
  return statsOf(context.get());
}

attn_context_options optionsWith(const char *cacheDir, int32_t diskCache) {
  attn_context_options options;
  EXPECT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  options.num_threads = 1;
  options.cache_dir = cacheDir;
  options.disk_cache = diskCache;
  return options;
}

TEST(DiskCache, SecondContextLoadsFromDisk) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 1);
  attn_problem problem = uniqueProblem(3);
  bool skipped = false;
  attn_context_stats first = compileOnce(&options, problem, skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  EXPECT_EQ(first.kernels_compiled, 1);
  EXPECT_EQ(first.disk_cache_hits, 0);
  ASSERT_FALSE(filesUnder(dir.path()).empty()) << "the kernel was not written to the disk cache";

  attn_context_stats second = compileOnce(&options, problem, skipped);
  EXPECT_EQ(second.kernels_compiled, 0);
  EXPECT_EQ(second.disk_cache_hits, 1);
  EXPECT_EQ(second.disk_cache_rejected, 0);

  // A corrupt entry is counted as rejected, then rebuilt.
  for (const fs::path &file : filesUnder(dir.path()))
    std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a kernel";
  attn_context_stats third = compileOnce(&options, problem, skipped);
  EXPECT_EQ(third.disk_cache_rejected, 1);
  EXPECT_EQ(third.kernels_compiled, 1);
  EXPECT_EQ(third.disk_cache_hits, 0);
}

TEST(DiskCache, DisabledWritesNothing) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 0);
  bool skipped = false;
  attn_context_stats stats = compileOnce(&options, uniqueProblem(5), skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  EXPECT_EQ(stats.kernels_compiled, 1);
  EXPECT_TRUE(filesUnder(dir.path()).empty());
}

TEST(DiskCache, DirectoryFromTheEnvironment) {
  TempDir dir;
  const std::string fromEnv = dir.path() + "/env", xdg = dir.path() + "/xdg",
                    home = dir.path() + "/home";
  attn_context_options options = optionsWith(nullptr, 1);
  bool skipped = false;
  {
    ScopedEnv cache("ATTN_CACHE_DIR", fromEnv.c_str());
    ScopedEnv xdgEnv("XDG_CACHE_HOME", xdg.c_str());
    compileOnce(&options, uniqueProblem(6), skipped);
    if (skipped)
      GTEST_SKIP() << "no compiler plugin";
    EXPECT_FALSE(filesUnder(fromEnv).empty()) << "$ATTN_CACHE_DIR comes first";
    EXPECT_TRUE(filesUnder(xdg).empty());
  }
  {
    ScopedEnv cache("ATTN_CACHE_DIR", ""); // empty counts as unset
    ScopedEnv xdgEnv("XDG_CACHE_HOME", xdg.c_str());
    compileOnce(&options, uniqueProblem(7), skipped);
    EXPECT_FALSE(filesUnder(xdg + "/attnc").empty()) << "then $XDG_CACHE_HOME/attnc";
  }
  {
    ScopedEnv cache("ATTN_CACHE_DIR", nullptr);
    ScopedEnv xdgEnv("XDG_CACHE_HOME", nullptr);
    ScopedEnv homeEnv("HOME", home.c_str());
    compileOnce(&options, uniqueProblem(8), skipped);
    EXPECT_FALSE(filesUnder(home + "/.cache/attnc").empty()) << "then $HOME/.cache/attnc";
  }
  {
    ScopedEnv cache("ATTN_CACHE_DIR", fromEnv.c_str());
    const std::string explicitDir = dir.path() + "/explicit";
    attn_context_options withDir = optionsWith(explicitDir.c_str(), 1);
    compileOnce(&withDir, uniqueProblem(9), skipped);
    EXPECT_FALSE(filesUnder(explicitDir).empty()) << "options.cache_dir overrides everything";
  }
}

// A single flipped byte in the object code is caught by the entry's hash, not only a truncated
// or overwritten file: the entry is rejected and the kernel rebuilt.
TEST(DiskCache, FlippedPayloadByteIsRejectedAndRebuilt) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 1);
  attn_problem problem = uniqueProblem(10);
  bool skipped = false;
  compileOnce(&options, problem, skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  std::vector<fs::path> files = filesUnder(dir.path());
  ASSERT_EQ(files.size(), 1u);
  {
    std::fstream file(files[0], std::ios::binary | std::ios::in | std::ios::out);
    file.seekg(0, std::ios::end);
    std::streamoff size = file.tellg();
    file.seekp(size - 100); // inside the object code, past the header
    char byte;
    file.seekg(size - 100);
    file.get(byte);
    file.seekp(size - 100);
    file.put(static_cast<char>(byte ^ 0x20));
  }
  attn_context_stats stats = compileOnce(&options, problem, skipped);
  EXPECT_EQ(stats.disk_cache_rejected, 1);
  EXPECT_EQ(stats.kernels_compiled, 1);
  attn_context_stats again = compileOnce(&options, problem, skipped);
  EXPECT_EQ(again.disk_cache_hits, 1) << "the rebuilt entry was written back";
}

void flipByte(const fs::path &path, std::streamoff offset) {
  std::fstream file(path, std::ios::binary | std::ios::in | std::ios::out);
  char byte;
  file.seekg(offset);
  file.get(byte);
  file.seekp(offset);
  file.put(static_cast<char>(byte ^ 0x01));
}

// The header is covered by the entry's hash: a flipped bit anywhere in it (the magic, the
// versions, the key, the object count, the payload size) is a rejected entry, never a hit. (The
// old format's tile fields were outside the hash and replaced the compiler's: block_q 64 + 2^40
// was a hit whose launches left half the output unwritten.)
TEST(DiskCache, FlippedHeaderBitIsRejectedAndRebuilt) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 1);
  attn_problem problem = uniqueProblem(12);
  bool skipped = false;
  compileOnce(&options, problem, skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  for (std::streamoff offset : {3, 30, 60, 120}) { // magic, version, key, count
    SCOPED_TRACE(offset);
    std::vector<fs::path> files = filesUnder(dir.path());
    ASSERT_EQ(files.size(), 1u);
    flipByte(files[0], offset);
    ContextPtr context = makeContext(&options);
    KernelPtr kernel;
    ATTN_CREATE_KERNEL_OR_SKIP(context.get(), problem, kernel);
    EXPECT_EQ(statsOf(context.get()).disk_cache_rejected, 1);
    EXPECT_EQ(statsOf(context.get()).kernels_compiled, 1);
    AttentionCase c;
    c.problem = problem;
    c.batch = 1;
    c.seqQ = 33;
    c.seqKv = 70;
    expectAccurate(runCase(kernel.get(), c), problem.dtype);
  }
}

// The directory stays under its size bound: the least recently used entries go first (a hit
// makes an entry recently used), the entry just written never does.
TEST(DiskCache, SizeBoundEvictsTheLeastRecentlyUsed) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 1);
  bool skipped = false;
  compileOnce(&options, uniqueProblem(13), skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  std::vector<fs::path> files = filesUnder(dir.path());
  ASSERT_EQ(files.size(), 1u);
  const int64_t entryBytes = static_cast<int64_t>(fs::file_size(files[0]));
  // Room for two entries of this size (they differ a little between problems), not three.
  options.cache_max_bytes = entryBytes * 5 / 2;
  compileOnce(&options, uniqueProblem(14), skipped);
  EXPECT_EQ(filesUnder(dir.path()).size(), 2u);
  // 13 is used again (a hit), so 14 is now the least recently used.
  EXPECT_EQ(compileOnce(&options, uniqueProblem(13), skipped).disk_cache_hits, 1);
  compileOnce(&options, uniqueProblem(15), skipped);
  EXPECT_EQ(filesUnder(dir.path()).size(), 2u);
  EXPECT_EQ(compileOnce(&options, uniqueProblem(13), skipped).disk_cache_hits, 1);
  EXPECT_EQ(compileOnce(&options, uniqueProblem(15), skipped).disk_cache_hits, 1);
  EXPECT_EQ(compileOnce(&options, uniqueProblem(14), skipped).kernels_compiled, 1)
      << "the least recently used entry should have been evicted";

  // A bound below one entry keeps only the newest; the bound also comes from the environment.
  options.cache_max_bytes = 0;
  ScopedEnv bound("ATTN_CACHE_MAX_BYTES", "1");
  compileOnce(&options, uniqueProblem(16), skipped);
  EXPECT_EQ(filesUnder(dir.path()).size(), 1u);
}

TEST(DiskCache, MalformedSizeBoundInTheEnvironment) {
  ScopedEnv bound("ATTN_CACHE_MAX_BYTES", "lots");
  attn_context *context = nullptr;
  EXPECT_EQ(attn_context_create(nullptr, &context), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "ATTN_CACHE_MAX_BYTES is 'lots'"), nullptr)
      << attn_last_error();
}

// The disk cache survives the process: a child process (this test binary, running only
// DiskCacheChild) finds the entry this process wrote and compiles nothing.
TEST(DiskCache, NewProcessLoadsFromDisk) {
  TempDir dir;
  attn_context_options options = optionsWith(dir.path().c_str(), 1);
  bool skipped = false;
  compileOnce(&options, uniqueProblem(11), skipped);
  if (skipped)
    GTEST_SKIP() << "no compiler plugin";
  // /proc/self/exe seen from the shell is the shell: resolve our own binary first.
  std::error_code error;
  fs::path self = fs::read_symlink("/proc/self/exe", error);
  ASSERT_FALSE(error) << error.message();
  std::string command = "ATTN_TEST_CHILD_CACHE_DIR='" + dir.path() + "' '" + self.string() +
                        "' --gtest_filter=DiskCacheChild.* > /dev/null 2>&1";
  EXPECT_EQ(std::system(command.c_str()), 0) << "the child process did not load from disk";
}

// Runs only as NewProcessLoadsFromDisk's child.
TEST(DiskCacheChild, LoadsWithoutCompiling) {
  const char *dir = std::getenv("ATTN_TEST_CHILD_CACHE_DIR");
  if (!dir)
    GTEST_SKIP() << "runs only as a child of DiskCache.NewProcessLoadsFromDisk";
  attn_context_options options = optionsWith(dir, 1);
  bool skipped = false;
  attn_context_stats stats = compileOnce(&options, uniqueProblem(11), skipped);
  ASSERT_FALSE(skipped);
  EXPECT_EQ(stats.kernels_compiled, 0);
  EXPECT_EQ(stats.disk_cache_hits, 1);
}

} // namespace
