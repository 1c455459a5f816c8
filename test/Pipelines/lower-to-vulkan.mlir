// RUN: attn-opt %s "--attn-lower-to-vulkan=device=nvidia cooperative-matrix=0" | FileCheck %s

// The whole Vulkan pipeline: a spirv.module whose entry points are the three kernels, with the
// workgroup size of the configuration (8 teams of 32 lanes), subgroup operations and 16-bit
// storage for f16 (the scalar kernels: cooperative matrices off); no gpu.func remains. (Serialized and checked by spirv-val in
// test/Tools/attnc/vulkan.test.)
// CHECK: spirv.module @__spv__attn_kernels Logical GLSL450 requires #spirv.vce<v1.3, [{{.*}}GroupNonUniformArithmetic{{.*}}]
// CHECK-DAG: spirv.GroupNonUniformFMax "Subgroup" "Reduce"
// CHECK-DAG: spirv.GroupNonUniformShuffle <Subgroup>
// CHECK-DAG: spirv.EntryPoint "GLCompute" @attn_main
// CHECK-DAG: spirv.EntryPoint "GLCompute" @attn_decode
// CHECK-DAG: spirv.EntryPoint "GLCompute" @attn_merge
// CHECK-DAG: spirv.ExecutionMode @attn_main "LocalSize", 256, 1, 1
func.func @attn(%q: tensor<?x?x8x128xf16>, %k: tensor<?x?x8x128xf16>, %v: tensor<?x?x8x128xf16>) -> tensor<?x?x8x128xf16> {
  %o = attn.attention %q, %k, %v {window = array<i64: 256, 0>} : tensor<?x?x8x128xf16>, tensor<?x?x8x128xf16>, tensor<?x?x8x128xf16> -> tensor<?x?x8x128xf16>
  return %o : tensor<?x?x8x128xf16>
}
