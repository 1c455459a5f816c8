// RUN: attn-opt %s --split-input-file "--attn-configure-cpu=target=x86-64-v4 vector-width=16" | FileCheck %s
// RUN: attn-opt %s --split-input-file "--attn-configure-cpu=target=x86-64-v3 vector-width=8" | FileCheck %s --check-prefix=AVX2

// MHA: four vectors of query rows per work item.
// CHECK-LABEL: func.func @mha
// CHECK: attn.config_source = "heuristic", attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>
// AVX2-LABEL: func.func @mha
// AVX2: attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 64, vector_width = 8>
func.func @mha(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {causal} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// GQA 32/4: the 8 query heads of a group share the rows of an item.
// CHECK-LABEL: func.func @gqa
// CHECK: attn.cpu_config = #attn.cpu_config<block_q = 8, block_k = 64, vector_width = 16>
func.func @gqa(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x4x128xbf16>, %v: tensor<?x?x4x128xbf16>) -> tensor<?x?x32x128xbf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x32x128xbf16>, tensor<?x?x4x128xbf16>, tensor<?x?x4x128xbf16> -> tensor<?x?x32x128xbf16>
  return %o : tensor<?x?x32x128xbf16>
}

// -----

// A configuration already present (from tuning or by hand) is kept, and not called heuristic.
// CHECK-LABEL: func.func @preconfigured
// CHECK-NOT: attn.config_source
// CHECK: {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 32, vector_width = 16>}
func.func @preconfigured(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 32, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @linear
// CHECK: attn.linear_attention {{.*}}attn.cpu_config = #attn.cpu_config<block_q = 1, block_k = 16, vector_width = 16>
func.func @linear(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @merge
// CHECK: attn.merge {{.*}}attn.cpu_config = #attn.cpu_config<block_q = 1, block_k = 64, vector_width = 16>
func.func @merge(%parts: tensor<4x?x1x8x64xf32>, %lses: tensor<4x?x8x1xf32>) -> (tensor<?x1x8x64xf32>, tensor<?x8x1xf32>) {
  %o, %lse = attn.merge %parts, %lses : tensor<4x?x1x8x64xf32>, tensor<4x?x8x1xf32> -> tensor<?x1x8x64xf32>, tensor<?x8x1xf32>
  return %o, %lse : tensor<?x1x8x64xf32>, tensor<?x8x1xf32>
}
