// RUN: attn-opt %s --split-input-file --convert-attn-to-vulkan-kernels -verify-diagnostics | FileCheck %s

// Softmax attention becomes three kernels in a gpu.module with its SPIR-V target environment:
// 1-D storage buffers (bf16 stored as i16), K/V tiles staged in workgroup memory (address space
// 3) between barriers, per-subtile subgroup max and sum, probabilities broadcast by shuffles.
// CHECK: module attributes {gpu.container_module}
// CHECK: gpu.module @attn_kernels attributes {spirv.target_env = #spirv.target_env<#spirv.vce<v1.3, [Shader, GroupNonUniform, GroupNonUniformArithmetic, GroupNonUniformShuffle, StorageBuffer16BitAccess, Int16]
// CHECK-SAME: subgroup_size = 8
// CHECK-LABEL: gpu.func @attn_main
// CHECK-SAME: memref<?xi16>
// CHECK-SAME: kernel attributes {spirv.entry_point_abi = #spirv.entry_point_abi<workgroup_size = [64, 1, 1]>}
// CHECK-DAG: memref.alloc() : memref<{{[0-9]+}}xf32, 3>
// CHECK: gpu.barrier
// Causal: keys past the row's position are masked inside a tile.
// CHECK: arith.cmpi sle
// CHECK: gpu.subgroup_reduce maximumf
// CHECK: math.exp
// CHECK: gpu.subgroup_reduce add
// CHECK: gpu.shuffle idx {{.*}} : f32
// CHECK: math.log
// CHECK: arith.trunci {{.*}} : i32 to i16
// CHECK-LABEL: gpu.func @attn_decode
// CHECK-SAME: memref<?xf32>
// CHECK-LABEL: gpu.func @attn_merge
// CHECK-NOT: func.func @attn(
func.func @attn(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>) -> (tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {causal, return_lse, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 8, block_k = 16>} : tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16> -> tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xbf16>, tensor<?x8x?xf32>
}

// -----

// Entropy does not merge: a problem asking for it has no split-KV kernels.
// CHECK-LABEL: gpu.func @attn_main
// CHECK-NOT: gpu.func @attn_decode
func.func @attn(%q: tensor<?x?x2x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>) -> (tensor<?x?x2x32xf32>, tensor<?x2x?xf32>) {
  %o, %h = attn.attention %q, %k, %v {return_entropy, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32>} : tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32> -> tensor<?x?x2x32xf32>, tensor<?x2x?xf32>
  return %o, %h : tensor<?x?x2x32xf32>, tensor<?x2x?xf32>
}

// -----

func.func @attn(%q: tensor<?x?x2x32xf32>, %k: tensor<?x?x2x32xf32>, %v: tensor<?x?x2x32xf32>) -> tensor<?x?x2x32xf32> {
  // expected-error @+1 {{has no 'attn.vulkan_config' attribute: run attn-configure-vulkan first}}
  %o = attn.attention %q, %k, %v : tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32>, tensor<?x?x2x32xf32> -> tensor<?x?x2x32xf32>
  return %o : tensor<?x?x2x32xf32>
}

// -----

// Linear attention: one kernel, a chunked scan with φ(q)/φ(k) chunks and the normalizer in
// workgroup memory and the state in registers.
// CHECK-LABEL: gpu.func @attn_linear
// CHECK-SAME: memref<?xf16>
// CHECK: memref.alloc() : memref<512xf32, 3>
// CHECK: gpu.barrier
// CHECK: math.exp
// CHECK-NOT: gpu.func @attn_main
func.func @attn(%q: tensor<?x?x4x32xf16>, %k: tensor<?x?x2x32xf16>, %v: tensor<?x?x2x16xf16>) -> tensor<?x?x4x16xf16> {
  %o = attn.linear_attention %q, %k, %v {causal, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 2, block_k = 8, chunk = 16>} : tensor<?x?x4x32xf16>, tensor<?x?x2x32xf16>, tensor<?x?x2x16xf16> -> tensor<?x?x4x16xf16>
  return %o : tensor<?x?x4x16xf16>
}

// -----

// The cooperative-matrix prefill: SPIR-V 1.6 with CooperativeMatrixKHR, S = QKᵀ and PV as
// 16x16x16 f16 matrix products (K read column-major as the B operand) through workgroup memory;
// split-KV decode stays on the scalar kernel.
// CHECK: #spirv.vce<v1.6, [{{.*}}CooperativeMatrixKHR{{.*}}], [{{.*}}SPV_KHR_cooperative_matrix
// CHECK-LABEL: gpu.func @attn_main
// CHECK: gpu.subgroup_mma_load_matrix {{.*}} {leadDimension = 64 : index, transpose} : memref<{{[0-9]+}}xf16, 3> -> !gpu.mma_matrix<16x16xf16, "BOp">
// CHECK: gpu.subgroup_mma_compute {{.*}} -> !gpu.mma_matrix<16x16xf32, "COp">
// CHECK: gpu.subgroup_mma_store_matrix
// CHECK: math.exp
// CHECK: arith.truncf {{.*}} : f32 to f16
// CHECK: gpu.subgroup_mma_compute
// CHECK-LABEL: gpu.func @attn_decode
// CHECK-NOT: gpu.subgroup_mma
// CHECK-LABEL: gpu.func @attn_merge
func.func @attn(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) -> tensor<?x?x4x64xf16> {
  %o = attn.attention %q, %k, %v {causal, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32, coopmat = 1>} : tensor<?x?x4x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16> -> tensor<?x?x4x64xf16>
  return %o : tensor<?x?x4x64xf16>
}

// -----

// ALiBi slopes and sinks: two more f32 buffers after the lengths (in attn_main and attn_decode);
// the bias from integer positions, the sink folded into the row's state before its outputs.
// CHECK-LABEL: gpu.func @attn_main
// CHECK-SAME: memref<?xi32>, %[[ALIBI:arg[0-9]+]]: memref<?xf32>, %[[SINKS:arg[0-9]+]]: memref<?xf32>, %{{.*}}: memref<?xi32>
// CHECK: memref.load %[[ALIBI]]
// CHECK: arith.maxsi
// CHECK: arith.sitofp
// CHECK: memref.load %[[SINKS]]
// CHECK-LABEL: gpu.func @attn_decode
// CHECK-SAME: memref<?xi32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xf32>, %{{.*}}: memref<?xi32>
func.func @alibi_sinks(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %m: tensor<8xf32>, %s: tensor<8xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v alibi_slopes(%m : tensor<8xf32>) sinks(%s : tensor<8xf32>) {causal, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 8, block_k = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// A paged KV cache (pages of 16 keys): the staging loop reads each key's page from the block
// table (an i32 buffer after sinks, in attn_main and attn_decode alike), clamps it to the pages
// that exist, and addresses K/V by page and slot (key / 16, key % 16).
// CHECK-LABEL: gpu.func @attn_main
// CHECK-SAME: %arg9: memref<?xf32>, %arg10: memref<?xi32>, %arg11: memref<?xi32>)
// CHECK: memref.load %arg10
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK-LABEL: gpu.func @attn_decode
// CHECK: memref.load %arg9
// CHECK-LABEL: gpu.func @attn_merge
func.func @attn(%q: tensor<?x?x8x64xf32>, %k: tensor<?x16x2x64xf32>, %v: tensor<?x16x2x64xf32>, %t: tensor<?x?xi32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) {causal, attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 4, block_k = 32>} : tensor<?x?x8x64xf32>, tensor<?x16x2x64xf32>, tensor<?x16x2x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
