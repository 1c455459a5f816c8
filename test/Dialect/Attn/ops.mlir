// RUN: attn-opt %s --split-input-file | FileCheck %s
// Round trip: the printed form parses back to the same op.
// RUN: attn-opt %s --split-input-file | attn-opt --split-input-file | FileCheck %s

// CHECK-LABEL: func.func @dense
func.func @dense(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// CHECK-LABEL: func.func @causal_f16_scale
func.func @causal_f16_scale(%q: tensor<2x128x4x128xf16>, %k: tensor<2x256x4x128xf16>, %v: tensor<2x256x4x128xf16>) -> tensor<2x128x4x128xf16> {
  // CHECK: attn.attention %{{.*}} {causal, scale = 1.250000e-01 : f64}
  %o = attn.attention %q, %k, %v {causal, scale = 0.125 : f64} : tensor<2x128x4x128xf16>, tensor<2x256x4x128xf16>, tensor<2x256x4x128xf16> -> tensor<2x128x4x128xf16>
  return %o : tensor<2x128x4x128xf16>
}

// -----

// Sliding window (Mistral) with attention sinks.
// CHECK-LABEL: func.func @sliding_window_globals
func.func @sliding_window_globals(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) -> tensor<?x?x8x64xbf16> {
  // CHECK: attn.attention %{{.*}} {causal, global_tokens = 4 : i64, window = array<i64: 511, -1>}
  %o = attn.attention %q, %k, %v {causal, window = array<i64: 511, -1>, global_tokens = 4 : i64} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}

// -----

// Longformer-style symmetric band.
// CHECK-LABEL: func.func @symmetric_band
func.func @symmetric_band(%q: tensor<1x?x2x32xf32>, %k: tensor<1x?x2x32xf32>, %v: tensor<1x?x2x32xf32>) -> tensor<1x?x2x32xf32> {
  // CHECK: attn.attention %{{.*}} {window = array<i64: 256, 256>}
  %o = attn.attention %q, %k, %v {window = array<i64: 256, 256>} : tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32>, tensor<1x?x2x32xf32> -> tensor<1x?x2x32xf32>
  return %o : tensor<1x?x2x32xf32>
}

// -----

// Grouped-query (32 query heads over 8 kv heads), softcap, Dv != D, varlen, LSE and entropy.
// CHECK-LABEL: func.func @gqa_softcap_varlen_stats
func.func @gqa_softcap_varlen_stats(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x64xbf16>, %lq: tensor<?xi32>, %lkv: tensor<?xi32>) -> (tensor<?x?x32x64xbf16>, tensor<?x32x?xf32>, tensor<?x32x?xf32>) {
  // CHECK: %{{.*}}, %{{.*}}:2 = attn.attention %{{.*}}, %{{.*}}, %{{.*}} seqlens_q(%{{.*}} : tensor<?xi32>) seqlens_kv(%{{.*}} : tensor<?xi32>) {return_entropy, return_lse, softcap = 5.000000e+01 : f64}
  // CHECK-SAME: -> tensor<?x?x32x64xbf16>, tensor<?x32x?xf32>, tensor<?x32x?xf32>
  %o:3 = attn.attention %q, %k, %v seqlens_q(%lq : tensor<?xi32>) seqlens_kv(%lkv : tensor<?xi32>) {softcap = 50.0 : f64, return_lse, return_entropy} : tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x32x64xbf16>, tensor<?x32x?xf32>, tensor<?x32x?xf32>
  return %o#0, %o#1, %o#2 : tensor<?x?x32x64xbf16>, tensor<?x32x?xf32>, tensor<?x32x?xf32>
}

// -----

// Multi-query decode against a KV cache: one query row, one kv head, entropy only.
// CHECK-LABEL: func.func @mqa_decode_entropy
func.func @mqa_decode_entropy(%q: tensor<?x1x16x96xf16>, %k: tensor<?x?x1x96xf16>, %v: tensor<?x?x1x96xf16>, %lkv: tensor<?xi32>) -> (tensor<?x1x16x96xf16>, tensor<?x16x1xf32>) {
  // CHECK: attn.attention %{{.*}} seqlens_kv(%{{.*}} : tensor<?xi32>) {return_entropy}
  %o, %h = attn.attention %q, %k, %v seqlens_kv(%lkv : tensor<?xi32>) {return_entropy} : tensor<?x1x16x96xf16>, tensor<?x?x1x96xf16>, tensor<?x?x1x96xf16> -> tensor<?x1x16x96xf16>, tensor<?x16x1xf32>
  return %o, %h : tensor<?x1x16x96xf16>, tensor<?x16x1xf32>
}

// -----

// CHECK-LABEL: func.func @linear
func.func @linear(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x80xf32>) -> (tensor<?x?x8x80xf32>, tensor<?x?x8x80xf32>, tensor<?x?x8x80xf32>) {
  // CHECK: attn.linear_attention %{{.*}} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x80xf32> -> tensor<?x?x8x80xf32>
  %a = attn.linear_attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x80xf32> -> tensor<?x?x8x80xf32>
  // CHECK: attn.linear_attention %{{.*}} {causal, feature_map = #attn<feature_map relu>, normalize = false}
  %b = attn.linear_attention %q, %k, %v {causal, feature_map = #attn<feature_map relu>, normalize = false} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x80xf32> -> tensor<?x?x8x80xf32>
  // CHECK: attn.linear_attention %{{.*}} {feature_map = #attn<feature_map identity>, scale = 5.000000e-01 : f64}
  %c = attn.linear_attention %q, %k, %v {feature_map = #attn<feature_map identity>, scale = 0.5 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x80xf32> -> tensor<?x?x8x80xf32>
  return %a, %b, %c : tensor<?x?x8x80xf32>, tensor<?x?x8x80xf32>, tensor<?x?x8x80xf32>
}

// -----

// One K/V tile folded into the running state, then finalized.
// CHECK-LABEL: func.func @online_then_finalize
func.func @online_then_finalize(%q: tensor<1x128x8x64xf16>, %k: tensor<1x64x8x64xf16>, %v: tensor<1x64x8x64xf16>, %acc: tensor<1x128x8x64xf32>, %m: tensor<1x8x128xf32>, %l: tensor<1x8x128xf32>, %qp: index, %kp: index) -> (tensor<1x128x8x64xf16>, tensor<1x8x128xf32>) {
  // CHECK: %[[A:.+]], %[[M:.+]], %[[L:.+]] = attn.online_attention %{{.*}}, %{{.*}}, %{{.*}} into %{{.*}}, %{{.*}}, %{{.*}} positions(%{{.*}}, %{{.*}}) {causal}
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %acc, %m, %l positions(%qp, %kp) {causal} : (tensor<1x128x8x64xf16>, tensor<1x64x8x64xf16>, tensor<1x64x8x64xf16>, tensor<1x128x8x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32>, index, index) -> (tensor<1x128x8x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32>)
  // CHECK: attn.finalize %[[A]], %[[M]], %[[L]] :
  %o, %lse = attn.finalize %a1, %m1, %l1 : (tensor<1x128x8x64xf32>, tensor<1x8x128xf32>, tensor<1x8x128xf32>) -> (tensor<1x128x8x64xf16>, tensor<1x8x128xf32>)
  return %o, %lse : tensor<1x128x8x64xf16>, tensor<1x8x128xf32>
}

// -----

// The online form tracking entropy, without positions (the whole problem).
// CHECK-LABEL: func.func @online_entropy
func.func @online_entropy(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x4x32xf32>, %v: tensor<?x?x4x32xf32>, %acc: tensor<?x?x4x32xf32>, %m: tensor<?x4x?xf32>, %l: tensor<?x4x?xf32>, %t: tensor<?x4x?xf32>) -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>) {
  // CHECK: attn.online_attention %{{.*}} into %{{.*}}, %{{.*}}, %{{.*}}, score_sum %{{.*}} {softcap = 3.000000e+01 : f64, window = array<i64: 8, 8>}
  %a1, %m1, %l1, %t1 = attn.online_attention %q, %k, %v into %acc, %m, %l, score_sum %t {window = array<i64: 8, 8>, softcap = 30.0 : f64} : (tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>) -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  // CHECK: attn.finalize %{{.*}}, score_sum %{{.*}} :
  %o, %lse, %h = attn.finalize %a1, %m1, %l1, score_sum %t1 : (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>) -> (tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>)
  return %o, %lse, %h : tensor<?x?x4x32xf32>, tensor<?x4x?xf32>, tensor<?x4x?xf32>
}

// -----

// Split-KV decode: four partial results merged by their LSE.
// CHECK-LABEL: func.func @merge
func.func @merge(%parts: tensor<4x?x1x32x128xf32>, %lses: tensor<4x?x32x1xf32>) -> (tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>) {
  // CHECK: attn.merge %{{.*}}, %{{.*}} : tensor<4x?x1x32x128xf32>, tensor<4x?x32x1xf32> -> tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
  %o, %lse = attn.merge %parts, %lses : tensor<4x?x1x32x128xf32>, tensor<4x?x32x1xf32> -> tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
  return %o, %lse : tensor<?x1x32x128xbf16>, tensor<?x32x1xf32>
}

// -----

// A paged KV cache: pages of 16 keys addressed by a block table, with the sequences' lengths.
// CHECK-LABEL: func.func @paged_decode
func.func @paged_decode(%q: tensor<?x1x8x64xbf16>, %k: tensor<?x16x2x64xbf16>, %v: tensor<?x16x2x64xbf16>, %lkv: tensor<?xi32>, %table: tensor<?x?xi32>) -> tensor<?x1x8x64xbf16> {
  // CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} seqlens_kv(%{{.*}} : tensor<?xi32>) block_table(%{{.*}} : tensor<?x?xi32>) {causal}
  // CHECK-SAME: tensor<?x16x2x64xbf16>
  %o = attn.attention %q, %k, %v seqlens_kv(%lkv : tensor<?xi32>) block_table(%table : tensor<?x?xi32>) {causal} : tensor<?x1x8x64xbf16>, tensor<?x16x2x64xbf16>, tensor<?x16x2x64xbf16> -> tensor<?x1x8x64xbf16>
  return %o : tensor<?x1x8x64xbf16>
}

// -----

// Per-head ALiBi slopes and sink logits (gpt-oss), given at launch.
// CHECK-LABEL: func.func @alibi_sinks
func.func @alibi_sinks(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %m: tensor<8xf32>, %s: tensor<8xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x?xf32>) {
  // CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} alibi_slopes(%{{.*}} : tensor<8xf32>) sinks(%{{.*}} : tensor<8xf32>) {causal, return_lse}
  %o, %lse = attn.attention %q, %k, %v alibi_slopes(%m : tensor<8xf32>) sinks(%s : tensor<8xf32>) {causal, return_lse} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
}
