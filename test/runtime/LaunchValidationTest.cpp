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

} // namespace
