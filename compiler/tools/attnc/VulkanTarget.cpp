//===- VulkanTarget.cpp - attnc --target=vulkan ---------------------------===//

#include "VulkanTarget.h"

#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/VulkanCompiler.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Target/TargetInfo.h"
#include "attn/attn_runtime.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

std::optional<VulkanTargetInfo> attnc::vulkanTargetOf(attn_context *context, std::string &error) {
  attn_device_info info{};
  info.struct_size = sizeof(info);
  if (attn_context_get_device(context, ATTN_TARGET_VULKAN, &info) != ATTN_STATUS_SUCCESS) {
    error = attn_last_error();
    return std::nullopt;
  }
  return vulkanTargetFrom(info);
}

std::optional<VulkanTargetInfo> attnc::vulkanTargetNamed(const std::string &name,
                                                         std::string &error) {
  if (name == "local") {
    attn_context_options options;
    (void)attn_context_options_init(&options);
    options.num_threads = 1;
    options.disk_cache = 0;
    attn_context *context = nullptr;
    if (attn_context_create(&options, &context) != ATTN_STATUS_SUCCESS) {
      error = std::string("cannot create a runtime context: ") + attn_last_error();
      return std::nullopt;
    }
    std::optional<VulkanTargetInfo> target = vulkanTargetOf(context, error);
    (void)attn_context_destroy(context);
    if (!target)
      error = "--vulkan-device=local: " + error;
    return target;
  }
  std::optional<VulkanTargetInfo> target = VulkanTargetInfo::fromName(name);
  if (!target)
    error = "--vulkan-device must be local or one of " + std::string(VulkanTargetInfo::kNames) +
            ", got '" + name + "'";
  return target;
}

bool attnc::compileForVulkan(ModuleOp module, const VulkanTargetInfo &target, bool binary,
                             std::string &output, std::string &error) {
  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm))) {
    error = "bad pass manager options";
    return false;
  }
  VulkanPipelineOptions options;
  describeVulkanTarget(target, options);
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

bool attnc::imageForVulkan(ModuleOp module, const VulkanTargetInfo &target, std::string &container,
                           attn_kernel_manifest &manifest, std::string &error) {
  if (failed(prepareVulkanModule(module, target, error)))
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
