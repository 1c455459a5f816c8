//===- BundleHardeningTest.cpp - bundles that must not run the wrong code ---===//
//
// Several bundles in one process each run their own code; a bundle whose fields were edited (with
// the checksum made right again, so only the code's own manifest can tell) is refused; every
// single-bit flip in the header and entry table is refused or harmless; files that are not
// bundles are refused before they are read.
//
//===----------------------------------------------------------------------===//

#include "BundleTestUtil.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

using namespace attn::rttest;

// The problems attnc was given (test/runtime/CMakeLists.txt).
attn_problem denseProblem() { // dense.attnb: 4 heads of 128, dense
  return makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 4, 128, 128);
}
attn_problem causalProblem() { // causal.attnb: 4 heads of 64, causal
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 4, 64, 64);
  p.causal = 1;
  return p;
}
KernelPtr load(attn_context *context, const std::string &bytes) {
  attn_kernel *raw = nullptr;
  EXPECT_EQ(attn_kernel_load_bundle(context, bytes.data(), bytes.size(), &raw), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  return KernelPtr(raw);
}

void expectRuns(attn_kernel *kernel, const attn_problem &problem, int64_t seqQ, int64_t seqKv) {
  ASSERT_NE(kernel, nullptr);
  attn_problem loaded;
  loaded.struct_size = sizeof(loaded);
  ASSERT_EQ(attn_kernel_get_problem(kernel, &loaded), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(loaded.causal, problem.causal);
  EXPECT_EQ(loaded.head_dim, problem.head_dim);
  AttentionCase c;
  c.problem = problem;
  c.batch = 2;
  c.seqQ = seqQ;
  c.seqKv = seqKv;
  expectAccurate(runCase(kernel, c), problem.dtype);
}

// The defect: the loader named each library /proc/self/fd/N and closed N, so the next bundle got
// the same name and the dynamic loader handed back the first bundle's code.
TEST(BundleHardening, TwoBundlesInOneProcessRunTheirOwnCode) {
  BUNDLE_OR_SKIP("dense.attnb", dense);
  BUNDLE_OR_SKIP("causal.attnb", causal);
  ContextPtr context = makeContext(2);
  KernelPtr first = load(context.get(), dense);
  KernelPtr second = load(context.get(), causal);
  for (int round = 0; round < 2; ++round) { // interleaved launches, both alive
    expectRuns(first.get(), denseProblem(), 70, 130);
    expectRuns(second.get(), causalProblem(), 70, 130);
    expectRuns(second.get(), causalProblem(), 1, 600); // decode
  }
  // Released and replaced: the freed name must not bring the old code back either.
  first.reset();
  KernelPtr third = load(context.get(), causal);
  expectRuns(third.get(), causalProblem(), 33, 33);
  KernelPtr fourth = load(context.get(), dense);
  expectRuns(fourth.get(), denseProblem(), 33, 33);
}

// A bundle's tiles are its code's (the manifest): decode rows and KV split lengths away from the
// defaults change how launches are cut, not what they compute.
TEST(BundleHardening, TunedTilesComeFromTheCode) {
  BUNDLE_OR_SKIP("tuned.attnb", bytes);
  ContextPtr context = makeContext(2);
  KernelPtr kernel = load(context.get(), bytes);
  attn_problem problem = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 8, 2, 64, 64);
  problem.causal = 1;
  problem.return_lse = 1;
  expectRuns(kernel.get(), problem, 1, 1000); // 8 rows: decode, 11 splits of 96 keys
  expectRuns(kernel.get(), problem, 2, 333);  // 16 rows: decode
  expectRuns(kernel.get(), problem, 3, 64);   // 24 rows: prefill
  expectRuns(kernel.get(), problem, 45, 130);
}

// Someone else in the process loaded a library under /proc/self/fd/N and closed N: a bundle
// whose memory file gets number N must still run its own code.
TEST(BundleHardening, ANameTakenByAnotherLibraryIsSkipped) {
  BUNDLE_OR_SKIP("dense.attnb", dense);
  BUNDLE_OR_SKIP("causal.attnb", causal);
  bundle::BundleView view;
  std::string message;
  ASSERT_EQ(bundle::parseBundle(dense.data(), dense.size(), ATTN_VERSION_MAJOR, ATTN_VERSION_MINOR,
                                view, message),
            bundle::ParseError::None)
      << message;
  int fd = memfd_create("foreign", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  const bundle::BundleEntry &e = view.entries[0];
  ASSERT_EQ(write(fd, dense.data() + e.payloadOffset, e.payloadSize),
            static_cast<ssize_t>(e.payloadSize));
  std::string name = "/proc/self/fd/" + std::to_string(fd);
  void *foreign = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(foreign, nullptr) << dlerror();
  close(fd); // the next memfd gets this number
  ContextPtr context = makeContext(1);
  KernelPtr kernel = load(context.get(), causal);
  expectRuns(kernel.get(), causalProblem(), 40, 90);
  dlclose(foreign);
}

// With the checksum made right again, an edited field is caught by the code's manifest.
TEST(BundleHardening, EditedFieldsAreRefused) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  using Edit = std::function<void(bundle::BundleEntry &)>;
  const std::pair<const char *, Edit> edits[] = {
      {"causal", [](bundle::BundleEntry &e) { e.causal = 0; }},
      {"block_q", [](bundle::BundleEntry &e) { e.blockQ += int64_t(1) << 40; }},
      {"block_q", [](bundle::BundleEntry &e) { e.blockQ = 1; }},
      {"block_k", [](bundle::BundleEntry &e) { e.blockK = 16; }},
      {"decode_max_rows", [](bundle::BundleEntry &e) { e.decodeMaxRows = 4096; }},
      {"heads_q", [](bundle::BundleEntry &e) { e.headsQ = 16; }},
      {"heads_kv", [](bundle::BundleEntry &e) { e.headsKv = 8; }},
      {"head_dim", [](bundle::BundleEntry &e) { e.headDim = 128; }},
      {"head_dim_v", [](bundle::BundleEntry &e) { e.headDimV = 32; }},
      {"window_left", [](bundle::BundleEntry &e) { e.windowLeft = 5; }},
      {"global_tokens",
       [](bundle::BundleEntry &e) {
         e.windowLeft = 9;
         e.globalTokens = 2;
       }},
      {"scale", [](bundle::BundleEntry &e) { e.scale = 0.5; }},
      {"softcap", [](bundle::BundleEntry &e) { e.softcap = 30; }},
      {"return_lse", [](bundle::BundleEntry &e) { e.returnLse = 0; }},
      {"return_entropy", [](bundle::BundleEntry &e) { e.returnEntropy = 1; }},
      {"dtype", [](bundle::BundleEntry &e) { e.dtype = ATTN_DTYPE_BF16; }},
      {"variant", [](bundle::BundleEntry &e) { e.variant = ATTN_VARIANT_LINEAR; }},
      {"page_size", [](bundle::BundleEntry &e) { e.pageSize = 16; }},
      {"feature_map", [](bundle::BundleEntry &e) { e.featureMap = ATTN_FEATURE_MAP_RELU; }},
      {"target padding", [](bundle::BundleEntry &e) { e.target[10] = 'x'; }},
  };
  for (const auto &[field, edit] : edits) {
    SCOPED_TRACE(field);
    expectRejected(withEntry(bytes, edit), ATTN_STATUS_CORRUPT_DATA, "corrupt kernel bundle");
  }
}

// The attnc version is checksummed with the rest, and compared with the code's.
TEST(BundleHardening, PatchVersionIsChecksummedAndChecked) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  auto patch = [](bundle::BundleHeader &h) { h.attncPatch = 64; };
  expectRejected(withHeader(bytes, patch, /*rechecksum=*/false), ATTN_STATUS_CORRUPT_DATA,
                 "checksum mismatch");
  expectRejected(withHeader(bytes, patch), ATTN_STATUS_CORRUPT_DATA,
                 "its header says attnc 0.1.64, its code was built by attnc 0.1.0");
}

// Every single-bit flip in the header and entry table: refused as it is (the checksum covers
// them), and with the checksum made right again either refused or a kernel that still computes
// the bundle's problem correctly.
TEST(BundleHardening, EveryHeaderBitFlipIsRefusedOrHarmless) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  ContextPtr context = makeContext(1);
  const size_t fields = sizeof(bundle::BundleHeader) + sizeof(bundle::BundleEntry);
  int loaded = 0;
  for (size_t byte = 0; byte < fields; ++byte) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string flipped = bytes;
      flipped[byte] ^= static_cast<char>(1 << bit);
      attn_kernel *raw = nullptr;
      ASSERT_NE(attn_kernel_load_bundle(context.get(), flipped.data(), flipped.size(), &raw),
                ATTN_STATUS_SUCCESS)
          << "byte " << byte << " bit " << bit << " flipped, yet the bundle loaded";
      flipped = rechecksummed(std::move(flipped));
      if (attn_kernel_load_bundle(context.get(), flipped.data(), flipped.size(), &raw) !=
          ATTN_STATUS_SUCCESS)
        continue;
      ++loaded;
      KernelPtr kernel(raw);
      SCOPED_TRACE("byte " + std::to_string(byte) + " bit " + std::to_string(bit));
      expectRuns(kernel.get(), gqaProblem(), 37, 129);
    }
  }
  // Only a flip in the checksum field itself (rewritten) leaves a bundle that loads: fields that
  // do not matter for this problem (feature_map of a softmax problem, string padding, -0.0 for a
  // softcap) must still be written as attnc writes them.
  EXPECT_EQ(loaded, 8 * 8) << loaded << " flipped bundles loaded";
}

TEST(BundleHardening, FilesThatAreNotBundlesAreRefusedBeforeReading) {
  BUNDLE_OR_SKIP("gqa.attnb", bytes);
  ContextPtr context = makeContext(1);
  auto expectFile = [&](const std::string &path, attn_status status, const char *why) {
    attn_kernel *kernel = reinterpret_cast<attn_kernel *>(0x1);
    EXPECT_EQ(attn_kernel_load_bundle_file(context.get(), path.c_str(), &kernel), status) << path;
    EXPECT_NE(std::strstr(attn_last_error(), why), nullptr) << attn_last_error();
    EXPECT_EQ(kernel, reinterpret_cast<attn_kernel *>(0x1));
  };
  std::string dir = bundlePath("");
  expectFile(dir, ATTN_STATUS_IO_ERROR, "is not a regular file (a directory)");
  expectFile("/dev/zero", ATTN_STATUS_IO_ERROR, "is not a regular file (a device");
  expectFile(dir + "/no-such.attnb", ATTN_STATUS_IO_ERROR, "No such file");

  std::string huge = dir + "/huge.attnb"; // sparse: nothing is written, nothing should be read
  int fd = open(huge.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(write(fd, bytes.data(), 64), 64);
  ASSERT_EQ(ftruncate(fd, off_t(300) << 20), 0);
  close(fd);
  expectFile(huge, ATTN_STATUS_CORRUPT_DATA, "more than a kernel bundle may be");

  std::string padded = dir + "/padded.attnb";
  std::ofstream(padded, std::ios::binary) << bytes << "trailing bytes";
  expectFile(padded, ATTN_STATUS_CORRUPT_DATA, "truncated or padded kernel bundle");
  std::remove(huge.c_str());
  std::remove(padded.c_str());
}

} // namespace
