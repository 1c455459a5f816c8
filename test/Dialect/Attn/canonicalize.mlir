// RUN: attn-opt %s --split-input-file --canonicalize --cse | FileCheck %s

// An unbounded band is dense.
// CHECK-LABEL: func.func @unbounded_band_is_dense
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor
func.func @unbounded_band_is_dense(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {window = array<i64: -1, -1>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// Band (-1, 0) is causal.
// CHECK-LABEL: func.func @band_minus1_0_is_causal
// CHECK: attn.attention %{{.*}} {causal} :
func.func @band_minus1_0_is_causal(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {window = array<i64: -1, 0>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// A band with right bound 0 is a causal sliding window.
// CHECK-LABEL: func.func @band_right_0_is_causal_window
// CHECK: attn.attention %{{.*}} {causal, window = array<i64: 127, -1>} :
func.func @band_right_0_is_causal_window(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {window = array<i64: 127, 0>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// Causal already bounds the right side: a right bound next to it is dropped, and an unbounded left
// leaves plain causal.
// CHECK-LABEL: func.func @causal_drops_right_bound
// CHECK: attn.attention %{{.*}} {causal, window = array<i64: 64, -1>} :
// CHECK: attn.attention %{{.*}} {causal} :
func.func @causal_drops_right_bound(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %a = attn.attention %q, %k, %v {causal, window = array<i64: 64, 32>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %b = attn.attention %q, %k, %v {causal, window = array<i64: -1, 5>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %a, %b : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// -----

// Zero global tokens are dropped; so are global tokens with no finite band to widen.
// CHECK-LABEL: func.func @global_tokens
// CHECK: attn.attention %{{.*}} {window = array<i64: 16, 16>} :
// CHECK: attn.attention %{{.*}} {causal} :
// CHECK: attn.attention %{{.*}} {global_tokens = 4 : i64, window = array<i64: 16, 16>} :
func.func @global_tokens(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %a = attn.attention %q, %k, %v {window = array<i64: 16, 16>, global_tokens = 0 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %b = attn.attention %q, %k, %v {causal, global_tokens = 4 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %c = attn.attention %q, %k, %v {window = array<i64: 16, 16>, global_tokens = 4 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %a, %b, %c : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// -----

// The default scale 1/sqrt(64) = 0.125 is implicit; any other scale stays.
// CHECK-LABEL: func.func @default_scale
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor
// CHECK: attn.attention %{{.*}} {scale = 2.500000e-01 : f64} :
func.func @default_scale(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %a = attn.attention %q, %k, %v {scale = 0.125 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %b = attn.attention %q, %k, %v {scale = 0.25 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %a, %b : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// -----

// Already canonical variants are left alone (and an unused op is not the point: keep results live).
// CHECK-LABEL: func.func @canonical_is_fixed_point
// CHECK: attn.attention %{{.*}} {causal, global_tokens = 4 : i64, softcap = 3.000000e+01 : f64, window = array<i64: 511, -1>} :
// CHECK: attn.attention %{{.*}} {window = array<i64: -1, 8>} :
func.func @canonical_is_fixed_point(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) -> (tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>) {
  %a = attn.attention %q, %k, %v {causal, window = array<i64: 511, -1>, global_tokens = 4 : i64, softcap = 30.0 : f64} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  %b = attn.attention %q, %k, %v {window = array<i64: -1, 8>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return %a, %b : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>
}

// -----

// Two spellings of one meaning become the same op, so CSE merges them.
// CHECK-LABEL: func.func @one_form_per_meaning
// CHECK: %[[O:.+]] = attn.attention %{{.*}} {causal, window = array<i64: 255, -1>}
// CHECK-NOT: attn.attention
// CHECK: return %[[O]], %[[O]]
func.func @one_form_per_meaning(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %a = attn.attention %q, %k, %v {window = array<i64: 255, 0>, scale = 0.125 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %b = attn.attention %q, %k, %v {causal, window = array<i64: 255, 100>, global_tokens = 0 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %a, %b : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}

// -----

// The online form shares the mask canonicalization.
// CHECK-LABEL: func.func @online_form
// CHECK: attn.online_attention %{{.*}} {causal}
func.func @online_form(%q: tensor<1x4x2x32xf32>, %k: tensor<1x8x2x32xf32>, %v: tensor<1x8x2x32xf32>, %a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) {
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %a, %m, %l {window = array<i64: -1, 0>, global_tokens = 2 : i64} : (tensor<1x4x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return %a1, %m1, %l1 : tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>
}

// -----

// Linear attention's default scale is 1.
// CHECK-LABEL: func.func @linear_scale
// CHECK: attn.linear_attention %{{.*}} {causal} :
// CHECK: attn.linear_attention %{{.*}} {scale = 5.000000e-01 : f64} :
func.func @linear_scale(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>) {
  %a = attn.linear_attention %q, %k, %v {causal, scale = 1.0 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %b = attn.linear_attention %q, %k, %v {scale = 0.5 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %a, %b : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>
}
