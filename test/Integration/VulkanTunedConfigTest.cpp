//===- VulkanTunedConfigTest.cpp - what attnc tune may pick on Vulkan, vs the oracle ===//
//
// The Vulkan conformance suite runs the heuristic configuration of each problem. attnc tune
// --target=vulkan may pick any configuration of vulkanSearchSpace: here a deterministic sample of
// that space, for the device the runtime opens (lavapipe in CI), reaches the kernels the way a
// tuned one does in production: written as the only row of a tuning database, looked up by the
// JIT (attn_context_options.tuning_db), and checked against the float64 oracle on fresh random
// inputs with poisoned outputs (ConformanceHarness), at a prefill and a split-KV decode shape.
// Without a device the test skips with the runtime's message, unless ATTN_REQUIRE_VULKAN=1.
//
//===----------------------------------------------------------------------===//

#include "ConformanceHarness.h"

#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/VulkanCompiler.h"
#include "attn/Tuning/Tuning.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <unistd.h>

using namespace mlir;
using namespace mlir::attn;
using namespace ::attn::conformance;

namespace {

/// The device a context with default options opens, as the plugin sees it.
std::optional<VulkanTargetInfo> defaultDevice(std::string &why) {
  attn_context *context = nullptr;
  if (attn_context_create(nullptr, &context) != ATTN_STATUS_SUCCESS) {
    why = attn_last_error();
    return std::nullopt;
  }
  attn_device_info info{};
  info.struct_size = sizeof(info);
  attn_status status = attn_context_get_device(context, ATTN_TARGET_VULKAN, &info);
  if (status != ATTN_STATUS_SUCCESS)
    why = attn_last_error();
  (void)attn_context_destroy(context);
  if (status != ATTN_STATUS_SUCCESS)
    return std::nullopt;
  return vulkanTargetFrom(info);
}

struct Sample {
  std::string name;
  attn_problem problem;
  Phase phase;
  TuningShape shape;
};

std::vector<Sample> samples() {
  attn_problem masked = softmaxProblem(ATTN_DTYPE_F32, 4, 2, 32, 64);
  masked.causal = 1;
  masked.window_left = 40;
  masked.global_tokens = 3;
  masked.softcap = 20.0;
  masked.return_lse = 1;
  attn_problem half = softmaxProblem(ATTN_DTYPE_F16, 4, 1, 64, 64);
  attn_problem linear = linearProblem(ATTN_DTYPE_F32, 4, 2, 32, 32);
  linear.causal = 1;
  return {{"masked-gqa-f32", masked, Phase::Prefill, {1, 72, 90}},
          {"masked-gqa-f32", masked, Phase::Decode, {2, 1, 700}},
          {"dense-mqa-f16", half, Phase::Prefill, {1, 40, 40}},
          {"linear-f32", linear, Phase::Prefill, {2, 33, 33}}};
}

TEST(VulkanTunedConfig, SampleOfTheSearchSpaceMatchesOracle) {
  std::string why;
  std::optional<VulkanTargetInfo> device = defaultDevice(why);
  if (!device) {
    const char *require = std::getenv("ATTN_REQUIRE_VULKAN");
    if (require && std::strcmp(require, "1") == 0)
      FAIL() << "ATTN_REQUIRE_VULKAN=1, but: " << why;
    GTEST_SKIP() << why;
  }
  llvm::SmallString<128> dir;
  ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("attn-vk-tuned", dir));
  MLIRContext ctx(cpuCompilerRegistry());
  int checked = 0;
  for (Sample &s : samples()) {
    attn_problem p = s.problem;
    p.target = ATTN_TARGET_VULKAN;
    auto module = buildProblemModule(ctx, p, why);
    ASSERT_TRUE(succeeded(module)) << why;
    Operation *op = nullptr;
    (*module)->walk([&](Operation *found) {
      if (isa<AttentionOp, LinearAttentionOp>(found))
        op = found;
    });
    ASSERT_NE(op, nullptr);
    std::vector<VulkanConfigAttr> space = vulkanSearchSpace(op, *device, s.phase);
    ASSERT_GE(space.size(), 3u) << s.name << " " << phaseName(s.phase);
    FailureOr<attn_kernel_manifest> manifest = problemManifestOf(op);
    ASSERT_TRUE(succeeded(manifest));
    // Every fourth configuration after the heuristic (which the conformance suite runs), and
    // the last: the largest teams and tiles.
    std::vector<VulkanConfigAttr> picked;
    for (size_t i = 1; i < space.size(); i += 4)
      picked.push_back(space[i]);
    if (picked.back() != space.back())
      picked.push_back(space.back());
    for (VulkanConfigAttr config : picked) {
      std::string text = vulkanConfigText(config);
      SCOPED_TRACE(s.name + " " + phaseName(s.phase) + " " + text);
      std::string path = (dir + "/" + std::to_string(checked) + ".db").str();
      std::unique_ptr<TuningDB> db = TuningDB::open(path, /*create=*/true, why);
      ASSERT_TRUE(db) << why;
      TuningRow row;
      row.device = vulkanDeviceFingerprint(*device);
      row.version = tuningVersion();
      row.target = "vulkan";
      row.problem = problemClass(*manifest);
      row.shape = shapeClass(*manifest, s.shape, vulkanDecodeRows(op, *device));
      row.phase = phaseName(s.phase);
      row.config = text;
      row.medianUs = 1;
      row.reps = 3;
      row.measuredAt = utcNow();
      ASSERT_TRUE(db->put({row}, /*keepBest=*/false, why)) << why;
      db.reset();

      attn_context_options options;
      ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
      options.disk_cache = 0;
      options.tuning_db = path.c_str();
      attn_context *context = nullptr;
      ASSERT_EQ(attn_context_create(&options, &context), ATTN_STATUS_SUCCESS) << attn_last_error();
      // The JIT took this configuration: tuned, with its tiles.
      attn_kernel *kernel = nullptr;
      ASSERT_EQ(attn_kernel_create(context, &p, &kernel), ATTN_STATUS_SUCCESS) << attn_last_error();
      attn_kernel_config got{};
      got.struct_size = sizeof(got);
      ASSERT_EQ(attn_kernel_get_config(kernel, &got), ATTN_STATUS_SUCCESS);
      EXPECT_EQ(got.source, ATTN_CONFIG_TUNED) << got.text;
      if (isa<AttentionOp>(op))
        EXPECT_EQ(got.block_k, config.getBlockK()) << got.text;
      if (s.phase == Phase::Decode)
        EXPECT_EQ(got.split_keys, config.getSplitKeys()) << got.text;
      (void)attn_kernel_destroy(kernel);
      Case c;
      c.name = s.name;
      c.problem = p;
      c.batch = s.shape.batch;
      c.seqQ = s.shape.seqQ;
      c.seqKv = s.shape.seqKv;
      Outcome outcome = run(context, c, 7 + checked);
      EXPECT_TRUE(outcome.ok) << outcome.message;
      (void)attn_context_destroy(context);
      ++checked;
    }
  }
  EXPECT_GE(checked, 8);
  llvm::sys::fs::remove_directories(dir);
}

} // namespace
