//===- CPUPipeline.cpp - attn-lower-to-cpu --------------------------------===//

#include "attn/Conversion/Passes.h"
#include "attn/Pipelines/Pipelines.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildLowerToCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options) {
  // Configuration.
  pm.addPass(createCanonicalizerPass());
  AttnConfigureCPUOptions configure;
  configure.target = options.target;
  configure.vectorWidth = options.vectorWidth;
  pm.addPass(createAttnConfigureCPU(configure));
  // Lowering: kernels on memrefs, then the LLVM dialect.
  pm.addPass(createConvertAttnToCPUKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createLoopInvariantCodeMotionPass());
  pm.addPass(createAttnExpandMathCPU());
  pm.addPass(arith::createArithExpandOpsPass());
  pm.addPass(createConvertSCFToCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  ConvertVectorToLLVMPassOptions vectorToLLVM;
  vectorToLLVM.reassociateFPReductions = true; // tree reductions, not one lane after another
  vectorToLLVM.amx = true;                      // the AMX prefill kernel's tile ops
  pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  pm.addPass(createConvertMathToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
}

void mlir::attn::registerAttnPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "attn-lower-to-cpu", "Lower an attn problem module to CPU kernels in the LLVM dialect",
      buildLowerToCPUPipeline);
  PassPipelineRegistration<VulkanPipelineOptions>(
      "attn-lower-to-vulkan",
      "Lower an attn problem module to Vulkan compute kernels in a spirv.module",
      buildLowerToVulkanPipeline);
  PassPipelineRegistration<CUDAPipelineOptions>(
      "attn-lower-to-cuda",
      "Lower an attn problem module to CUDA kernels (tensor cores on sm_80+) in a gpu.binary",
      buildLowerToCUDAPipeline);
}
