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
                           "::mlir::scf::SCFDialect", "::mlir::vector::VectorDialect"];
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

#endif // ATTN_CONVERSION_PASSES_TD
