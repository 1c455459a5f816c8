//===- VulkanTarget.cpp - attnc --target=vulkan ---------------------------===//

#include "VulkanTarget.h"

#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/VulkanCompiler.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

bool attnc::compileForVulkan(ModuleOp module, const std::string &device, bool binary,
                             std::string &output, std::string &error) {
  if (!VulkanTargetInfo::fromName(device)) {
    error = "--vulkan-device must be one of " + std::string(VulkanTargetInfo::kNames) + ", got '" +
            device + "'";
    return false;
  }
  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm))) {
    error = "bad pass manager options";
    return false;
  }
  VulkanPipelineOptions options;
  options.device = device;
  buildLowerToVulkanPipeline(pm, options);
  if (failed(runPasses(pm, module, error)))
    return false;
  if (!binary) {
    llvm::raw_string_ostream os(output);
    module.print(os);
    return true;
  }
  SmallVector<uint32_t> words;
  if (!serializeVulkanKernels(module, words, error))
    return false;
  output.append(reinterpret_cast<const char *>(words.data()), words.size() * sizeof(uint32_t));
  return true;
}

bool attnc::imageForVulkan(ModuleOp module, const std::string &device, std::string &container,
                           attn_kernel_manifest &manifest, std::string &error) {
  std::optional<VulkanTargetInfo> target = VulkanTargetInfo::fromName(device);
  if (!target) {
    error = "--vulkan-device must be one of " + std::string(VulkanTargetInfo::kNames) + ", got '" +
            device + "'";
    return false;
  }
  if (failed(prepareVulkanModule(module, *target, error)))
    return false;
  FailureOr<VulkanImage> image = describeVulkanModule(module, error);
  if (failed(image) || failed(compileVulkanModule(module, *image, error)))
    return false;
  container = image->encode();
  manifest = image->header.manifest;
  return true;
}

std::optional<attn_kernel_manifest> attnc::imageManifest(llvm::StringRef container) {
  ::attn::image::ImageHeader header;
  const void *code = nullptr;
  std::string why;
  if (!::attn::image::decode(container.data(), container.size(), header, code, why))
    return std::nullopt;
  return header.manifest;
}
