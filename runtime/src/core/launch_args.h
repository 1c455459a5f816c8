//===- launch_args.h - validation of attn_launch_args ---------------------===//
//
// Everything about a launch is checked before any work starts, the sequence
// lengths included, so that a failing launch leaves every output untouched
// (SPEC section 6).
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_LAUNCH_ARGS_H
#define ATTN_RUNTIME_CORE_LAUNCH_ARGS_H

#include "attn/attn_runtime.h"

#include <cstddef>
#include <cstdint>

namespace attn::rt {

constexpr size_t kLaunchArgsSizeV1 =
    offsetof(attn_launch_args, seqlens_kv) + sizeof(attn_launch_args::seqlens_kv);
/// attn_vulkan_launch_args before it grew alibi_slopes and sinks (then the block table).
constexpr size_t kVulkanLaunchArgsSizeV1 = offsetof(attn_vulkan_launch_args, alibi_slopes);

/// The scale a validated launch runs with: attn_launch_args.scale, else the problem's; as the bits
/// of an f32 (ATTN_PARAM_SCALE, ATTN_GPU_PARAM_SCALE).
uint32_t launchScaleBits(const attn_problem &problem, const attn_launch_args &args);

/// Validates *args of attn_kernel_merge against the kernel's problem (its dtype, heads, Dv) and
/// returns a copy with lse_part_stride resolved.
attn_merge_args validateMergeArgs(const attn_problem &problem, const attn_merge_args *args);

/// Validates *args against the kernel's normalized problem (throws Error naming
/// the first bad field) and returns a copy of the first version's fields. Without `hostTable`
/// the block table of a paged cache is device memory: its shape is checked, its entries are not
/// read (the GPU kernels clamp them to the pages that exist).
attn_launch_args validateLaunchArgs(const attn_problem &problem, const attn_launch_args *args,
                                    bool hostTable = true);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_LAUNCH_ARGS_H
