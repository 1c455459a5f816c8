//===- AbiTest.cpp - ABI layout, versions, status strings, init helpers ---===//
//
// The struct layouts below are the C ABI (x86-64/AArch64 LP64): a change here
// breaks every compiled engine, so it must be deliberate (append fields, bump
// the version) and show up as a failing static_assert.
//
//===----------------------------------------------------------------------===//

#include "attn/attn_jit_plugin.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <thread>

#if UINTPTR_MAX == 0xFFFFFFFFFFFFFFFFu
static_assert(sizeof(attn_problem) == 136, "attn_problem layout changed");
static_assert(offsetof(attn_problem, struct_size) == 0, "");
static_assert(offsetof(attn_problem, target) == 8, "");
static_assert(offsetof(attn_problem, variant) == 12, "");
static_assert(offsetof(attn_problem, dtype) == 16, "");
static_assert(offsetof(attn_problem, heads_q) == 24, "");
static_assert(offsetof(attn_problem, heads_kv) == 32, "");
static_assert(offsetof(attn_problem, head_dim) == 40, "");
static_assert(offsetof(attn_problem, head_dim_v) == 48, "");
static_assert(offsetof(attn_problem, scale) == 56, "");
static_assert(offsetof(attn_problem, causal) == 64, "");
static_assert(offsetof(attn_problem, window_left) == 72, "");
static_assert(offsetof(attn_problem, window_right) == 80, "");
static_assert(offsetof(attn_problem, global_tokens) == 88, "");
static_assert(offsetof(attn_problem, softcap) == 96, "");
static_assert(offsetof(attn_problem, return_lse) == 104, "");
static_assert(offsetof(attn_problem, return_entropy) == 108, "");
static_assert(offsetof(attn_problem, feature_map) == 112, "");
static_assert(offsetof(attn_problem, normalize) == 116, "");
static_assert(offsetof(attn_problem, page_size) == 120, ""); // grown: older callers pass 120
static_assert(offsetof(attn_problem, alibi) == 128, "");     // grown: older callers pass 128
static_assert(offsetof(attn_problem, sinks) == 132, "");

static_assert(sizeof(attn_tensor) == 40, "attn_tensor layout changed");
static_assert(offsetof(attn_tensor, strides) == 8, "");

static_assert(sizeof(attn_launch_args) == 312, "attn_launch_args layout changed");
static_assert(offsetof(attn_launch_args, batch) == 8, "");
static_assert(offsetof(attn_launch_args, seq_q) == 16, "");
static_assert(offsetof(attn_launch_args, seq_kv) == 24, "");
static_assert(offsetof(attn_launch_args, q) == 32, "");
static_assert(offsetof(attn_launch_args, k) == 72, "");
static_assert(offsetof(attn_launch_args, v) == 112, "");
static_assert(offsetof(attn_launch_args, o) == 152, "");
static_assert(offsetof(attn_launch_args, lse) == 192, "");
static_assert(offsetof(attn_launch_args, entropy) == 200, "");
static_assert(offsetof(attn_launch_args, seqlens_q) == 208, "");
static_assert(offsetof(attn_launch_args, seqlens_kv) == 216, "");
// Grown (paged KV caches): older callers pass 224.
static_assert(offsetof(attn_launch_args, block_table) == 224, "");
static_assert(offsetof(attn_launch_args, block_table_stride) == 232, "");
static_assert(offsetof(attn_launch_args, max_pages) == 240, "");
static_assert(offsetof(attn_launch_args, num_pages) == 248, "");
// Grown (packed batches): older callers pass 256.
static_assert(offsetof(attn_launch_args, cu_seqlens_q) == 256, "");
static_assert(offsetof(attn_launch_args, cu_seqlens_kv) == 264, "");
// Grown (caller workspace): older callers pass 272.
static_assert(offsetof(attn_launch_args, workspace) == 272, "");
static_assert(offsetof(attn_launch_args, workspace_bytes) == 280, "");
// Grown (per-launch scale): older callers pass 288.
static_assert(offsetof(attn_launch_args, scale) == 288, "");
// Grown (ALiBi slopes, sink logits): older callers pass 296.
static_assert(offsetof(attn_launch_args, alibi_slopes) == 296, "");
static_assert(offsetof(attn_launch_args, sinks) == 304, "");

// Grown (metrics): older callers pass 80.
static_assert(sizeof(attn_context_options) == 88, "attn_context_options layout changed");
static_assert(offsetof(attn_context_options, metrics) == 80, "");
static_assert(offsetof(attn_context_options, vulkan_device) == 64, "");
static_assert(offsetof(attn_context_options, tuning_db) == 72, "");
static_assert(sizeof(attn_vulkan_device) == 56, "attn_vulkan_device layout changed");
static_assert(offsetof(attn_vulkan_device, queue_family_index) == 40, "");
static_assert(offsetof(attn_vulkan_device, get_instance_proc_addr) == 48, "");
static_assert(sizeof(attn_vulkan_tensor) == 48, "attn_vulkan_tensor layout changed");
static_assert(sizeof(attn_vulkan_launch_args) == 368, "attn_vulkan_launch_args layout changed");
static_assert(offsetof(attn_vulkan_launch_args, scale) == 360, "");
static_assert(offsetof(attn_vulkan_launch_args, block_table) == 320, ""); // grown: older pass 320
static_assert(offsetof(attn_vulkan_launch_args, num_pages) == 352, "");
static_assert(offsetof(attn_vulkan_launch_args, alibi_slopes) == 288, ""); // grown: older pass 288
static_assert(offsetof(attn_vulkan_launch_args, sinks) == 304, "");
static_assert(offsetof(attn_vulkan_launch_args, q) == 32, "");
static_assert(offsetof(attn_vulkan_launch_args, lse) == 224, "");
static_assert(offsetof(attn_vulkan_launch_args, seqlens_kv) == 272, "");
static_assert(offsetof(attn_context_options, num_threads) == 8, "");
static_assert(offsetof(attn_context_options, parallel_for) == 16, "");
static_assert(offsetof(attn_context_options, parallel_for_user) == 24, "");
static_assert(offsetof(attn_context_options, cache_dir) == 32, "");
static_assert(offsetof(attn_context_options, disk_cache) == 40, "");
static_assert(offsetof(attn_context_options, cache_max_bytes) == 48, "");
static_assert(offsetof(attn_context_options, cpu_target) == 56, "");

static_assert(sizeof(attn_context_stats) == 48, "attn_context_stats layout changed");
static_assert(offsetof(attn_context_stats, kernels_compiled) == 8, "");
static_assert(offsetof(attn_context_stats, disk_cache_rejected) == 32, "");
static_assert(offsetof(attn_context_stats, num_threads) == 40, ""); // grown: older callers pass 40

// MLIR's C interface for memrefs: {allocated, aligned, offset, sizes[N], strides[N]}.
static_assert(sizeof(attn_memref1) == 40, "");
static_assert(sizeof(attn_memref2) == 56, "");
static_assert(sizeof(attn_memref3) == 72, "");
static_assert(sizeof(attn_memref4) == 88, "");
static_assert(offsetof(attn_memref4, aligned) == 8, "");
static_assert(offsetof(attn_memref4, offset) == 16, "");
static_assert(offsetof(attn_memref4, sizes) == 24, "");
static_assert(offsetof(attn_memref4, strides) == 56, "");
static_assert(offsetof(attn_memref3, strides) == 48, "");
static_assert(offsetof(attn_memref1, strides) == 32, "");

static_assert(sizeof(attn_jit_request) == 72, "attn_jit_request layout changed");
static_assert(offsetof(attn_jit_request, tuning_db) == 56, "");
static_assert(offsetof(attn_jit_request, num_threads) == 64, "");
static_assert(offsetof(attn_jit_request, cuda_device) == 48, "");
static_assert(offsetof(attn_jit_request, vulkan_device) == 40, "");
static_assert(offsetof(attn_jit_request, cache_max_bytes) == 24, "");
static_assert(offsetof(attn_jit_request, cpu_target) == 32, "");
// ABI 2: softmax_decode replaced softmax_partial, decode_max_rows was added.
// ABI 3: a softmax_decode item is (split, batch) over every query head and
// decode_max_rows bounds Sq * Hq (was (split, batch, kv head) and Sq * G); the
// layout below is unchanged from ABI 2.
// ABI 4: attn_jit_kernel.manifest (the code's own account, checked by the runtime) and
// attn_jit_request.cache_max_bytes (the disk cache's size bound) and cpu_target,
// attn_jit_kernel.split_keys (the decode's keys per split, from #attn.cpu_config).
// ABI 5: kernel images (image_kind, image, gpu_entries, the workgroup layout) for device
// targets, attn_jit_request.vulkan_device; the manifest's reserved field became its target.
// ABI 6: attn_jit_request.cuda_device, attn_jit_kernel.gpu_layout (CUDA's packed-row kernels).
// ABI 7: attn_jit_request.tuning_db and num_threads (the JIT consults a tuning database); the
// manifest's reserved field became its config_source. attn_jit_kernel is unchanged.
// ABI 8: softmax_main and softmax_decode take a block_table (attn_memref2) before params (paged
// KV caches); the manifest grew page_size. attn_jit_kernel is unchanged.
// ABI 9: params grew the launch's scale (ATTN_PARAM_SCALE). ABI 10: attn_jit_kernel.merge_parts.
// ABI 11: softmax_main and softmax_decode take alibi_slopes and sinks (attn_memref1) after the
// block_table, and the GPU entry points two buffers (ATTN_GPU_PARAM_ALIBI / SINKS their offsets)
// after the lengths; the manifest grew alibi and sinks. attn_jit_kernel is unchanged.
// ABI 12: the GPU attn_main / attn_decode take a block_table buffer after sinks
// (ATTN_GPU_PARAM_BLOCK_TABLE, _STRIDE, NUM_PAGES). attn_jit_kernel is unchanged.
static_assert(ATTN_JIT_ABI_VERSION == 12, "attn_jit_kernel's layout below is ABI 12's");
static_assert(sizeof(attn_kernel_config) == 176, "attn_kernel_config layout changed");
static_assert(offsetof(attn_kernel_config, source) == 8, "");
static_assert(offsetof(attn_kernel_config, block_q) == 16, "");
static_assert(offsetof(attn_kernel_config, cpu_features) == 48, "");
static_assert(offsetof(attn_kernel_config, text) == 52, "");
static_assert(sizeof(attn_device_info) == 320, "attn_device_info layout changed");
static_assert(offsetof(attn_device_info, name) == 12, "");
static_assert(offsetof(attn_device_info, vendor_id) == 268, "");
static_assert(offsetof(attn_device_info, subgroup_size) == 280, "");
static_assert(offsetof(attn_device_info, multiprocessors) == 312, "");
static_assert(sizeof(attn_jit_kernel) == 288, "attn_jit_kernel layout changed");
static_assert(offsetof(attn_jit_kernel, merge_parts) == 280, "");
static_assert(offsetof(attn_jit_kernel, gpu_layout) == 272, "");
static_assert(offsetof(attn_jit_kernel, image_kind) == 104, "");
static_assert(offsetof(attn_jit_kernel, gpu_entries) == 128, "");
static_assert(offsetof(attn_jit_kernel, handle) == 8, "");
static_assert(offsetof(attn_jit_kernel, softmax_main) == 16, "");
static_assert(offsetof(attn_jit_kernel, softmax_decode) == 24, "");
static_assert(offsetof(attn_jit_kernel, merge) == 32, "");
static_assert(offsetof(attn_jit_kernel, linear) == 40, "");
static_assert(offsetof(attn_jit_kernel, block_q) == 48, "");
static_assert(offsetof(attn_jit_kernel, block_k) == 56, "");
static_assert(offsetof(attn_jit_kernel, decode_max_rows) == 64, "");
static_assert(offsetof(attn_jit_kernel, from_disk_cache) == 72, "");
static_assert(offsetof(attn_jit_kernel, disk_cache_rejected) == 76, "");
static_assert(offsetof(attn_jit_kernel, compile_seconds) == 80, "");
static_assert(offsetof(attn_jit_kernel, manifest) == 88, "");
static_assert(offsetof(attn_jit_kernel, split_keys) == 96, "");
static_assert(sizeof(attn_kernel_manifest) == 192, "attn_kernel_manifest layout changed");
static_assert(offsetof(attn_kernel_manifest, page_size) == 176, "");
static_assert(offsetof(attn_kernel_manifest, alibi) == 184, "");
static_assert(offsetof(attn_kernel_manifest, sinks) == 188, "");
static_assert(offsetof(attn_kernel_manifest, variant) == 32, "");
static_assert(offsetof(attn_kernel_manifest, heads_q) == 64, "");
static_assert(offsetof(attn_kernel_manifest, scale) == 120, "");
static_assert(offsetof(attn_kernel_manifest, block_q) == 136, "");
#endif

// C enums are int-sized and their values are part of the ABI.
static_assert(sizeof(attn_status) == 4 && sizeof(attn_dtype) == 4 && sizeof(attn_target) == 4, "");
static_assert(ATTN_STATUS_INTERNAL_ERROR == 7 && ATTN_DTYPE_BF16 == 2 && ATTN_VARIANT_LINEAR == 1 &&
                  ATTN_FEATURE_MAP_IDENTITY == 2 && ATTN_TARGET_VULKAN == 2 &&
                  ATTN_PARAM_COUNT == 6 && ATTN_PARAM_SCALE == 5 && ATTN_GPU_PARAM_SCALE == 27 &&
                  ATTN_GPU_PARAM_ALIBI == 28 && ATTN_GPU_PARAM_SINKS == 29 &&
                  ATTN_GPU_PARAM_BLOCK_TABLE == 30 && ATTN_GPU_PARAM_NUM_PAGES == 32 &&
                  ATTN_GPU_PARAM_COUNT == 33 && ATTN_VK_MAIN_BINDINGS == 12 &&
                  ATTN_VK_DECODE_BINDINGS == 11,
              "");

namespace {

TEST(Abi, VersionMatchesHeader) {
  int32_t major = -1, minor = -1, patch = -1;
  ASSERT_EQ(attn_get_version(&major, &minor, &patch), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(major, ATTN_VERSION_MAJOR);
  EXPECT_EQ(minor, ATTN_VERSION_MINOR);
  EXPECT_EQ(patch, ATTN_VERSION_PATCH);
  EXPECT_EQ(std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch),
            ATTN_VERSION_STRING);
}

TEST(Abi, VersionRejectsNull) {
  int32_t value = 0;
  EXPECT_EQ(attn_get_version(nullptr, &value, &value), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "out_major is NULL"), nullptr) << attn_last_error();
  EXPECT_EQ(attn_get_version(&value, nullptr, &value), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_get_version(&value, &value, nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "out_patch is NULL"), nullptr) << attn_last_error();
}

TEST(Abi, StatusStrings) {
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_SUCCESS), "ATTN_STATUS_SUCCESS");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_INVALID_ARGUMENT), "ATTN_STATUS_INVALID_ARGUMENT");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_UNSUPPORTED), "ATTN_STATUS_UNSUPPORTED");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_COMPILE_ERROR), "ATTN_STATUS_COMPILE_ERROR");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_OUT_OF_MEMORY), "ATTN_STATUS_OUT_OF_MEMORY");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_IO_ERROR), "ATTN_STATUS_IO_ERROR");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_CORRUPT_DATA), "ATTN_STATUS_CORRUPT_DATA");
  EXPECT_STREQ(attn_status_string(ATTN_STATUS_INTERNAL_ERROR), "ATTN_STATUS_INTERNAL_ERROR");
  EXPECT_STREQ(attn_status_string(static_cast<attn_status>(42)), "ATTN_STATUS_UNKNOWN");
}

TEST(Abi, LastErrorIsPerThread) {
  EXPECT_EQ(attn_problem_init(nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  std::string otherThreadMessage = "unset";
  std::thread([&] { otherThreadMessage = attn_last_error(); }).join();
  EXPECT_EQ(otherThreadMessage, "");
  EXPECT_NE(std::strstr(attn_last_error(), "problem is NULL"), nullptr) << attn_last_error();
}

TEST(Abi, ProblemInitDefaults) {
  attn_problem problem;
  std::memset(&problem, 0xAB, sizeof(problem));
  ASSERT_EQ(attn_problem_init(&problem), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(problem.struct_size, sizeof(attn_problem));
  EXPECT_EQ(problem.target, ATTN_TARGET_CPU);
  EXPECT_EQ(problem.variant, ATTN_VARIANT_SOFTMAX);
  EXPECT_EQ(problem.dtype, ATTN_DTYPE_F32);
  EXPECT_EQ(problem.heads_q, 1);
  EXPECT_EQ(problem.heads_kv, 1);
  EXPECT_EQ(problem.head_dim, 64);
  EXPECT_EQ(problem.head_dim_v, 64);
  EXPECT_EQ(problem.scale, 0.0);
  EXPECT_EQ(problem.causal, 0);
  EXPECT_EQ(problem.window_left, -1);
  EXPECT_EQ(problem.window_right, -1);
  EXPECT_EQ(problem.global_tokens, 0);
  EXPECT_EQ(problem.softcap, 0.0);
  EXPECT_EQ(problem.return_lse, 0);
  EXPECT_EQ(problem.return_entropy, 0);
  EXPECT_EQ(problem.feature_map, ATTN_FEATURE_MAP_ELU_PLUS_ONE);
  EXPECT_EQ(problem.normalize, 1);
}

TEST(Abi, LaunchArgsInitZeroesEverything) {
  attn_launch_args args;
  std::memset(&args, 0xAB, sizeof(args));
  ASSERT_EQ(attn_launch_args_init(&args), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(args.struct_size, sizeof(attn_launch_args));
  EXPECT_EQ(args.batch, 0);
  EXPECT_EQ(args.q.data, nullptr);
  EXPECT_EQ(args.o.strides[3], 0);
  EXPECT_EQ(args.lse, nullptr);
  EXPECT_EQ(args.seqlens_kv, nullptr);
  EXPECT_EQ(args.cu_seqlens_q, nullptr);
  EXPECT_EQ(args.cu_seqlens_kv, nullptr);
}

TEST(Abi, ContextOptionsInitDefaults) {
  attn_context_options options;
  std::memset(&options, 0xAB, sizeof(options));
  ASSERT_EQ(attn_context_options_init(&options), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(options.struct_size, sizeof(attn_context_options));
  EXPECT_EQ(options.num_threads, 0);
  EXPECT_EQ(options.parallel_for, nullptr);
  EXPECT_EQ(options.parallel_for_user, nullptr);
  EXPECT_EQ(options.cache_dir, nullptr);
  EXPECT_EQ(options.disk_cache, 1);
}

TEST(Abi, InitHelpersRejectNull) {
  EXPECT_EQ(attn_problem_init(nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_EQ(attn_launch_args_init(nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "args is NULL"), nullptr) << attn_last_error();
  EXPECT_EQ(attn_context_options_init(nullptr), ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "options is NULL"), nullptr) << attn_last_error();
}

// The init helpers pass the caller's sizeof: a library writes no more than the caller's struct
// holds, and refuses a size smaller than the struct's first version.
TEST(Abi, InitWritesOnlyTheCallersSize) {
  struct Larger {
    attn_problem problem;
    unsigned char future[32];
  } larger;
  std::memset(&larger, 0xAB, sizeof(larger));
  ASSERT_EQ(attn_problem_init_sized(&larger.problem, sizeof(larger)), ATTN_STATUS_SUCCESS);
  EXPECT_EQ(larger.problem.struct_size, sizeof(attn_problem));
  EXPECT_EQ(larger.problem.head_dim, 64);
  for (unsigned char byte : larger.future)
    EXPECT_EQ(byte, 0xAB) << "wrote past this library's attn_problem";

  attn_problem small;
  std::memset(&small, 0xCD, sizeof(small));
  EXPECT_EQ(attn_problem_init_sized(&small, offsetof(attn_problem, normalize)),
            ATTN_STATUS_INVALID_ARGUMENT);
  EXPECT_NE(std::strstr(attn_last_error(), "smaller than any version of problem"), nullptr)
      << attn_last_error();
  EXPECT_EQ(reinterpret_cast<unsigned char *>(&small)[0], 0xCD) << "wrote on failure";
}

} // namespace
