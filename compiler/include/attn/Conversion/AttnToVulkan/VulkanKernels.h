//===- VulkanKernels.h - the Vulkan kernel generators ----------*- C++ -*-===//
//
// The Vulkan lowering emits kernels in the gpu dialect (gpu.func on 1-D storage buffers, the ABI
// of attn_jit_plugin.h) from the shared attention logic (Conversion/Common); the standard
// gpu-to-SPIR-V conversion then makes a spirv.module of them.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H
#define ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"

namespace mlir::attn {

/// Entry point names (the same as the CPU backend's).
constexpr llvm::StringLiteral kVulkanMainName = "attn_main";
constexpr llvm::StringLiteral kVulkanDecodeName = "attn_decode";
constexpr llvm::StringLiteral kVulkanMergeName = "attn_merge";
constexpr llvm::StringLiteral kVulkanLinearName = "attn_linear";
/// The gpu.module holding them.
constexpr llvm::StringLiteral kVulkanModuleName = "attn_kernels";

/// How a softmax workgroup is laid out from its configuration and the problem's GQA group:
/// `heads` heads of the group (one chunk of it), `rows` query rows of each; `chunks` workgroups
/// along y cover a group. (The cooperative-matrix prefill has the same heads and chunks, and
/// 16 rows: a team per head.)
struct VulkanWorkgroupShape {
  int64_t heads, rows, chunks;
  static VulkanWorkgroupShape get(VulkanConfigAttr config, int64_t group);
};

/// The configuration attribute of `op` (nullopt when it has none).
std::optional<VulkanConfigAttr> getVulkanConfig(Operation *op);

/// A configuration for `op` on `target` (heuristics), or why there is none (a dtype the device
/// cannot store, a head dim whose tiles do not fit its shared memory).
FailureOr<VulkanConfigAttr> chooseVulkanConfig(Operation *op, const VulkanTargetInfo &target,
                                               std::string &why);
/// Whether `op` can use the cooperative-matrix prefill on `target` (f16 softmax, head dims
/// multiples of 16, the device exposes the extension unless `deviceChecked`).
bool coopmatFits(Operation *op, const VulkanTargetInfo &target, bool deviceChecked = false);
/// The cooperative-matrix prefill (attn_main when the configuration has coopmat = 1).
void buildVulkanCoopSoftmaxKernel(OpBuilder &builder, AttentionOp op, VulkanConfigAttr config);
/// Why `config` cannot run `op` on `target` ("" when it can).
std::string vulkanConfigDefect(Operation *op, VulkanConfigAttr config,
                               const VulkanTargetInfo &target);

/// Kernels of an attention op: attn_main, and when `decode` attn_decode (split-KV partials).
void buildVulkanSoftmaxKernel(OpBuilder &builder, AttentionOp op, VulkanConfigAttr config,
                              bool decode);
/// The merge of attn_decode's partials into `op`'s output type (and LSE).
void buildVulkanMergeKernel(OpBuilder &builder, AttentionOp op, VulkanConfigAttr config);
/// The kernel of a linear attention op: attn_linear (a chunked scan per head and value columns).
void buildVulkanLinearKernel(OpBuilder &builder, LinearAttentionOp op, VulkanConfigAttr config);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOVULKAN_VULKANKERNELS_H
