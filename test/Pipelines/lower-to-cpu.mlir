// RUN: attn-opt %s --split-input-file "--attn-lower-to-cpu=target=x86-64-v4 vector-width=16" | FileCheck %s

// The whole CPU pipeline: only LLVM dialect remains, with the C-interface wrappers the runtime
// calls, 512-bit FMAs, and no libm call for exp.
// CHECK: llvm.func @attn_main
// CHECK: llvm.intr.fma({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>) -> vector<16xf32>
// CHECK: llvm.func @_mlir_ciface_attn_main
// CHECK: llvm.func @_mlir_ciface_attn_decode
// CHECK: llvm.func @_mlir_ciface_attn_merge
// CHECK-NOT: expf
// CHECK-NOT: attn.
func.func @attn(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>) -> tensor<?x?x8x64xbf16> {
  %o = attn.attention %q, %k, %v {window = array<i64: 128, 0>, global_tokens = 4 : i64, softcap = 30.0 : f64} : tensor<?x?x8x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16> -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}

// -----

// CHECK: llvm.func @_mlir_ciface_attn_linear
func.func @attn(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x4x32xf32>, %v: tensor<?x?x4x32xf32>) -> tensor<?x?x4x32xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32> -> tensor<?x?x4x32xf32>
  return %o : tensor<?x?x4x32xf32>
}
