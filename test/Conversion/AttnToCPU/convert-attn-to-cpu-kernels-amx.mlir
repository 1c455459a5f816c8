// RUN: attn-opt %s --convert-attn-to-cpu-kernels | FileCheck %s
// RUN: attn-opt %s --attn-lower-to-cpu=target=sapphirerapids | FileCheck %s --check-prefix=LLVM

// amx = 1: both products of the prefill kernel on AMX tiles, with Qᵀ (once per item) and P in
// the pairs-of-rows B layout; V interleaved by pairs of keys, then transposed by shuffles.
// CHECK-LABEL: func.func @attn_main
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<64x256xbf16>
// CHECK-DAG: memref.alloca() {alignment = 64 : i64} : memref<64x128xbf16>
// CHECK-DAG: memref.view %{{.*}}[%{{.*}}][] : memref<{{[0-9]+}}xi8> to memref<128x64xbf16>
// CHECK: amx.tile_load %{{.*}} : memref<64x128xbf16> into vector<16x32xbf16>
// CHECK: amx.tile_mulf %{{.*}} : vector<16x32xbf16>, vector<16x32xbf16>, vector<16x16xf32>
// CHECK: amx.tile_store %{{.*}} : memref<64x128xf32>, vector<16x16xf32>
// CHECK: arith.truncf %{{.*}} : vector<16xf32> to vector<16xbf16>
// CHECK: amx.tile_mulf
// CHECK-LABEL: func.func @attn_decode
// CHECK-NOT: amx.
// CHECK-LABEL: func.func @attn_merge
// The manifest's cpu_features names AMX (ATTN_KERNEL_MANIFEST_CPU_AMX, after split_keys), its
// config_source says the configuration was given in the input (ATTN_CONFIG_GIVEN = 2).
// CHECK: llvm.mlir.global external constant @attn_kernel_manifest("ATTNMNFT\07{{.*}}\00\01\00\00\00\02\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00\00")

// LLVM: amx.tdpbf16ps
// LLVM: amx.tileloadd64
// LLVM: amx.tilestored64
func.func @attn(%q: tensor<?x?x4x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x?x4x128xbf16> {
  %o = attn.attention %q, %k, %v {causal, attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16, amx = 1>} : tensor<?x?x4x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x?x4x128xbf16>
  return %o : tensor<?x?x4x128xbf16>
}
