//===- LaunchValidationTest.cpp - every bad attn_launch_args is refused ---===//
//
// Each failing launch must name the bad field and leave O, LSE and ENTROPY
// exactly as they were (SPEC section 6). A launch needs a kernel, so these
// tests skip when no compiler plugin is present; the same checks also run
// without a plugin in internal/LaunchArgsTest.cpp.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include "attn/Oracle/TestUtil.h"

#include <cmath>
#include <cstring>

namespace {

using namespace attn::rttest;

constexpr int64_t kBatch = 2, kSeqQ = 5, kSeqKv = 7;

class LaunchValidation : public ::testing::Test {
protected:
  // One context and its kernels for the whole suite: compiling per test would dominate its time.
  static void SetUpTestSuite() {
    context_ = makeContext(1).release();
    attn_problem plain = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
    attn_problem withStats = plain;
    withStats.return_lse = 1;
    withStats.return_entropy = 1;
    createStatus_ = attn_kernel_create(context_, &plain, &kernel_);
    createError_ = attn_last_error();
    if (createStatus_ == ATTN_STATUS_SUCCESS) {
      createStatus_ = attn_kernel_create(context_, &withStats, &statsKernel_);
      createError_ = attn_last_error();
    }
  }
  static void TearDownTestSuite() {
    (void)attn_kernel_destroy(kernel_);
    (void)attn_kernel_destroy(statsKernel_);
    (void)attn_context_destroy(context_);
    kernel_ = statsKernel_ = nullptr;
    context_ = nullptr;
  }

  void SetUp() override {
    if (isNoPluginError(createStatus_, createError_.c_str()))
      GTEST_SKIP() << createError_;
    ASSERT_EQ(createStatus_, ATTN_STATUS_SUCCESS) << createError_;
    q_.fillRandom(1);
    k_.fillRandom(2);
    v_.fillRandom(3);
    o_.poison();
    attn::testutil::poison(lse_.data(), lse_.size());
    attn::testutil::poison(entropy_.data(), entropy_.size());
  }

  attn_launch_args validArgs() {
    attn_launch_args args;
    EXPECT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
    args.batch = kBatch;
    args.seq_q = kSeqQ;
    args.seq_kv = kSeqKv;
    args.q = q_.view();
    args.k = k_.view();
    args.v = v_.view();
    args.o = o_.view();
    return args;
  }

  // The launch fails with INVALID_ARGUMENT naming `needle`, and writes nothing.
  void expectFails(attn_kernel *kernel, const attn_launch_args *args, const char *needle) {
    std::vector<uint32_t> oBefore = o_.storage();
    std::vector<float> lseBefore = lse_, entropyBefore = entropy_;
    EXPECT_EQ(attn_kernel_launch(kernel, args), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), needle), nullptr)
        << "attn_last_error() is \"" << attn_last_error() << "\", expected \"" << needle << "\"";
    EXPECT_EQ(o_.storage(), oBefore) << "a failed launch wrote O";
    EXPECT_EQ(std::memcmp(lse_.data(), lseBefore.data(), lse_.size() * 4), 0)
        << "a failed launch wrote LSE";
    EXPECT_EQ(std::memcmp(entropy_.data(), entropyBefore.data(), entropy_.size() * 4), 0)
        << "a failed launch wrote ENTROPY";
  }
  void expectFails(const attn_launch_args &args, const char *needle) {
    expectFails(kernel_, &args, needle);
  }

  static inline attn_context *context_ = nullptr;
  static inline attn_kernel *kernel_ = nullptr, *statsKernel_ = nullptr;
  static inline attn_status createStatus_ = ATTN_STATUS_SUCCESS;
  static inline std::string createError_;
  Tensor q_{ATTN_DTYPE_F32, {kBatch, kSeqQ, 4, 64}};
  Tensor k_{ATTN_DTYPE_F32, {kBatch, kSeqKv, 2, 64}};
  Tensor v_{ATTN_DTYPE_F32, {kBatch, kSeqKv, 2, 64}};
  Tensor o_{ATTN_DTYPE_F32, {kBatch, kSeqQ, 4, 64}};
  std::vector<float> lse_ = std::vector<float>(kBatch * 4 * kSeqQ);
  std::vector<float> entropy_ = std::vector<float>(kBatch * 4 * kSeqQ);
  std::vector<int32_t> seqlens_ = {3, 5};
};

TEST_F(LaunchValidation, ValidArgsLaunch) {
  attn_launch_args args = validArgs();
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
}

TEST_F(LaunchValidation, NullArgs) { expectFails(kernel_, nullptr, "args is NULL"); }

// Needs no kernel, so it runs without the compiler plugin too.
TEST(Launch, NullKernel) {
  attn_launch_args args;
  ASSERT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(attn_kernel_launch(nullptr, &args), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "kernel is NULL"), nullptr) << attn_last_error();
  EXPECT_EQ(attn_kernel_launch(nullptr, nullptr), ATTN_STATUS_INVALID_ARGUMENT);
}

TEST_F(LaunchValidation, StructSizeTooSmall) {
  attn_launch_args args = validArgs();
  args.struct_size = offsetof(attn_launch_args, seqlens_kv);
  expectFails(args, "attn_launch_args.struct_size is 216, expected at least 224");
}

TEST_F(LaunchValidation, NonPositiveShapes) {
  attn_launch_args args = validArgs();
  args.batch = 0;
  expectFails(args, "attn_launch_args.batch is 0, expected 1..2147483647");
  args = validArgs();
  args.seq_q = 0;
  expectFails(args, "attn_launch_args.seq_q is 0, expected 1..2147483647");
  args = validArgs();
  args.seq_kv = -4;
  expectFails(args, "attn_launch_args.seq_kv is -4, expected 1..2147483647");
}

// Lengths past ATTN_MAX_SEQUENCE_LENGTH (the int32 range of seqlens) are refused by name before
// any work split or index is computed from them.
TEST_F(LaunchValidation, LengthsPastTheLimit) {
  attn_launch_args args = validArgs();
  args.seq_kv = int64_t(1) << 31;
  expectFails(args, "attn_launch_args.seq_kv is 2147483648, expected 1..2147483647");
  args = validArgs();
  args.seq_q = INT64_MAX;
  expectFails(args, "attn_launch_args.seq_q is 9223372036854775807, expected 1..2147483647");
  args = validArgs();
  args.batch = int64_t(1) << 40;
  expectFails(args, "attn_launch_args.batch is 1099511627776, expected 1..2147483647");
}

TEST_F(LaunchValidation, NullData) {
  const char *names[] = {"q", "k", "v", "o"};
  for (int t = 0; t < 4; ++t) {
    attn_launch_args args = validArgs();
    attn_tensor *tensors[] = {&args.q, &args.k, &args.v, &args.o};
    tensors[t]->data = nullptr;
    std::string needle = std::string("attn_launch_args.") + names[t] + ".data is NULL";
    expectFails(args, needle.c_str());
  }
}

TEST_F(LaunchValidation, LastDimMustBeContiguous) {
  const char *names[] = {"q", "k", "v", "o"};
  for (int t = 0; t < 4; ++t) {
    attn_launch_args args = validArgs();
    attn_tensor *tensors[] = {&args.q, &args.k, &args.v, &args.o};
    tensors[t]->strides[3] = 2;
    std::string needle = std::string("attn_launch_args.") + names[t] +
                         ".strides[3] is 2, expected 1 (the last dim must be contiguous)";
    expectFails(args, needle.c_str());
  }
}

TEST_F(LaunchValidation, NegativeStride) {
  attn_launch_args args = validArgs();
  args.k.strides[1] = -128;
  expectFails(args, "attn_launch_args.k.strides[1] is -128, expected >= 0");
}

TEST_F(LaunchValidation, MisalignedData) {
  attn_launch_args args = validArgs();
  args.v.data = static_cast<char *>(args.v.data) + 2;
  expectFails(args, "is not aligned to 4 bytes (the size of one f32 element)");
  args = validArgs();
  args.o.data = static_cast<char *>(args.o.data) + 1;
  expectFails(args, "attn_launch_args.o.data");
}

TEST_F(LaunchValidation, MisalignedHalfData) {
  attn_problem problem = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F16, 4, 2, 64, 64);
  KernelPtr halfKernel;
  ATTN_CREATE_KERNEL_OR_SKIP(context_, problem, halfKernel);
  attn_launch_args args = validArgs(); // f32 buffers are big enough for f16 views
  args.q.data = static_cast<char *>(args.q.data) + 1;
  expectFails(halfKernel.get(), &args, "is not aligned to 2 bytes (the size of one f16 element)");
}

TEST_F(LaunchValidation, OverlappingOutput) {
  attn_launch_args args = validArgs();
  args.o.strides[1] = 0; // every query row on the same memory
  expectFails(args, "attn_launch_args.o has overlapping elements");
  args = validArgs();
  args.o.strides[2] = 32; // heads overlap: Dv is 64
  expectFails(args, "attn_launch_args.o has overlapping elements");
}

TEST_F(LaunchValidation, ZeroStrideInputsAreAllowed) {
  attn_launch_args args = validArgs();
  args.k.strides[0] = 0; // the same keys for every batch
  args.v.strides[0] = 0;
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
}

TEST_F(LaunchValidation, ShapesThatOverflow) {
  attn_launch_args args = validArgs();
  args.batch = ATTN_MAX_SEQUENCE_LENGTH;
  args.seq_q = args.seq_kv = ATTN_MAX_SEQUENCE_LENGTH;
  args.q.strides[0] = int64_t(1) << 40; // (2^31 - 2) * 2^40 overflows int64
  expectFails(args, "attn_launch_args.q is too large");
}

TEST_F(LaunchValidation, StatisticsNotAskedFor) {
  attn_launch_args args = validArgs();
  args.lse = lse_.data();
  expectFails(args, "attn_launch_args.lse is set, but the kernel's problem does not ask for it "
                    "(attn_problem.return_lse = 0)");
  args = validArgs();
  args.entropy = entropy_.data();
  expectFails(args, "attn_launch_args.entropy is set, but the kernel's problem does not ask");
}

TEST_F(LaunchValidation, StatisticsMissing) {
  attn_launch_args args = validArgs();
  args.entropy = entropy_.data();
  expectFails(statsKernel_, &args,
              "attn_launch_args.lse is NULL, but the kernel's problem asks for it "
              "(attn_problem.return_lse = 1)");
  args = validArgs();
  args.lse = lse_.data();
  expectFails(statsKernel_, &args, "attn_launch_args.entropy is NULL");
  args.entropy = entropy_.data();
  EXPECT_EQ(attn_kernel_launch(statsKernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
}

TEST_F(LaunchValidation, MisalignedStatistics) {
  std::vector<float> storage(lse_.size() + 1);
  attn_launch_args args = validArgs();
  args.lse = reinterpret_cast<float *>(reinterpret_cast<char *>(storage.data()) + 2);
  args.entropy = entropy_.data();
  expectFails(statsKernel_, &args, "attn_launch_args.lse");
  EXPECT_NE(std::strstr(attn_last_error(), "is not aligned to 4 bytes"), nullptr);
}

TEST_F(LaunchValidation, SeqlensOutOfRange) {
  attn_launch_args args = validArgs();
  seqlens_ = {3, 6};
  args.seqlens_q = seqlens_.data();
  expectFails(args, "attn_launch_args.seqlens_q[1] is 6, expected 0..5 (seq_q)");
  seqlens_ = {-1, 2};
  expectFails(args, "attn_launch_args.seqlens_q[0] is -1, expected 0..5 (seq_q)");
  args = validArgs();
  seqlens_ = {7, 8};
  args.seqlens_kv = seqlens_.data();
  expectFails(args, "attn_launch_args.seqlens_kv[1] is 8, expected 0..7 (seq_kv)");
}

TEST_F(LaunchValidation, MisalignedSeqlens) {
  std::vector<int32_t> storage = {5, 5, 5};
  attn_launch_args args = validArgs();
  args.seqlens_kv =
      reinterpret_cast<const int32_t *>(reinterpret_cast<const char *>(storage.data()) + 2);
  expectFails(args, "attn_launch_args.seqlens_kv");
  EXPECT_NE(std::strstr(attn_last_error(), "is not aligned to 4 bytes (int32)"), nullptr);
}

// A paged KV cache (SPEC §2): the table's shape and every entry a launch reads are checked
// before anything runs; entries past a sequence's last page are not read, so not checked.
TEST_F(LaunchValidation, PagedKvCache) {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  p.page_size = 4;
  attn_kernel *paged = nullptr;
  ASSERT_EQ(attn_kernel_create(context_, &p, &paged), ATTN_STATUS_SUCCESS) << attn_last_error();
  Tensor pages{ATTN_DTYPE_F32, {5, 4, 2, 64}};
  pages.fillRandom(4);
  std::vector<int32_t> table = {0, 1, 4, 3}; // [B = 2, max_pages = 2]
  std::vector<int32_t> lens = {7, 3};
  auto pagedArgs = [&] {
    attn_launch_args args = validArgs();
    args.k = args.v = pages.view();
    args.seq_kv = 0;
    args.block_table = table.data();
    args.max_pages = 2;
    args.num_pages = 5;
    args.seqlens_kv = lens.data();
    return args;
  };
  attn_launch_args args = pagedArgs();
  EXPECT_EQ(attn_kernel_launch(paged, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  table[3] = 99; // sequence 1 has 3 keys: its second page is not read
  EXPECT_EQ(attn_kernel_launch(paged, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  o_.poison();
  table[2] = 5;
  expectFails(paged, &args,
              "attn_launch_args.block_table[1][0] is 5, expected a page index in 0..4 "
              "(num_pages - 1): sequence 1 has 3 keys, so its first 1 pages are read");
  table[2] = -1;
  expectFails(paged, &args, "attn_launch_args.block_table[1][0] is -1");
  table = {0, 1, 4, 3};
  args.seqlens_kv = nullptr; // every sequence full: 8 keys, both pages
  EXPECT_EQ(attn_kernel_launch(paged, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  o_.poison();

  args = pagedArgs();
  args.block_table = nullptr;
  expectFails(paged, &args,
              "attn_launch_args.block_table is NULL, but the kernel's problem reads "
              "a paged KV cache (attn_problem.page_size = 4)");
  args = pagedArgs();
  args.seq_kv = 7;
  expectFails(paged, &args,
              "attn_launch_args.seq_kv is 7, but a paged KV cache holds max_pages x "
              "page_size = 2 x 4 = 8 keys per sequence");
  args = pagedArgs();
  args.max_pages = 0;
  expectFails(paged, &args, "attn_launch_args.max_pages is 0, expected 1..");
  args = pagedArgs();
  args.num_pages = 0;
  expectFails(paged, &args, "attn_launch_args.num_pages is 0, expected 1..");
  args = pagedArgs();
  args.block_table_stride = 1;
  expectFails(paged, &args,
              "attn_launch_args.block_table_stride is 1, expected 0 or at least "
              "max_pages (2)");
  args = pagedArgs();
  lens = {9, 3};
  expectFails(paged, &args, "attn_launch_args.seqlens_kv[0] is 9, expected 0..8 (seq_kv)");
  lens = {7, 3};
  args = pagedArgs();
  args.k.strides[0] = -1;
  expectFails(paged, &args, "attn_launch_args.k.strides[0] is -1");
  // A contiguous kernel refuses a table; a caller built against the header without the paged
  // fields (struct_size 224) launches contiguous kernels as before.
  args = validArgs();
  args.block_table = table.data();
  expectFails(args, "attn_launch_args.block_table is set, but the kernel's problem has no paged "
                    "KV cache (attn_problem.page_size = 0); pass NULL");
  args.struct_size = offsetof(attn_launch_args, block_table);
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  (void)attn_kernel_destroy(paged);
}

// Packed batches (SPEC §2): the offsets are checked before anything runs; Q/O [Tq, Hq, D] and
// K/V [Tkv, Hkv, D] are the first rows of the suite's tensors (strides[0] unused).
TEST_F(LaunchValidation, PackedBatches) {
  std::vector<int32_t> cuQ = {0, 2, 5}, cuKv = {0, 7, 7}; // sequence 1 has no keys
  auto packedArgs = [&] {
    attn_launch_args args = validArgs();
    args.seq_q = kSeqQ;
    args.seq_kv = kSeqKv;
    args.cu_seqlens_q = cuQ.data();
    args.cu_seqlens_kv = cuKv.data();
    return args;
  };
  attn_launch_args args = packedArgs();
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  o_.poison();
  cuQ = {1, 2, 5};
  expectFails(args, "attn_launch_args.cu_seqlens_q[0] is 1, expected 0");
  cuQ = {0, 3, 2};
  expectFails(args, "attn_launch_args.cu_seqlens_q[2] is 2, less than cu_seqlens_q[1] = 3");
  cuQ = {0, 2, 6};
  expectFails(args, "attn_launch_args.cu_seqlens_q[2] is 6, past the 5 packed rows (seq_q)");
  cuQ = {0, 2, 5};
  cuKv = {0, 8, 8};
  expectFails(args, "attn_launch_args.cu_seqlens_kv[2] is 8, past the 7 packed rows (seq_kv)");
  cuKv = {0, 7, 7};
  args = packedArgs();
  args.seqlens_q = seqlens_.data();
  expectFails(args, "attn_launch_args.seqlens_q and cu_seqlens_q are both set");
  args = packedArgs();
  args.seqlens_kv = seqlens_.data();
  expectFails(args, "attn_launch_args.seqlens_kv and cu_seqlens_kv are both set");
  args = packedArgs();
  args.cu_seqlens_kv =
      reinterpret_cast<const int32_t *>(reinterpret_cast<const char *>(cuKv.data()) + 2);
  expectFails(args, "attn_launch_args.cu_seqlens_kv");
  EXPECT_NE(std::strstr(attn_last_error(), "is not aligned to 4 bytes (int32)"), nullptr);
  // Packed O must not overlap: the rows of a [Tq, Hq, Dv] view are checked, not the batch dim.
  args = packedArgs();
  args.o.strides[1] = 64;
  expectFails(args, "attn_launch_args.o has overlapping elements");
  args = packedArgs();
  args.o.strides[0] = 0; // unused for packed rows
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  o_.poison();
  // A paged cache takes seqlens_kv, not offsets; a caller built against the header without the
  // packed fields (struct_size 256) launches as before.
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  p.page_size = 8;
  attn_kernel *paged = nullptr;
  ASSERT_EQ(attn_kernel_create(context_, &p, &paged), ATTN_STATUS_SUCCESS) << attn_last_error();
  std::vector<int32_t> table = {0, 0};
  args = packedArgs();
  args.seq_kv = 0;
  args.block_table = table.data();
  args.max_pages = 1;
  args.num_pages = 1;
  expectFails(paged, &args,
              "attn_launch_args.cu_seqlens_kv is set, but the kernel's problem reads a paged KV "
              "cache, whose lengths are seqlens_kv");
  (void)attn_kernel_destroy(paged);
  args = packedArgs();
  args.struct_size = offsetof(attn_launch_args, cu_seqlens_q);
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
}

// A caller's workspace (attn_kernel_workspace_size): the suite's launch (5 query rows x 4 heads)
// is a split-KV decode, which takes one; a problem asking for entropy runs the prefill kernel,
// which takes none.
TEST_F(LaunchValidation, CallerWorkspace) {
  attn_launch_args args = validArgs();
  size_t bytes = 0;
  ASSERT_EQ(attn_kernel_workspace_size(kernel_, &args, &bytes), ATTN_STATUS_SUCCESS)
      << attn_last_error();
  // At least the f32 partials of one split per sequence: O [5, 4, 64] and LSE [4, 5].
  EXPECT_GE(bytes, size_t(kBatch) * (kSeqQ * 4 * 64 + 4 * kSeqQ) * sizeof(float));
  ASSERT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  const std::vector<uint32_t> expected = o_.storage();
  o_.poison();
  std::vector<uint8_t> storage(bytes + 64, 0xff); // NaN bits: the launch must write before it reads
  uint8_t *aligned = storage.data() + (64 - reinterpret_cast<uintptr_t>(storage.data()) % 64) % 64;
  args.workspace = aligned;
  args.workspace_bytes = bytes;
  ASSERT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  EXPECT_EQ(o_.storage(), expected);
  o_.poison();
  args.workspace_bytes = bytes - 1;
  expectFails(args, ("attn_launch_args.workspace_bytes is " + std::to_string(bytes - 1) +
                     ", but this launch needs " + std::to_string(bytes))
                        .c_str());
  args.workspace = aligned + 4;
  args.workspace_bytes = bytes;
  expectFails(args, "attn_launch_args.workspace");
  EXPECT_NE(std::strstr(attn_last_error(), "is not aligned to 64 bytes"), nullptr);
  args.workspace = nullptr;
  expectFails(args, "attn_launch_args.workspace_bytes is");
  EXPECT_NE(std::strstr(attn_last_error(), "but workspace is NULL"), nullptr);
  // The size query checks the arguments as a launch does.
  attn_launch_args bad = validArgs();
  bad.batch = 0;
  EXPECT_EQ(attn_kernel_workspace_size(kernel_, &bad, &bytes), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "attn_launch_args.batch is 0"), nullptr);
  EXPECT_EQ(attn_kernel_workspace_size(kernel_, &args, nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  attn_launch_args prefill = validArgs();
  prefill.lse = lse_.data();
  prefill.entropy = entropy_.data();
  ASSERT_EQ(attn_kernel_workspace_size(statsKernel_, &prefill, &bytes), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(bytes, 0u);
}

// attn_launch_args.scale: 0 (the kernel's) or a finite positive f32.
TEST_F(LaunchValidation, LaunchScale) {
  attn_launch_args args = validArgs();
  for (double bad : std::initializer_list<double>{-0.5, std::nan(""), INFINITY, 1e300, 1e-300}) {
    args.scale = bad; // 1e300 and 1e-300 are not f32s (inf, 0)
    expectFails(args, "attn_launch_args.scale is");
    EXPECT_NE(
        std::strstr(attn_last_error(), "expected 0 (the kernel's, 0.125) or a finite positive f32"),
        nullptr)
        << attn_last_error();
  }
  args.scale = 0.01;
  EXPECT_EQ(attn_kernel_launch(kernel_, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
}

// page_size is validated with the problem; an older attn_problem (120 bytes) has none.
TEST_F(LaunchValidation, PagedProblemValidation) {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  attn_kernel *kernel = nullptr;
  for (int64_t bad : {-4, 3, 12, 512}) {
    p.page_size = bad;
    EXPECT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
    EXPECT_NE(std::strstr(attn_last_error(), "attn_problem.page_size is"), nullptr)
        << attn_last_error();
  }
  attn_problem linear = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 2, 64, 64);
  linear.page_size = 16;
  EXPECT_EQ(attn_kernel_create(context_, &linear, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "linear attention does not read a paged KV cache"),
            nullptr)
      << attn_last_error();
  p.page_size = 16;
  p.target = ATTN_TARGET_CUDA; // CPU and Vulkan read paged caches; CUDA not yet
  EXPECT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_UNSUPPORTED);
  p.target = ATTN_TARGET_CPU;
  p.page_size = 999; // beyond an older caller's struct: not read
  p.struct_size = offsetof(attn_problem, page_size);
  ASSERT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_SUCCESS) << attn_last_error();
  attn_problem got;
  got.struct_size = sizeof(got);
  ASSERT_EQ(attn_kernel_get_problem(kernel, &got), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(got.page_size, 0);
  (void)attn_kernel_destroy(kernel);
}

// attn_problem.alibi / sinks: 0 or 1, softmax only, not on CUDA so far; an older attn_problem has
// neither. The launch's arrays are required iff asked for, aligned, finite (a sink may be -inf).
TEST_F(LaunchValidation, HeadValues) {
  attn_problem p = makeProblem(ATTN_VARIANT_SOFTMAX, ATTN_DTYPE_F32, 4, 2, 64, 64);
  attn_kernel *kernel = nullptr;
  p.sinks = 2;
  EXPECT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "attn_problem.sinks is 2, expected 0 or 1"), nullptr)
      << attn_last_error();
  p.sinks = 0;
  attn_problem linear = makeProblem(ATTN_VARIANT_LINEAR, ATTN_DTYPE_F32, 4, 2, 64, 64);
  linear.alibi = 1;
  EXPECT_EQ(attn_kernel_create(context_, &linear, &kernel), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "linear attention has no scores to bias"), nullptr)
      << attn_last_error();
  p.alibi = p.sinks = 1;
  p.target = ATTN_TARGET_CUDA;
  EXPECT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_UNSUPPORTED);
  EXPECT_NE(std::strstr(attn_last_error(),
                        "ALiBi and sink logits (attn_problem.alibi, sinks) "
                        "are supported on ATTN_TARGET_CPU and ATTN_TARGET_VULKAN"),
            nullptr)
      << attn_last_error();
  p.target = ATTN_TARGET_CPU;
  ASSERT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_SUCCESS) << attn_last_error();
  attn_problem got;
  got.struct_size = sizeof(got);
  ASSERT_EQ(attn_kernel_get_problem(kernel, &got), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(got.alibi, 1);
  EXPECT_EQ(got.sinks, 1);

  std::vector<float> slopes(4, 0.25f), sinks(4, 1.0f), unaligned(5);
  attn_launch_args args = validArgs();
  expectFails(kernel, &args,
              "attn_launch_args.alibi_slopes is NULL, but the kernel's problem "
              "asks for it (attn_problem.alibi = 1)");
  args.alibi_slopes = slopes.data();
  expectFails(kernel, &args, "attn_launch_args.sinks is NULL");
  args.sinks =
      reinterpret_cast<const float *>(reinterpret_cast<const char *>(unaligned.data()) + 2);
  expectFails(kernel, &args, "attn_launch_args.sinks");
  EXPECT_NE(std::strstr(attn_last_error(), "is not aligned to 4 bytes"), nullptr);
  args.sinks = sinks.data();
  slopes[2] = -INFINITY;
  expectFails(kernel, &args, "attn_launch_args.alibi_slopes[2] is -inf, expected a finite value");
  slopes[2] = 0.5f;
  sinks[3] = std::nanf("");
  expectFails(kernel, &args, "attn_launch_args.sinks[3] is nan, expected a finite value (or -inf");
  sinks[3] = -INFINITY; // no sink for that head
  EXPECT_EQ(attn_kernel_launch(kernel, &args), ATTN_STATUS_SUCCESS) << attn_last_error();
  // A kernel without them takes neither.
  attn_launch_args plain = validArgs();
  plain.sinks = sinks.data();
  expectFails(plain, "attn_launch_args.sinks is set, but the kernel's problem does not ask for it "
                     "(attn_problem.sinks = 0); pass NULL");
  (void)attn_kernel_destroy(kernel);

  p.struct_size = offsetof(attn_problem, alibi); // an older caller's: neither is read
  ASSERT_EQ(attn_kernel_create(context_, &p, &kernel), ATTN_STATUS_SUCCESS) << attn_last_error();
  ASSERT_EQ(attn_kernel_get_problem(kernel, &got), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(got.alibi, 0);
  EXPECT_EQ(got.sinks, 0);
  (void)attn_kernel_destroy(kernel);
}

} // namespace
