//===- PluginLoadTest.cpp - what a kernel create says without a plugin ----===//
//
// The plugin is loaded once per process, so these run in their own ctest
// entries with ATTN_JIT_PLUGIN set (test/runtime/CMakeLists.txt) and skip
// otherwise. The runtime itself always loads; only compiling fails.
//
//===----------------------------------------------------------------------===//

#include "RuntimeTestUtil.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using namespace attn::rttest;

bool pluginEnvEndsWith(const char *suffix) {
  const char *path = std::getenv("ATTN_JIT_PLUGIN");
  if (!path)
    return false;
  std::string value = path, tail = suffix;
  return value.size() >= tail.size() &&
         value.compare(value.size() - tail.size(), tail.size(), tail) == 0;
}

attn_status createDefaultKernel(attn_kernel **out) {
  ContextPtr context = makeContext(1);
  attn_problem problem;
  EXPECT_EQ(attn_problem_init(&problem), ATTN_STATUS_SUCCESS);
  return attn_kernel_create(context.get(), &problem, out);
}

TEST(PluginLoad, MissingPluginIsUnsupported) {
  if (!pluginEnvEndsWith("no-such-dir/libattn_jit.so"))
    GTEST_SKIP() << "runs as ctest 'runtime-no-plugin'";
  for (int attempt = 0; attempt < 2; ++attempt) { // the failure is remembered, not retried
    attn_kernel *kernel = nullptr;
    EXPECT_EQ(createDefaultKernel(&kernel), ATTN_STATUS_UNSUPPORTED);
    EXPECT_EQ(kernel, nullptr);
    EXPECT_NE(std::strstr(attn_last_error(), "no compiler plugin was found"), nullptr)
        << attn_last_error();
    EXPECT_NE(std::strstr(attn_last_error(), "no-such-dir/libattn_jit.so"), nullptr)
        << "the message must say where it looked: " << attn_last_error();
  }
}

TEST(PluginLoad, NotAPluginIsACompileError) {
  if (!pluginEnvEndsWith("libattn_runtime.so"))
    GTEST_SKIP() << "runs as ctest 'runtime-bad-plugin'";
  attn_kernel *kernel = nullptr;
  EXPECT_EQ(createDefaultKernel(&kernel), ATTN_STATUS_COMPILE_ERROR);
  EXPECT_EQ(kernel, nullptr);
  EXPECT_NE(std::strstr(attn_last_error(),
                        "is not an attnc compiler plugin: it does not export attn_jit_abi_version"),
            nullptr)
      << attn_last_error();
}

} // namespace
