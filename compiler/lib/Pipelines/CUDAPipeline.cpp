//===- CUDAPipeline.cpp - attn-lower-to-cuda ------------------------------===//
//
// The pipeline ../shared/GPU.md found to reach PTX and cubin from MLIR 19: kernels in the gpu,
// nvgpu and nvvm dialects; scf to cf, nvgpu to nvvm, vector to llvm and gpu to nvvm (bare-pointer
// buffers) inside the gpu.module; then gpu-module-to-binary.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/NVVMToLLVM/NVVMToLLVM.h"
#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/LLVMIR/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildLowerToCUDAPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  buildConfigureCUDAPipeline(pm, options);
  buildCUDALoweringPipeline(pm, options);
  if (!options.format.empty())
    buildCUDASerializePipeline(pm, options);
}

void mlir::attn::buildConfigureCUDAPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  pm.addPass(createCanonicalizerPass());
  AttnConfigureCUDAOptions configure;
  configure.arch = options.arch;
  configure.maxSharedBytes = options.maxSharedBytes;
  pm.addPass(createAttnConfigureCUDA(configure));
}

void mlir::attn::buildCUDALoweringPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  buildCUDAKernelsPipeline(pm);
  buildCUDANVVMPipeline(pm, options);
}

void mlir::attn::buildCUDAKernelsPipeline(OpPassManager &pm) {
  pm.addPass(createConvertAttnToCUDAKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
}

void mlir::attn::buildCUDANVVMPipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  GpuNVVMAttachTargetOptions attach;
  attach.chip = options.arch;
  attach.features = "+ptx80";
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(arith::createArithExpandOpsPass()); // ceildivsi and the like
  kernels.addPass(createConvertSCFToCFPass());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertVectorToLLVMPass());
  kernels.addPass(memref::createExpandStridedMetadataPass());
  ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true;
  kernels.addPass(createConvertGpuOpsToNVVMOps(nvvm));
  kernels.addPass(createConvertNVVMToLLVMPass());
  kernels.addPass(createCanonicalizerPass());
  kernels.addPass(createCSEPass());
  kernels.addPass(createAttnExternDynamicShared());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::attn::buildCUDASerializePipeline(OpPassManager &pm, const CUDAPipelineOptions &options) {
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
}

void mlir::attn::registerCUDATargetInterfaces(DialectRegistry &registry) {
  registry.insert<NVVM::NVVMDialect, nvgpu::NVGPUDialect>();
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  registerLLVMDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
}

bool mlir::attn::cudaKernelImage(ModuleOp module, std::string &image, std::string &error) {
  gpu::BinaryOp binary;
  module.walk([&](gpu::BinaryOp op) {
    binary = op;
    return WalkResult::interrupt();
  });
  if (!binary || binary.getObjects().empty()) {
    error = "no gpu.binary to read (run attn-lower-to-cuda first)";
    return false;
  }
  auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
  StringRef text = object.getObject().getValue();
  if (object.getFormat() == gpu::CompilationTarget::Assembly && text.ends_with(StringRef("\0", 1)))
    text = text.drop_back();
  image = text.str();
  return true;
}
