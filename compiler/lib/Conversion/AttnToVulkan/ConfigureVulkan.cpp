//===- ConfigureVulkan.cpp - attn-configure-vulkan ------------------------===//

#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Conversion/Passes.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNCONFIGUREVULKAN
#include "attn/Conversion/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {
struct AttnConfigureVulkanPass : attn::impl::AttnConfigureVulkanBase<AttnConfigureVulkanPass> {
  using Base::Base;

  std::optional<VulkanTargetInfo> target() {
    std::optional<VulkanTargetInfo> named = VulkanTargetInfo::fromName(device);
    if (!named)
      return std::nullopt;
    VulkanTargetInfo::Device d = named->device();
    if (subgroupSize)
      d.subgroupSize = subgroupSize;
    if (maxSharedBytes)
      d.maxSharedBytes = maxSharedBytes;
    if (maxWorkgroupSize)
      d.maxWorkgroupSize = maxWorkgroupSize;
    if (float16 >= 0)
      d.float16 = float16 != 0;
    if (int16 >= 0)
      d.int16 = int16 != 0;
    d.storage16 = d.float16 || d.int16;
    if (cooperativeMatrix >= 0)
      d.cooperativeMatrix = cooperativeMatrix != 0;
    return VulkanTargetInfo::fromDevice(std::move(d));
  }

  void runOnOperation() override {
    std::optional<VulkanTargetInfo> vulkan = target();
    WalkResult result = getOperation().walk([&](Operation *op) {
      if (!isa<AttentionOp, LinearAttentionOp>(op))
        return WalkResult::advance();
      if (!vulkan) {
        op->emitError() << "cannot configure: unknown Vulkan device '" << device << "' (expected "
                        << VulkanTargetInfo::kNames << ")";
        return WalkResult::interrupt();
      }
      if (std::optional<VulkanConfigAttr> given = getVulkanConfig(op)) {
        std::string defect = vulkanConfigDefect(op, *given, *vulkan);
        if (!defect.empty()) {
          op->emitError() << "'" << kVulkanConfigAttrName
                          << "' cannot run on this device: " << defect;
          return WalkResult::interrupt();
        }
        return WalkResult::advance();
      }
      std::string why;
      FailureOr<VulkanConfigAttr> config = chooseVulkanConfig(op, *vulkan, why);
      if (failed(config)) {
        op->emitError() << "cannot configure for Vulkan: " << why;
        return WalkResult::interrupt();
      }
      op->setAttr(kVulkanConfigAttrName, *config);
      op->setAttr(kConfigSourceAttrName, StringAttr::get(op->getContext(), "heuristic"));
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
