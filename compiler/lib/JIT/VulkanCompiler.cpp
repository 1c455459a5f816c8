//===- VulkanCompiler.cpp - problem module -> SPIR-V kernel image ---------===//

#include "attn/JIT/VulkanCompiler.h"
#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/DeviceImage.h"
#include "attn/Pipelines/Pipelines.h"

#include <cstring>

using namespace mlir;
using namespace mlir::attn;

void mlir::attn::describeVulkanTarget(const VulkanTargetInfo &target,
                                      VulkanPipelineOptions &options) {
  const VulkanTargetInfo::Device &d = target.device();
  options.device = "lavapipe"; // every field below overrides the named device's
  options.subgroupSize = d.subgroupSize;
  options.maxSharedBytes = d.maxSharedBytes;
  options.maxWorkgroupSize = d.maxWorkgroupSize;
  options.float16 = d.storage16 && d.float16;
  options.int16 = d.storage16 && d.int16;
  options.cooperativeMatrix = d.cooperativeMatrix;
}

VulkanTargetInfo mlir::attn::vulkanTargetFrom(const attn_jit_vulkan_device &device) {
  VulkanTargetInfo::Device d;
  d.name = device.name ? device.name : "";
  d.vendorId = device.vendor_id;
  d.deviceId = device.device_id;
  d.driverVersion = device.driver_version;
  d.subgroupSize = device.subgroup_size;
  d.maxSharedBytes = device.max_shared_bytes;
  d.maxWorkgroupSize = device.max_workgroup_size;
  d.float16 = device.float16;
  d.int16 = device.int16;
  d.storage16 = device.storage16;
  d.cooperativeMatrix = device.cooperative_matrix;
  return VulkanTargetInfo::fromDevice(std::move(d));
}

VulkanTargetInfo mlir::attn::vulkanTargetFrom(const attn_device_info &info) {
  attn_jit_vulkan_device d{};
  d.name = info.name;
  d.vendor_id = info.vendor_id;
  d.device_id = info.device_id;
  d.driver_version = info.driver_version;
  d.subgroup_size = info.subgroup_size;
  d.max_shared_bytes = info.max_shared_bytes;
  d.max_workgroup_size = info.max_workgroup_size;
  d.float16 = info.float16;
  d.int16 = info.int16;
  d.storage16 = info.storage16;
  d.cooperative_matrix = info.cooperative_matrix;
  return vulkanTargetFrom(d);
}

FailureOr<std::string> mlir::attn::prepareVulkanModule(ModuleOp module,
                                                       const VulkanTargetInfo &target,
                                                       std::string &error) {
  PassManager pm(module.getContext());
  VulkanPipelineOptions options;
  describeVulkanTarget(target, options);
  buildConfigureVulkanPipeline(pm, options);
  if (failed(runPasses(pm, module, error)))
    return failure();
  return problemCacheKey(module, target);
}

FailureOr<VulkanImage> mlir::attn::describeVulkanModule(ModuleOp module, std::string &error) {
  Operation *op = deviceProblemOp(module);
  std::optional<VulkanConfigAttr> config = op ? getVulkanConfig(op) : std::nullopt;
  if (!config) {
    error = "the problem module holds no configured attention op";
    return failure();
  }
  VulkanImage image;
  ::attn::image::ImageHeader &h = image.header;
  auto q = cast<RankedTensorType>(op->getOperand(0).getType());
  auto k = cast<RankedTensorType>(op->getOperand(1).getType());
  auto v = cast<RankedTensorType>(op->getOperand(2).getType());
  int64_t heads = q.getDimSize(2), group = heads / k.getDimSize(2);
  SimtWorkgroupShape shape = SimtWorkgroupShape::get(simtConfig(*config), group);
  h.imageKind = ATTN_IMAGE_SPIRV;
  h.teams = config->getTeams();
  h.headChunks = shape.chunks;
  int32_t threads = int32_t(config->getTeams() * config->getSubgroupSize());
  int32_t shared =
      int32_t(config->getCoopmat() ? vulkanCoopSharedBytes(q.getDimSize(3), v.getDimSize(3),
                                                           config->getTeams(), config->getBlockK())
                                   : vulkanSharedBytes(q.getDimSize(3), v.getDimSize(3),
                                                       config->getTeams(), config->getBlockK()));
  if (isa<LinearAttentionOp>(op))
    shared = int32_t(vulkanLinearSharedBytes(q.getDimSize(3), config->getChunk()));
  for (int i = 0; i < ATTN_GPU_ENTRY_COUNT; ++i) {
    h.entryThreads[i] = threads;
    h.entrySharedBytes[i] = shared;
  }
  h.layout = ATTN_GPU_LAYOUT_TEAMS;
  // The decode kernel serves launches whose query rows fit one workgroup's block. Linear
  // attention's tiles are its chunk.
  ManifestTiles tiles{
      ATTN_TARGET_VULKAN,  config->getSubgroupSize(), config->getCoopmat() ? 16 : shape.rows,
      config->getBlockK(), shape.rows * heads,        config->getSplitKeys()};
  if (failed(describeDeviceKernels(op, tiles, config->getChunk(), h, error)))
    return failure();
  return image;
}

LogicalResult mlir::attn::compileVulkanModule(ModuleOp module, VulkanImage &image,
                                              std::string &error) {
  PassManager pm(module.getContext());
  buildVulkanLoweringPipeline(pm);
  if (failed(runPasses(pm, module, error)))
    return failure();
  SmallVector<uint32_t> words;
  if (!serializeVulkanKernels(module, words, error))
    return failure();
  image.words.assign(words.begin(), words.end());
  image.header.codeSize = image.words.size() * sizeof(uint32_t);
  return success();
}

bool mlir::attn::adoptStoredImage(const std::string &bytes, VulkanImage &image, std::string &why) {
  ::attn::image::ImageHeader stored;
  const void *code = nullptr;
  if (!::attn::image::decode(bytes.data(), bytes.size(), stored, code, why))
    return false;
  if (std::memcmp(&stored.manifest, &image.header.manifest, sizeof(stored.manifest)) != 0 ||
      stored.entryMask != image.header.entryMask ||
      std::memcmp(stored.entryThreads, image.header.entryThreads, sizeof(stored.entryThreads)) !=
          0 ||
      stored.imageKind != image.header.imageKind) {
    why = "a kernel image built for another problem or layout";
    return false;
  }
  image.header.codeSize = stored.codeSize;
  image.words.resize(stored.codeSize / 4);
  std::memcpy(image.words.data(), code, stored.codeSize);
  return true;
}
