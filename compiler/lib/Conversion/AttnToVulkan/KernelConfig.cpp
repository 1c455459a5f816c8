//===- KernelConfig.cpp - Vulkan tile configurations ----------------------===//

#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

std::optional<VulkanConfigAttr> mlir::attn::getVulkanConfig(Operation *op) {
  if (auto config = op->getAttrOfType<VulkanConfigAttr>(kVulkanConfigAttrName))
    return config;
  return std::nullopt;
}

bool mlir::attn::coopmatFits(Operation *op, const VulkanTargetInfo &target, bool deviceChecked) {
  ProblemDims dims = ProblemDims::of(op);
  auto attention = dyn_cast<AttentionOp>(op);
  return (deviceChecked || target.device().cooperativeMatrix) && attention &&
         !attention.getAlibiSlopes() && !attention.getSinks() && !attention.getBlockTable() &&
         dims.element.isF16() && dims.headDim % 16 == 0 && dims.headDimV % 16 == 0;
}

std::string mlir::attn::vulkanConfigDefect(Operation *op, VulkanConfigAttr config,
                                           const VulkanTargetInfo &target) {
  std::string text;
  llvm::raw_string_ostream os(text);
  const VulkanTargetInfo::Device &device = target.device();
  ProblemDims dims = ProblemDims::of(op);
  if (!dims.element.isF32() && !target.supportsElementBits16(dims.element.isF16()))
    os << "the Vulkan device '" << device.name << "' cannot run " << dims.element
       << " kernels: they need 16-bit storage buffers and "
       << (dims.element.isF16() ? "shaderFloat16" : "shaderInt16");
  else if (config.getSubgroupSize() != device.subgroupSize)
    os << "subgroup_size " << config.getSubgroupSize() << " is not the device's ("
       << device.subgroupSize << ")";
  else if (config.getTeams() * config.getSubgroupSize() > device.maxWorkgroupSize)
    os << "teams x subgroup_size = " << config.getTeams() * config.getSubgroupSize()
       << " invocations exceed the device's workgroup size limit (" << device.maxWorkgroupSize
       << ")";
  else if (config.getCoopmat() && !target.device().cooperativeMatrix)
    os << "coopmat = 1, but the device '" << device.name
       << "' does not expose VK_KHR_cooperative_matrix";
  else if (config.getCoopmat() && !coopmatFits(op, target, /*deviceChecked=*/true))
    os << "coopmat = 1 needs softmax attention in f16 with head dims that are multiples of 16 "
          "(and no ALiBi, sinks or paged KV cache)";
  else if (config.getCoopmat()) {
    if (int64_t bytes = vulkanCoopSharedBytes(dims.headDim, dims.headDimV, config.getTeams(),
                                              config.getBlockK());
        bytes > device.maxSharedBytes)
      os << "the cooperative-matrix tiles need " << bytes
         << " bytes of shared memory; the device has " << device.maxSharedBytes;
  } else if (isa<LinearAttentionOp>(op)) {
    if (int64_t bytes = vulkanLinearSharedBytes(dims.headDim, config.getChunk());
        bytes > device.maxSharedBytes)
      os << "linear attention chunks of " << config.getChunk() << " need " << bytes
         << " bytes of shared memory for D = " << dims.headDim << "; the device has "
         << device.maxSharedBytes;
  } else if (int64_t bytes = vulkanSharedBytes(dims.headDim, dims.headDimV, config.getTeams(),
                                               config.getBlockK());
             bytes > device.maxSharedBytes)
    os << "the K/V tiles of block_k = " << config.getBlockK() << " need " << bytes
       << " bytes of shared memory for D = " << dims.headDim << ", Dv = " << dims.headDimV
       << "; the device has " << device.maxSharedBytes;
  return text;
}

FailureOr<VulkanConfigAttr>
mlir::attn::chooseVulkanConfig(Operation *op, const VulkanTargetInfo &target, std::string &why) {
  const VulkanTargetInfo::Device &device = target.device();
  ProblemDims dims = ProblemDims::of(op);
  int64_t lanes = device.subgroupSize;
  // About 256 invocations per workgroup (8 teams of 32 lanes; 32 of 8 on lavapipe), and the
  // largest K/V tile (up to 64 keys) that leaves half of the shared memory to other workgroups.
  int64_t teams = std::clamp<int64_t>(256 / lanes, 1, kMaxVulkanTeams);
  int64_t blockK = lanes;
  for (int64_t candidate = lanes; candidate <= std::max<int64_t>(64, lanes); candidate += lanes)
    if (2 * vulkanSharedBytes(dims.headDim, dims.headDimV, teams, candidate) <=
        device.maxSharedBytes)
      blockK = candidate;
  while (teams > 1 &&
         vulkanSharedBytes(dims.headDim, dims.headDimV, teams, blockK) > device.maxSharedBytes)
    teams /= 2;
  // Linear attention: the longest chunk (up to 32) whose staging leaves half the shared memory.
  int64_t chunk = 16; // the default: softmax kernels do not use it
  if (isa<LinearAttentionOp>(op)) {
    teams = std::clamp<int64_t>(256 / lanes, 1, kMaxVulkanTeams);
    blockK = lanes;
    chunk = 1;
    for (int64_t candidate = 32; candidate > 1 && chunk == 1; candidate /= 2)
      if (2 * vulkanLinearSharedBytes(dims.headDim, candidate) <= device.maxSharedBytes)
        chunk = candidate;
  }
  // Cooperative matrices where the device exposes them and the problem fits their 16 x 16 x 16
  // f16 tiles: as many heads of a GQA group as fit (up to 4), K/V tiles of 32 keys (or the
  // subgroup's multiple).
  int64_t coopmat = 0;
  if (coopmatFits(op, target)) {
    coopmat = 1;
    blockK = std::max<int64_t>(32, lanes);
    int64_t group = cast<RankedTensorType>(op->getOperand(0).getType()).getDimSize(2) /
                    cast<RankedTensorType>(op->getOperand(1).getType()).getDimSize(2);
    teams = std::min<int64_t>(4, group);
    while (teams > 1 && vulkanCoopSharedBytes(dims.headDim, dims.headDimV, teams, blockK) >
                            device.maxSharedBytes)
      --teams;
  }
  auto config = VulkanConfigAttr::getChecked(
      [&] { return op->emitError(); }, op->getContext(), lanes, teams, blockK,
      std::max<int64_t>(512, blockK) / blockK * blockK, chunk, coopmat);
  if (!config) {
    why = "no valid Vulkan configuration for this device";
    return failure();
  }
  why = vulkanConfigDefect(op, config, target);
  if (!why.empty())
    return failure();
  return config;
}
