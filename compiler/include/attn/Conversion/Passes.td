#ifndef ATTN_CONVERSION_PASSES_TD
#define ATTN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnConfigureCPU : Pass<"attn-configure-cpu", "ModuleOp"> {
  let summary = "Choose the CPU tile configuration of every attn op";
  let description = [{
    The configuration stage of the CPU pipeline: attaches `attn.cpu_config =
    #attn.cpu_config<block_q = .., block_k = .., vector_width = ..>` (AttnAttrs.td) to each
    `attn.attention` / `attn.linear_attention` / `attn.merge` that has none. Ops that already
    carry a configuration (from the tuning database or by hand) keep it.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "the CPU the code is for: host, x86-64-v3 (AVX2) or x86-64-v4 (AVX-512)">,
    Option<"vectorWidth", "vector-width", "int64_t", /*default=*/"0",
           "f32 lanes per vector register: 16 (AVX-512), 8 (AVX2), 4; 0 = the target's">
  ];
}

def ConvertAttnToCPUKernels : Pass<"convert-attn-to-cpu-kernels", "ModuleOp"> {
  let summary = "Generate fused CPU kernels from the attn op of a problem module";
  let description = [{
    The lowering stage of the CPU pipeline. A problem module holds one function whose body is one
    configured `attn.attention`, `attn.linear_attention` or `attn.merge` on tensors. The pass replaces that
    function by the kernel entry points of attn_jit_plugin.h, on the caller's strided memrefs,
    built from scf loops and vector-dialect micro-kernels: `attn_main`, `attn_decode` (split-KV)
    and `attn_merge` (the lowering of an `attn.merge` of the decode partials) for softmax
    attention, `attn_linear` for linear attention, `attn_merge` for a merge. An attention or
    linear attention module also gets the constant `attn_kernel_manifest` (an `llvm.mlir.global`):
    the problem, tiles and attnc version the code was built for, which the runtime checks.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::func::FuncDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect",
                           "::mlir::amx::AMXDialect"];
}

def AttnExpandMathCPU : Pass<"attn-expand-math-cpu"> {
  let summary = "Polynomial exp/tanh/log and bf16 conversions for the CPU";
  let description = [{
    Replaces `math.exp`, `math.tanh` and `math.log` on vectors and scalars with polynomial
    approximations (a vectorized exp is ~12x faster than scalar expf calls), and expands bf16
    extension/truncation into integer arithmetic so that no libgcc soft-float call is needed.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnConfigureVulkan : Pass<"attn-configure-vulkan", "ModuleOp"> {
  let summary = "Choose the Vulkan tile configuration of every attention op";
  let description = [{
    The configuration stage of the Vulkan pipeline: attaches `attn.vulkan_config =
    #attn.vulkan_config<subgroup_size = .., teams = .., block_k = ..>` (AttnAttrs.td) to each
    `attn.attention` / `attn.linear_attention` that has none, for the device described by the options (a named device,
    whose fields the other options override; the JIT passes the device it opened). An op that
    already carries a configuration keeps it, and it is checked against the device: its subgroup
    size, workgroup size limit and shared memory, and 16-bit support for f16/bf16.
  }];
  let options = [
    Option<"device", "device", "std::string", /*default=*/"\"lavapipe\"",
           "the device: lavapipe, nvidia or amd (then overridden by the options below)">,
    Option<"subgroupSize", "subgroup-size", "int64_t", /*default=*/"0",
           "the device's subgroup size (0 = the named device's)">,
    Option<"maxSharedBytes", "max-shared-bytes", "int64_t", /*default=*/"0",
           "shared memory per workgroup (0 = the named device's)">,
    Option<"maxWorkgroupSize", "max-workgroup-size", "int64_t", /*default=*/"0",
           "invocations per workgroup at most (0 = the named device's)">,
    Option<"float16", "float16", "int64_t", /*default=*/"-1",
           "1: 16-bit storage and shaderFloat16 (f16 kernels); 0: not (-1 = the named device's)">,
    Option<"int16", "int16", "int64_t", /*default=*/"-1",
           "1: 16-bit storage and shaderInt16 (bf16 kernels); 0: not (-1 = the named device's)">,
    Option<"cooperativeMatrix", "cooperative-matrix", "int64_t", /*default=*/"-1",
           "1: VK_KHR_cooperative_matrix (16x16x16 f16 tiles); 0: not (-1 = the named device's)">
  ];
}

def ConvertAttnToVulkanKernels : Pass<"convert-attn-to-vulkan-kernels", "ModuleOp"> {
  let summary = "Generate Vulkan compute kernels (gpu dialect) from the attn op of a problem module";
  let description = [{
    The lowering stage of the Vulkan pipeline. The problem module's one configured
    `attn.attention` or `attn.linear_attention` becomes the kernels of attn_jit_plugin.h's Vulkan ABI in a `gpu.module
    @attn_kernels` carrying its SPIR-V target environment (Vulkan 1.3 SPIR-V with subgroup
    arithmetic and shuffles; 16-bit storage for f16/bf16): `attn_main`, `attn_decode` (split-KV
    partials) and `attn_merge`, gpu.funcs on 1-D storage buffers with the SPIR-V entry point ABI.
    A linear attention module gets `attn_linear` (a chunked scan). convert-gpu-to-spirv then makes
    a spirv.module of them.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::math::MathDialect", "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect", "::mlir::spirv::SPIRVDialect"];
}

def AttnConfigureCUDA : Pass<"attn-configure-cuda", "ModuleOp"> {
  let summary = "Choose the CUDA tile configuration of every attention op";
  let description = [{
    The configuration stage of the CUDA pipeline: attaches `attn.cuda_config =
    #attn.cuda_config<warps = .., block_n = ..>` (AttnAttrs.td) to each `attn.attention` /
    `attn.linear_attention` that has none, for the GPU described by the options (an architecture,
    whose shared memory limit the option below overrides; the JIT passes the device it opened).
    f16 and bf16 softmax attention with head dims that are multiples of 16 up to 256 takes the
    tensor-core path; f32 (which TF32 would not compute to SPEC's f32 tolerance), linear
    attention and other head dims take the SIMT kernels. An op that already carries a
    configuration keeps it, and it is checked against the problem and the GPU.
  }];
  let options = [
    Option<"arch", "arch", "std::string", /*default=*/"\"sm_80\"",
           "the GPU architecture: sm_80, sm_86, sm_89, sm_90 or sm_90a">,
    Option<"maxSharedBytes", "max-shared-bytes", "int64_t", /*default=*/"0",
           "shared memory a CTA may use (0 = the architecture's)">
  ];
}

def ConvertAttnToCUDAKernels : Pass<"convert-attn-to-cuda-kernels", "ModuleOp"> {
  let summary = "Generate CUDA kernels (gpu and nvgpu dialects) from the attn op of a problem module";
  let description = [{
    The lowering stage of the CUDA pipeline. The problem module's one configured `attn.attention`
    or `attn.linear_attention` becomes the kernels of attn_jit_plugin.h's CUDA ABI in a
    `gpu.module @attn_kernels`: gpu.funcs whose buffers are bare pointers, followed by the i64
    launch parameters (ATTN_GPU_PARAM_*), with `nvvm.maxntid` and the dynamic shared memory they
    need (`attn.dynamic_shared_bytes`). With `mma = 1`, `attn_main` (and `attn_decode`, one warp
    per CTA over a KV split) is FlashAttention-2-style on tensor cores: cp.async K/V tiles in a
    ring of `stages`, ldmatrix into mma.sync m16n8k16 fragments, the online softmax on the
    accumulator fragments, P reused as the A operand of P·V. Otherwise, and for `attn_merge` and
    `attn_linear`, the SIMT generators every GPU target shares.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect", "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect", "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect", "::mlir::NVVM::NVVMDialect",
                           "::mlir::nvgpu::NVGPUDialect", "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnExternDynamicShared : Pass<"attn-extern-dynamic-shared", "::mlir::gpu::GPUModuleOp"> {
  let summary = "Give the dynamic shared memory global external linkage";
  let description = [{
    convert-gpu-to-nvvm in MLIR 19 declares the global behind gpu.dynamic_shared_memory with
    internal linkage, so the NVPTX backend demotes it to a 1-byte `.shared` variable of the
    kernel instead of `.extern .shared .b8 __dynamic_shmem__0[]`: accesses past its first byte
    then rely on the dynamic allocation that follows it. This pass makes the globals named
    `__dynamic_shmem_*` external, which gives the PTX the form CUDA documents.
  }];
}

#endif // ATTN_CONVERSION_PASSES_TD
