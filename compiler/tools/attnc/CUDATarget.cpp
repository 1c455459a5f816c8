//===- CUDATarget.cpp - attnc --target=cuda -------------------------------===//

#include "CUDATarget.h"

#include "attn/attn_runtime.h"

#include "attn/JIT/CPUCompiler.h"
#include "attn/JIT/CUDACompiler.h"
#include "attn/Pipelines/Pipelines.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Pass/PassManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

namespace {
bool hasPtxas(const std::string &toolkit) {
  llvm::SmallString<256> ptxas(toolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  return !toolkit.empty() && llvm::sys::fs::can_execute(ptxas);
}

std::string badArch(const std::string &arch) {
  return "--arch must be one of " + std::string(CUDATargetInfo::kNames) + ", got '" + arch + "'";
}
} // namespace

std::optional<CUDATargetInfo> attnc::cudaTargetOf(attn_context *context, std::string &error) {
  attn_device_info info{};
  info.struct_size = sizeof(info);
  if (attn_context_get_device(context, ATTN_TARGET_CUDA, &info) != ATTN_STATUS_SUCCESS) {
    error = attn_last_error();
    return std::nullopt;
  }
  FailureOr<CUDATargetInfo> target = cudaTargetFrom(info, error);
  if (failed(target))
    return std::nullopt;
  return *target;
}

bool attnc::compileForCUDA(ModuleOp module, const std::string &arch, const std::string &toolkit,
                           CUDAEmit emit, std::string &output, std::string &error) {
  if (!CUDATargetInfo::fromName(arch)) {
    error = badArch(arch);
    return false;
  }
  if (emit == CUDAEmit::Cubin && !hasPtxas(toolkit)) {
    error = "--emit=cubin needs the CUDA toolkit's ptxas: none in '" + toolkit +
            "' (--cuda-toolkit or ATTN_CUDA_TOOLKIT; --emit=ptx needs none)";
    return false;
  }
  PassManager pm(module.getContext());
  if (failed(applyPassManagerCLOptions(pm))) {
    error = "bad pass manager options";
    return false;
  }
  CUDAPipelineOptions options;
  options.arch = arch;
  options.toolkit = toolkit;
  options.format = emit == CUDAEmit::Cubin ? "bin" : "isa";
  buildConfigureCUDAPipeline(pm, options);
  buildCUDAKernelsPipeline(pm);
  if (emit != CUDAEmit::Kernels) {
    buildCUDANVVMPipeline(pm, options);
    buildCUDASerializePipeline(pm, options);
  }
  if (failed(runPasses(pm, module, error)))
    return false;
  if (emit == CUDAEmit::Kernels) {
    llvm::raw_string_ostream os(output);
    module.print(os);
    return true;
  }
  std::string image;
  if (!cudaKernelImage(module, image, error))
    return false;
  output += image;
  return true;
}

bool attnc::imageForCUDA(ModuleOp module, const std::string &arch, const std::string &toolkit,
                         std::string &container, attn_kernel_manifest &manifest, bool &cubin,
                         std::string &error) {
  std::optional<CUDATargetInfo> target = CUDATargetInfo::fromName(arch);
  if (!target) {
    error = badArch(arch);
    return false;
  }
  return imageForCUDA(module, *target, toolkit, container, manifest, cubin, error);
}

bool attnc::imageForCUDA(ModuleOp module, const CUDATargetInfo &target, const std::string &toolkit,
                         std::string &container, attn_kernel_manifest &manifest, bool &cubin,
                         std::string &error) {
  CUDACodegen codegen = cudaCodegenFor(target, hasPtxas(toolkit) ? toolkit : "");
  if (failed(prepareCUDAModule(module, target, codegen, error)))
    return false;
  FailureOr<CUDAImage> image = describeCUDAModule(module, codegen, error);
  if (failed(image) || failed(compileCUDAModule(module, target, codegen, *image, error)))
    return false;
  container = image->encode();
  manifest = image->header.manifest;
  cubin = codegen.cubin;
  return true;
}
