//===- ConvertAttnToVulkanKernels.cpp - convert-attn-to-vulkan-kernels ----===//

#include "VulkanEmitter.h"
#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/Dialect/SPIRV/IR/SPIRVAttributes.h"
#include "mlir/Dialect/SPIRV/IR/TargetAndABI.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONVERTATTNTOVULKANKERNELS
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
/// Vulkan 1.3's SPIR-V 1.6 with what the kernels use: subgroup arithmetic and shuffles, and
/// 16-bit storage for f16 (Float16) and bf16 (stored as Int16).
spirv::TargetEnvAttr targetEnv(MLIRContext *ctx, Type element, int64_t subgroupSize, bool coopmat) {
  using spirv::Capability;
  using spirv::Extension;
  SmallVector<Capability> caps = {Capability::Shader, Capability::GroupNonUniform,
                                  Capability::GroupNonUniformArithmetic,
                                  Capability::GroupNonUniformShuffle};
  SmallVector<Extension> exts = {Extension::SPV_KHR_storage_buffer_storage_class};
  if (!element.isF32()) {
    caps.push_back(Capability::StorageBuffer16BitAccess);
    caps.push_back(element.isF16() ? Capability::Float16 : Capability::Int16);
    exts.push_back(Extension::SPV_KHR_16bit_storage);
  }
  if (coopmat) { // SPIR-V 1.6 with VK_KHR_cooperative_matrix (../shared/GPU.md)
    caps.push_back(Capability::CooperativeMatrixKHR);
    caps.push_back(Capability::VulkanMemoryModel);
    exts.push_back(Extension::SPV_KHR_cooperative_matrix);
    exts.push_back(Extension::SPV_KHR_vulkan_memory_model);
  }
  auto vce = spirv::VerCapExtAttr::get(coopmat ? spirv::Version::V_1_6 : spirv::Version::V_1_3,
                                       caps, exts, ctx);
  auto limits = spirv::ResourceLimitsAttr::get(
      ctx, /*max_compute_shared_memory_size=*/16384,
      /*max_compute_workgroup_invocations=*/kMaxVulkanWorkgroupSize,
      /*max_compute_workgroup_size=*/
      Builder(ctx).getI32ArrayAttr({int32_t(kMaxVulkanWorkgroupSize), 1, 1}),
      /*subgroup_size=*/subgroupSize, /*min_subgroup_size=*/std::nullopt,
      /*max_subgroup_size=*/std::nullopt, /*cooperative_matrix_properties_khr=*/ArrayAttr(),
      /*cooperative_matrix_properties_nv=*/ArrayAttr());
  return spirv::TargetEnvAttr::get(vce, limits, spirv::ClientAPI::Vulkan, spirv::Vendor::Unknown,
                                   spirv::DeviceType::Unknown,
                                   spirv::TargetEnvAttr::kUnknownDeviceID);
}

struct ConvertAttnToVulkanKernelsPass
    : attn::impl::ConvertAttnToVulkanKernelsBase<ConvertAttnToVulkanKernelsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<Operation *> problem = findProblemOp(module);
    if (failed(problem))
      return signalPassFailure();
    if (!*problem)
      return;
    Operation *op = *problem;
    if (isa<MergeOp>(op)) {
      op->emitError() << "the Vulkan backend lowers attn.merge only as part of attn.attention";
      return signalPassFailure();
    }
    std::optional<VulkanConfigAttr> config = getVulkanConfig(op);
    if (!config) {
      op->emitError() << "has no '" << kVulkanConfigAttrName
                      << "' attribute: run attn-configure-vulkan first";
      return signalPassFailure();
    }
    if (auto attention = dyn_cast<AttentionOp>(op);
        attention && config->getCoopmat() &&
        (attention.getAlibiSlopes() || attention.getSinks() || attention.getBlockTable())) {
      op->emitError() << "the cooperative-matrix kernel does not take ALiBi slopes, sinks or a "
                      << "paged KV cache yet (coopmat = 0, the SIMT kernel, does)";
      return signalPassFailure();
    }

    auto problemFn = op->getParentOfType<func::FuncOp>();
    OpBuilder builder(problemFn);
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(), builder.getUnitAttr());
    auto kernels = builder.create<gpu::GPUModuleOp>(op->getLoc(), kGpuModuleName);
    kernels->setAttr(spirv::getTargetEnvAttrName(),
                     targetEnv(module.getContext(),
                               cast<RankedTensorType>(op->getOperand(0).getType()).getElementType(),
                               config->getSubgroupSize(), config->getCoopmat()));
    builder.setInsertionPointToStart(kernels.getBody());
    VulkanKernelTarget target;
    SimtConfig simt = simtConfig(*config);
    if (auto linear = dyn_cast<LinearAttentionOp>(op)) {
      buildSimtLinearKernel(builder, target, linear, simt);
    } else {
      auto attention = cast<AttentionOp>(op);
      if (config->getCoopmat())
        buildVulkanCoopSoftmaxKernel(builder, attention, *config);
      else
        buildSimtSoftmaxKernel(builder, target, attention, simt, /*decode=*/false);
      if (!attention.getReturnEntropy()) {
        // Split-KV decode: partials merged by attn_merge (entropy does not merge; SPEC §3).
        buildSimtSoftmaxKernel(builder, target, attention, simt, /*decode=*/true);
        buildSimtMergeKernel(builder, target, attention, simt);
      }
    }
    problemFn.erase();
  }
};
} // namespace
