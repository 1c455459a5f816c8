// RUN: attn-opt %s --split-input-file --convert-attn-to-cpu-kernels -verify-diagnostics | FileCheck %s

// Softmax attention becomes three C-interface entry points (main, decode, merge) on strided memrefs; the problem
// function is gone. f16 K/V tiles are converted to f32 once per tile; the score micro-kernel
// keeps 6 keys x 4 query vectors = 24 accumulators in registers across the head dim. Scratch
// buffers are on the stack (no heap allocation per work item).
// CHECK-LABEL: func.func @attn_main
// CHECK-SAME: memref<?x?x?x?xf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK-SAME: %{{.*}}: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-SAME: %{{.*}}: memref<?xi64, strided<[?], offset: ?>>) attributes {llvm.emit_c_interface}
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<32x64xf32>
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK-NOT: memref.alloc()
// CHECK: arith.extf %{{.*}} : vector<16xf16> to vector<16xf32>
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-24: vector.fma
// Causal masking on boundary tiles only: key <= position.
// CHECK: scf.if
// CHECK: arith.cmpi sle, %{{.*}}, %{{.*}} : vector<16xi32>
// CHECK: math.exp %{{.*}} : vector<16xf32>
// CHECK: math.log
// CHECK: arith.truncf %{{.*}} : f32 to f16
// The decode kernel: vectorized along the head dim, a horizontal add per query row, f32 partials.
// CHECK-LABEL: func.func @attn_decode
// CHECK-SAME: memref<?x?x?x?xf32, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: vector.reduction <add>, %{{.*}} : vector<16xf32> into f32
// CHECK: vector.reduction <maxnumf>
// CHECK-LABEL: func.func @attn_merge
// CHECK: math.exp
// CHECK: vector.fma
// CHECK-NOT: func.func @attn(
// The code's manifest (attn_kernel_manifest.h): magic, version 6, 184 bytes, ...
// CHECK: llvm.mlir.global external constant @attn_kernel_manifest("ATTNMNFT\07\00\00\00\C0\00{{.*}}") {{{.*}}alignment = 8 : i64}
func.func @attn(%q: tensor<?x?x2x32xf16>, %k: tensor<?x?x1x32xf16>, %v: tensor<?x?x1x32xf16>) -> (tensor<?x?x2x32xf16>, tensor<?x2x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {causal, return_lse, attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 64, vector_width = 16>} : tensor<?x?x2x32xf16>, tensor<?x?x1x32xf16>, tensor<?x?x1x32xf16> -> tensor<?x?x2x32xf16>, tensor<?x2x?xf32>
  return %o, %lse : tensor<?x?x2x32xf16>, tensor<?x2x?xf32>
}

// -----

// Dense f32: K/V are read in place (no conversion), and there is no masking at all.
// CHECK-LABEL: func.func @attn_main
// CHECK-NOT: arith.extf
// CHECK-NOT: vector<16xi32>
// CHECK: vector.fma
// CHECK-LABEL: func.func @attn_decode
func.func @attn(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>} : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  return %o : tensor<?x?x4x64xf32>
}

// -----

// Linear attention: one entry point, the state kept in a D x Dv scratch buffer.
// CHECK-LABEL: func.func @attn_linear
// CHECK: memref.alloca() {alignment = 64 : i64} : memref<64x32xf32>
// CHECK: vector.fma
// CHECK-NOT: func.func @attn_main
func.func @attn(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x32xf32>) -> tensor<?x?x4x32xf32> {
  %o = attn.linear_attention %q, %k, %v {causal, attn.cpu_config = #attn.cpu_config<block_q = 1, block_k = 64, vector_width = 16>} : tensor<?x?x4x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x32xf32> -> tensor<?x?x4x32xf32>
  return %o : tensor<?x?x4x32xf32>
}

// -----

func.func @attn(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32> {
  // expected-error @+1 {{has no valid 'attn.cpu_config' attribute: run attn-configure-cpu first}}
  %o = attn.attention %q, %k, %v : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  return %o : tensor<?x?x4x64xf32>
}

// -----

func.func @attn(%q: tensor<?x?x4x40xf32>, %k: tensor<?x?x4x40xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32> {
  // expected-error @+1 {{the CPU backend needs the head dim (40) to be a multiple of the vector width (16)}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>} : tensor<?x?x4x40xf32>, tensor<?x?x4x40xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  return %o : tensor<?x?x4x64xf32>
}

// -----

func.func @attn(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> (tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>) {
  %a = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>} : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  // expected-error @+1 {{a problem module holds one attention op; found 2}}
  %b = attn.attention %q, %k, %v {causal, attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>} : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  return %a, %b : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>
}

// -----

// attn.merge on its own lowers to the merge entry point: bf16 parts converted on load, f16 output.
// CHECK-LABEL: func.func @attn_merge
// CHECK-SAME: memref<?x?x?x?xbf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK-SAME: memref<?x?x?x?xf16, strided<[?, ?, ?, 1], offset: ?>>
// CHECK: math.exp
// CHECK: arith.extf %{{.*}} : vector<16xbf16> to vector<16xf32>
// CHECK: vector.fma
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xf16>
// CHECK: math.log
// CHECK-NOT: func.func @merge
func.func @merge(%parts: tensor<?x?x?x8x64xbf16>, %lses: tensor<?x?x8x?xf32>) -> (tensor<?x?x8x64xf16>, tensor<?x8x?xf32>) {
  %o, %lse = attn.merge %parts, %lses {attn.cpu_config = #attn.cpu_config<block_q = 1, block_k = 64, vector_width = 16>} : tensor<?x?x?x8x64xbf16>, tensor<?x?x8x?xf32> -> tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xf16>, tensor<?x8x?xf32>
}

// -----

// Scratch past 512 KiB per function (a GQA group of 256 rows at D = Dv = 256: 256 KiB of queries
// and as much of output accumulators) moves to the heap: allocated at the entry, freed at the end.
// CHECK-LABEL: func.func @attn_main
// CHECK-NOT: memref.alloca
// CHECK: memref.alloc() {alignment = 64 : i64} : memref<256x256xf32>
// CHECK: memref.dealloc
// CHECK-NEXT: memref.dealloc
// CHECK: return
// CHECK-LABEL: func.func @attn_decode
func.func @attn(%q: tensor<?x?x256x256xf32>, %k: tensor<?x?x1x256xf32>, %v: tensor<?x?x1x256xf32>) -> tensor<?x?x256x256xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 1, block_k = 64, vector_width = 16>} : tensor<?x?x256x256xf32>, tensor<?x?x1x256xf32>, tensor<?x?x1x256xf32> -> tensor<?x?x256x256xf32>
  return %o : tensor<?x?x256x256xf32>
}
