//===- Pipelines.h - named attnc pipelines ---------------------*- C++ -*-===//
#ifndef ATTN_PIPELINES_PIPELINES_H
#define ATTN_PIPELINES_PIPELINES_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  Option<std::string> target{*this, "target",
                             llvm::cl::desc("the CPU: host, x86-64-v3 or x86-64-v4"),
                             llvm::cl::init("host")};
  Option<int64_t> vectorWidth{*this, "vector-width",
                              llvm::cl::desc("f32 lanes per vector (0 = the target's)"),
                              llvm::cl::init(0)};
};

/// attn-lower-to-cpu: canonicalize the problem, configure tiles, generate the kernels and lower
/// them to the LLVM dialect (configuration -> lowering; translation to LLVM IR follows).
void buildLowerToCPUPipeline(OpPassManager &pm, const CPUPipelineOptions &options);

struct VulkanPipelineOptions : public PassPipelineOptions<VulkanPipelineOptions> {
  Option<std::string> device{*this, "device",
                             llvm::cl::desc("the Vulkan device: lavapipe, nvidia or amd"),
                             llvm::cl::init("lavapipe")};
  Option<int64_t> subgroupSize{*this, "subgroup-size",
                               llvm::cl::desc("the device's subgroup size (0 = the named one's)"),
                               llvm::cl::init(0)};
  Option<int64_t> maxSharedBytes{
      *this, "max-shared-bytes",
      llvm::cl::desc("shared memory per workgroup (0 = the named one's)"), llvm::cl::init(0)};
  Option<int64_t> maxWorkgroupSize{
      *this, "max-workgroup-size",
      llvm::cl::desc("invocations per workgroup (0 = the named one's)"), llvm::cl::init(0)};
  Option<int64_t> float16{*this, "float16",
                          llvm::cl::desc("16-bit storage and shaderFloat16: 1, 0 (-1 = the named "
                                         "device's)"),
                          llvm::cl::init(-1)};
  Option<int64_t> cooperativeMatrix{
      *this, "cooperative-matrix",
      llvm::cl::desc("VK_KHR_cooperative_matrix: 1, 0 (-1 = the named device's)"),
      llvm::cl::init(-1)};
  Option<int64_t> int16{*this, "int16",
                        llvm::cl::desc("16-bit storage and shaderInt16 (bf16): 1, 0 (-1 = the "
                                       "named device's)"),
                        llvm::cl::init(-1)};
};

/// attn-lower-to-vulkan: canonicalize the problem, configure tiles for the device, generate the
/// kernels in the gpu dialect and convert them to a spirv.module (serialization follows:
/// serializeVulkanKernels).
void buildLowerToVulkanPipeline(OpPassManager &pm, const VulkanPipelineOptions &options);
/// Its two stages: configuration (canonicalize, attn-configure-vulkan), then lowering.
void buildConfigureVulkanPipeline(OpPassManager &pm, const VulkanPipelineOptions &options);
void buildVulkanLoweringPipeline(OpPassManager &pm);

/// The SPIR-V binary of the spirv.module that attn-lower-to-vulkan left in `module`; false (with
/// `error` set) when there is none or serialization fails.
bool serializeVulkanKernels(ModuleOp module, SmallVectorImpl<uint32_t> &words, std::string &error);

struct CUDAPipelineOptions : public PassPipelineOptions<CUDAPipelineOptions> {
  Option<std::string> arch{*this, "arch",
                           llvm::cl::desc("the GPU architecture: sm_80, sm_86, sm_89, sm_90, sm_90a"),
                           llvm::cl::init("sm_80")};
  Option<int64_t> maxSharedBytes{
      *this, "max-shared-bytes",
      llvm::cl::desc("shared memory a CTA may use (0 = the architecture's)"), llvm::cl::init(0)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("what gpu-module-to-binary makes: isa (PTX), bin (cubin, through the CUDA "
                     "toolkit's ptxas), offload (LLVM IR); empty: stop before serialization"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{*this, "toolkit",
                              llvm::cl::desc("the CUDA toolkit (ptxas) for format=bin"),
                              llvm::cl::init("/usr/local/cuda")};
};

/// attn-lower-to-cuda: canonicalize the problem, configure tiles for the GPU, generate the
/// kernels in the gpu/nvgpu dialects, lower them to NVVM and serialize them with
/// gpu-module-to-binary (PTX or cubin in a gpu.binary: cudaKernelImage reads it).
void buildLowerToCUDAPipeline(OpPassManager &pm, const CUDAPipelineOptions &options);
/// Its stages: configuration (canonicalize, attn-configure-cuda); kernels and NVVM; binary.
void buildConfigureCUDAPipeline(OpPassManager &pm, const CUDAPipelineOptions &options);
void buildCUDALoweringPipeline(OpPassManager &pm, const CUDAPipelineOptions &options);
/// The lowering's two halves: the kernels in the gpu/nvgpu dialects, then NVVM.
void buildCUDAKernelsPipeline(OpPassManager &pm);
void buildCUDANVVMPipeline(OpPassManager &pm, const CUDAPipelineOptions &options);
void buildCUDASerializePipeline(OpPassManager &pm, const CUDAPipelineOptions &options);

/// What a context needs to run attn-lower-to-cuda: the NVVM and NVGPU dialects, the NVVM target
/// (gpu-module-to-binary) and the LLVM IR translations it uses.
void registerCUDATargetInterfaces(DialectRegistry &registry);

/// The kernel image in the gpu.binary attn-lower-to-cuda left in `module` (PTX text without its
/// trailing NUL, or a cubin); false (with `error` set) when there is none.
bool cudaKernelImage(ModuleOp module, std::string &image, std::string &error);

/// Registers every attnc pipeline by name.
void registerAttnPipelines();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_PIPELINES_H
