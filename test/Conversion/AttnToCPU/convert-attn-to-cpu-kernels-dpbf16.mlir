// RUN: attn-opt %s --convert-attn-to-cpu-kernels | FileCheck %s
// RUN: attn-opt %s --attn-lower-to-cpu=target=znver4 | FileCheck %s --check-prefix=LLVM

// dpbf16 = 1, prefill: both products run VDPBF16PS in the vector kernel's register blocks. Q·K
// broadcasts one 32-bit pair of head dims of a K row (read in place, no f32 copy of the tile)
// against the queries packed as pairs; the probabilities are rounded to bf16 as pairs of keys
// per query, and P·V broadcasts the tile's V rows packed as pairs of keys.
// CHECK-LABEL: func.func @attn_main
// CHECK-NOT: arith.extf {{.*}}vector<16xbf16> to vector<16xf32>
// CHECK: vector.load %arg1{{.*}} : memref<?x?x?x?xbf16, strided<[?, ?, ?, 1], offset: ?>>, vector<2xbf16>
// CHECK-NEXT: vector.bitcast %{{.*}} : vector<2xbf16> to vector<1xi32>
// CHECK-NEXT: vector.extract
// CHECK-NEXT: vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK-NEXT: vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK-NEXT: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: memref.load %{{.*}} : memref<4096xi32>
// CHECK-NEXT: vector.broadcast %{{.*}} : i32 to vector<16xi32>
// CHECK-NEXT: vector.bitcast %{{.*}} : vector<16xi32> to vector<32xbf16>
// CHECK-NEXT: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
// dpbf16 = 1, decode: Q·K runs VDPBF16PS on the raw bf16 rows (32 lanes of pairs, no conversion
// of K; the scale multiplies the sums), and prefetches the K and V lines of the key 16 ahead.
// CHECK-LABEL: func.func @attn_decode
// CHECK: memref.prefetch
// CHECK: vector.load %{{.*}} : memref<?x?x?x?xbf16, strided<[?, ?, ?, 1], offset: ?>>, vector<32xbf16>
// CHECK: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xf32>, vector<32xbf16>, vector<32xbf16>) -> vector<16xf32>
// CHECK: vector.reduction <add>
// CHECK-LABEL: func.func @attn_merge
// The manifest's cpu_features names AVX512-BF16 (ATTN_KERNEL_MANIFEST_CPU_AVX512BF16 = 2).
// CHECK: llvm.mlir.global external constant @attn_kernel_manifest("ATTNMNFT\07{{.*}}\00\02\00\00\00\02\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")

// LLVM: llvm.call_intrinsic "llvm.x86.avx512bf16.dpbf16ps.512"
func.func @attn(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, dpbf16 = 1>} : tensor<?x?x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}

