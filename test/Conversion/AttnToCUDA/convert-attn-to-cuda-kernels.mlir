// RUN: attn-opt %s --split-input-file --attn-configure-cuda --convert-attn-to-cuda-kernels | FileCheck %s

// f16 prefill on tensor cores: attn_main (4 warps), attn_decode (one warp per CTA over a KV
// split) and the shared SIMT merge, on bare-pointer buffers followed by the i64 launch
// parameters. Q/K/V reach shared memory through cp.async (16-byte chunks, zero-filled past the
// range), fragments through ldmatrix (V transposed), products through mma.sync; the dynamic
// shared memory is Q (64 x 136 halves) and two K/V stages (2 x 64 x (128 + 128 + 16) halves).
// CHECK-LABEL: gpu.module @attn_kernels
// CHECK: gpu.func @attn_main(%arg0: memref<1099511627776xf16>
// CHECK-SAME: i64) kernel attributes {attn.dynamic_shared_bytes = 87040 : i64, nvvm.maxntid = array<i32: 128, 1, 1>}
// CHECK: gpu.dynamic_shared_memory
// CHECK: nvgpu.device_async_copy {{.*}}, 8, %{{.*}} {bypassL1}
// CHECK: nvvm.cp.async.commit.group
// CHECK: scf.for
// CHECK: nvvm.cp.async.wait.group 1
// CHECK: gpu.barrier
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: llvm.inline_asm asm_dialect = att "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32
// CHECK: math.exp2
// CHECK: gpu.shuffle  xor
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// CHECK: gpu.func @attn_decode({{.*}} kernel attributes {attn.dynamic_shared_bytes = 73984 : i64, nvvm.maxntid = array<i32: 32, 1, 1>}
// CHECK: gpu.func @attn_merge({{.*}} kernel attributes {attn.dynamic_shared_bytes = 0 : i64, nvvm.maxntid = array<i32: 128, 1, 1>}
// CHECK-NOT: func.func
func.func @attn(%q: tensor<?x?x8x128xf16>, %k: tensor<?x?x2x128xf16>, %v: tensor<?x?x2x128xf16>) -> tensor<?x?x8x128xf16> {
  %o = attn.attention %q, %k, %v {causal} : tensor<?x?x8x128xf16>, tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16> -> tensor<?x?x8x128xf16>
  return %o : tensor<?x?x8x128xf16>
}

// -----

// bf16 goes through the PTX instruction as well (MLIR 19's mma.sync cannot type bf16); entropy
// does not merge, so there is no decode kernel.
// CHECK-LABEL: gpu.module @attn_kernels
// CHECK: gpu.func @attn_main
// CHECK: llvm.inline_asm asm_dialect = att "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: math.tanh
// CHECK: arith.truncf {{.*}} : f32 to bf16
// CHECK-NOT: gpu.func @attn_decode
func.func @attn(%q: tensor<?x?x4x64xbf16>, %k: tensor<?x?x4x64xbf16>, %v: tensor<?x?x4x64xbf16>) -> (tensor<?x?x4x64xbf16>, tensor<?x4x?xf32>, tensor<?x4x?xf32>) {
  %o:3 = attn.attention %q, %k, %v {softcap = 30.0 : f64, return_lse, return_entropy} : tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16>, tensor<?x?x4x64xbf16> -> tensor<?x?x4x64xbf16>, tensor<?x4x?xf32>, tensor<?x4x?xf32>
  return %o#0, %o#1, %o#2 : tensor<?x?x4x64xbf16>, tensor<?x4x?xf32>, tensor<?x4x?xf32>
}

// -----

// f32: the SIMT kernels every GPU target shares, with warp-shuffle reductions for CUDA (no
// gpu.subgroup_reduce, which does not lower to NVVM) and shared memory carved from the dynamic
// shared memory.
// CHECK-LABEL: gpu.module @attn_kernels
// CHECK: gpu.func @attn_main(%arg0: memref<1099511627776xf32>
// CHECK-SAME: kernel attributes {attn.dynamic_shared_bytes = 36992 : i64, nvvm.maxntid = array<i32: 256, 1, 1>}
// CHECK-NOT: gpu.subgroup_reduce
// CHECK: gpu.shuffle  xor
// CHECK: gpu.func @attn_decode
// CHECK: gpu.func @attn_merge
func.func @attn(%q: tensor<?x?x8x128xf32>, %k: tensor<?x?x8x128xf32>, %v: tensor<?x?x8x128xf32>) -> tensor<?x?x8x128xf32> {
  %o = attn.attention %q, %k, %v : tensor<?x?x8x128xf32>, tensor<?x?x8x128xf32>, tensor<?x?x8x128xf32> -> tensor<?x?x8x128xf32>
  return %o : tensor<?x?x8x128xf32>
}

// -----

// CHECK-LABEL: gpu.module @attn_kernels
// CHECK: gpu.func @attn_linear
func.func @attn(%q: tensor<?x?x4x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) -> tensor<?x?x4x64xf16> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x4x64xf16>
  return %o : tensor<?x?x4x64xf16>
}
