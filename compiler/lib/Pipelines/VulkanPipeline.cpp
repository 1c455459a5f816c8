//===- VulkanPipeline.cpp - attn-lower-to-vulkan --------------------------===//
//
// The pipeline ../shared/GPU.md found to give SPIR-V that spirv-val accepts and lavapipe runs:
// kernels in the gpu dialect, converted by convert-gpu-to-spirv into a spirv.module, then the
// ABI attributes lowered and the version/capabilities/extensions set from what the code uses.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToSPIRV/GPUToSPIRVPass.h"
#include "mlir/Conversion/MathToSPIRV/MathToSPIRVPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SPIRV/IR/SPIRVOps.h"
#include "mlir/Dialect/SPIRV/Transforms/Passes.h"
#include "mlir/Target/SPIRV/Serialization.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildLowerToVulkanPipeline(OpPassManager &pm,
                                            const VulkanPipelineOptions &options) {
  buildConfigureVulkanPipeline(pm, options);
  buildVulkanLoweringPipeline(pm);
}

void mlir::attn::buildConfigureVulkanPipeline(OpPassManager &pm,
                                              const VulkanPipelineOptions &options) {
  pm.addPass(createCanonicalizerPass());
  AttnConfigureVulkanOptions configure;
  configure.device = options.device;
  configure.subgroupSize = options.subgroupSize;
  configure.maxSharedBytes = options.maxSharedBytes;
  configure.maxWorkgroupSize = options.maxWorkgroupSize;
  configure.float16 = options.float16;
  configure.int16 = options.int16;
  configure.cooperativeMatrix = options.cooperativeMatrix;
  pm.addPass(createAttnConfigureVulkan(configure));
}

void mlir::attn::buildVulkanLoweringPipeline(OpPassManager &pm) {
  // Kernels in the gpu dialect, then SPIR-V.
  pm.addPass(createConvertAttnToVulkanKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(arith::createArithExpandOpsPass());
  kernels.addPass(createLowerAffinePass());
  kernels.addPass(memref::createFoldMemRefAliasOpsPass());
  kernels.addPass(createConvertMathToSPIRVPass());
  pm.addPass(createConvertGPUToSPIRVPass());
  OpPassManager &spirvModule = pm.nest<spirv::ModuleOp>();
  spirvModule.addPass(spirv::createSPIRVLowerABIAttributesPass());
  spirvModule.addPass(spirv::createSPIRVUpdateVCEPass());
  spirvModule.addPass(createCanonicalizerPass());
}

bool mlir::attn::serializeVulkanKernels(ModuleOp module, SmallVectorImpl<uint32_t> &words,
                                        std::string &error) {
  spirv::ModuleOp spirvModule;
  module.walk([&](spirv::ModuleOp m) {
    spirvModule = m;
    return WalkResult::interrupt();
  });
  if (!spirvModule) {
    error = "no spirv.module to serialize (run attn-lower-to-vulkan first)";
    return false;
  }
  if (failed(spirv::serialize(spirvModule, words))) {
    error = "SPIR-V serialization failed";
    return false;
  }
  return true;
}
