// RUN: attn-opt %s --split-input-file --verify-diagnostics

func.func @query_rank(%q: tensor<?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{query must be a rank-4 tensor [B, Sq, Hq, D], got 'tensor<?x8x64xf32>'}}
  %o = attn.attention %q, %k, %v : tensor<?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @key_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64x1xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{key must be a rank-4 tensor [B, Skv, Hkv, D]}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64x1xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @value_rank(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<64xf32>) {
  // expected-error @+1 {{value must be a rank-4 tensor [B, Skv, Hkv, Dv]}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @head_dim_mismatch(%q: tensor<?x?x8x128xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{key head dim 64 does not match query head dim 128}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x128xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @output_head_dim_mismatch(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x80xf32>) {
  // expected-error @+1 {{output value head dim (dim 3) is 64, expected 80}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x80xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @gqa_not_divisible(%q: tensor<?x?x6x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{query heads 6 must be a multiple of kv heads 4 (grouped-query attention)}}
  %o = attn.attention %q, %k, %v : tensor<?x?x6x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x6x64xf32>
  return
}

// -----

func.func @kv_heads_mismatch(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{value heads 2 do not match key heads 4}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @dtype_mismatch(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xf16>) {
  // expected-error @+1 {{key element type 'bf16' does not match query element type 'f16'}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @output_dtype_mismatch(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>) {
  // expected-error @+1 {{output element type must be 'f16', got 'f32'}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @unsupported_dtype(%q: tensor<?x?x8x64xf64>, %k: tensor<?x?x8x64xf64>, %v: tensor<?x?x8x64xf64>) {
  // expected-error @+1 {{query element type must be f32, f16 or bf16, got 'f64'}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf64>, tensor<?x?x8x64xf64>, tensor<?x?x8x64xf64> -> tensor<?x?x8x64xf64>
  return
}

// -----

func.func @dynamic_head_dim(%q: tensor<?x?x8x?xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{query head dim must be static (dim 3)}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x?xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @dynamic_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x?x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{key heads must be static (dim 2)}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x?x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @head_dim_too_large(%q: tensor<?x?x1x1024xf32>, %k: tensor<?x?x1x1024xf32>, %v: tensor<?x?x1x64xf32>) {
  // expected-error @+1 {{head dims above 512 are not supported, got D = 1024, Dv = 64}}
  %o = attn.attention %q, %k, %v : tensor<?x?x1x1024xf32>, tensor<?x?x1x1024xf32>, tensor<?x?x1x64xf32> -> tensor<?x?x1x64xf32>
  return
}

// -----

func.func @batch_mismatch(%q: tensor<2x?x8x64xf32>, %k: tensor<3x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{key batch 3 does not match query batch 2}}
  %o = attn.attention %q, %k, %v : tensor<2x?x8x64xf32>, tensor<3x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<2x?x8x64xf32>
  return
}

// -----

func.func @kv_length_mismatch(%q: tensor<1x?x8x64xf32>, %k: tensor<1x100x8x64xf32>, %v: tensor<1x99x8x64xf32>) {
  // expected-error @+1 {{value length 99 does not match key length 100}}
  %o = attn.attention %q, %k, %v : tensor<1x?x8x64xf32>, tensor<1x100x8x64xf32>, tensor<1x99x8x64xf32> -> tensor<1x?x8x64xf32>
  return
}

// -----

func.func @output_length_mismatch(%q: tensor<1x16x8x64xf32>, %k: tensor<1x?x8x64xf32>, %v: tensor<1x?x8x64xf32>) {
  // expected-error @+1 {{output query length (dim 1) is 32, expected 16}}
  %o = attn.attention %q, %k, %v : tensor<1x16x8x64xf32>, tensor<1x?x8x64xf32>, tensor<1x?x8x64xf32> -> tensor<1x32x8x64xf32>
  return
}

// -----

func.func @window_bound(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{window left bound must be >= 0, or -1 for unbounded, got -2}}
  %o = attn.attention %q, %k, %v {window = array<i64: -2, 0>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @window_right_bound(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{window right bound must be >= 0, or -1 for unbounded, got -5}}
  %o = attn.attention %q, %k, %v {window = array<i64: 16, -5>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @window_arity(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{window must hold two bounds [left, right], got 3}}
  %o = attn.attention %q, %k, %v {window = array<i64: 1, 2, 3>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @softcap_zero(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{softcap must be finite and > 0, got 0.000000e+00 (omit it for no softcap)}}
  %o = attn.attention %q, %k, %v {softcap = 0.0 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @softcap_negative(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{softcap must be finite and > 0, got -3.000000e+01}}
  %o = attn.attention %q, %k, %v {softcap = -30.0 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @scale_inf(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{scale must be finite, got INF}}
  %o = attn.attention %q, %k, %v {scale = 0x7FF0000000000000 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @scale_nan(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{scale must be finite, got nan}}
  %o = attn.attention %q, %k, %v {scale = 0x7FF8000000000000 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @global_tokens_negative(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{global_tokens must be in [0, 2147483647], got -1}}
  %o = attn.attention %q, %k, %v {window = array<i64: 4, 4>, global_tokens = -1 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @stats_count(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{has 1 statistics results, but return_lse/return_entropy ask for 2}}
  %o, %s = attn.attention %q, %k, %v {return_lse, return_entropy} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return
}

// -----

func.func @stats_unasked(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{has 1 statistics results, but return_lse/return_entropy ask for 0}}
  %o, %s = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return
}

// -----

func.func @lse_dtype(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>) {
  // expected-error @+1 {{lse element type must be 'f32', got 'f16'}}
  %o, %s = attn.attention %q, %k, %v {return_lse} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>, tensor<?x8x?xf16>
  return
}

// -----

func.func @entropy_layout(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{entropy query heads (dim 1) is 4, expected 8}}
  %o, %s = attn.attention %q, %k, %v {return_entropy} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x4x?xf32>
  return
}

// -----

func.func @seqlens_count(%q: tensor<2x?x8x64xf32>, %k: tensor<2x?x8x64xf32>, %v: tensor<2x?x8x64xf32>, %l: tensor<3xi32>) {
  // expected-error @+1 {{seqlens_kv has 3 entries, expected one per batch (2)}}
  %o = attn.attention %q, %k, %v seqlens_kv(%l : tensor<3xi32>) : tensor<2x?x8x64xf32>, tensor<2x?x8x64xf32>, tensor<2x?x8x64xf32> -> tensor<2x?x8x64xf32>
  return
}

// -----

func.func @seqlens_dtype(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>, %l: tensor<?xi64>) {
  // expected-error @+1 {{operand #3 must be 1D tensor of 32-bit signless integer values}}
  %o = attn.attention %q, %k, %v seqlens_q(%l : tensor<?xi64>) : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @linear_lse(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{linear attention has no softmax, so it cannot return LSE}}
  %o = attn.linear_attention %q, %k, %v {return_lse} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @linear_entropy(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{linear attention has no softmax, so it cannot return entropy}}
  %o = attn.linear_attention %q, %k, %v {return_entropy} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @linear_gqa(%q: tensor<?x?x3x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{query heads 3 must be a multiple of kv heads 2}}
  %o = attn.linear_attention %q, %k, %v : tensor<?x?x3x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x3x64xf32>
  return
}

// -----

func.func @linear_scale(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{scale must be finite, got INF}}
  %o = attn.linear_attention %q, %k, %v {scale = 0x7FF0000000000000 : f64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @linear_feature_map(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+2 {{expected ::mlir::attn::FeatureMap to be one of: elu_plus_one, relu, identity}}
  // expected-error @+1 {{failed to parse Attn_FeatureMapAttr parameter 'value'}}
  %o = attn.linear_attention %q, %k, %v {feature_map = #attn<feature_map softmax>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @online_positions(%q: tensor<1x4x2x32xf32>, %k: tensor<1x8x2x32xf32>, %v: tensor<1x8x2x32xf32>, %a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>, %p: index) {
  // expected-error @+1 {{positions need both the query position and the key position}}
  %a1, %m1, %l1 = "attn.online_attention"(%q, %k, %v, %a, %m, %l, %p) {operandSegmentSizes = array<i32: 1, 1, 1, 1, 1, 1, 0, 1, 0>} : (tensor<1x4x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>, index) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @online_acc_dtype(%q: tensor<1x4x2x32xf16>, %k: tensor<1x8x2x32xf16>, %v: tensor<1x8x2x32xf16>, %a: tensor<1x4x2x32xf16>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{acc element type must be 'f32', got 'f16'}}
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %a, %m, %l : (tensor<1x4x2x32xf16>, tensor<1x8x2x32xf16>, tensor<1x8x2x32xf16>, tensor<1x4x2x32xf16>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf16>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @online_max_shape(%q: tensor<1x4x2x32xf32>, %k: tensor<1x8x2x32xf32>, %v: tensor<1x8x2x32xf32>, %a: tensor<1x4x2x32xf32>, %m: tensor<1x4x2xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{max query heads (dim 1) is 4, expected 2}}
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %a, %m, %l : (tensor<1x4x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x4x2x32xf32>, tensor<1x4x2xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x4x2xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @online_result_type(%q: tensor<1x4x2x32xf32>, %k: tensor<1x8x2x32xf32>, %v: tensor<1x8x2x32xf32>, %a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{result sum type 'tensor<1x2x?xf32>' differs from the operand's 'tensor<1x2x4xf32>'}}
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %a, %m, %l : (tensor<1x4x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x?xf32>)
  return
}

// -----

func.func @online_softcap(%q: tensor<1x4x2x32xf32>, %k: tensor<1x8x2x32xf32>, %v: tensor<1x8x2x32xf32>, %a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{softcap must be finite and > 0}}
  %a1, %m1, %l1 = attn.online_attention %q, %k, %v into %a, %m, %l {softcap = -1.0 : f64} : (tensor<1x4x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x8x2x32xf32>, tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @finalize_acc(%a: tensor<1x4x2x32xf16>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{acc must be a rank-4 f32 tensor [B, Sq, Hq, Dv], got 'tensor<1x4x2x32xf16>'}}
  %o, %lse = attn.finalize %a, %m, %l : (tensor<1x4x2x32xf16>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf16>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @finalize_entropy_without_score_sum(%a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{the entropy result needs the score_sum operand, and vice versa}}
  %o, %lse, %h = "attn.finalize"(%a, %m, %l) : (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @finalize_output_dtype(%a: tensor<1x4x2x32xf32>, %m: tensor<1x2x4xf32>, %l: tensor<1x2x4xf32>) {
  // expected-error @+1 {{output must be a tensor of f32, f16 or bf16, got 'tensor<1x4x2x32xi8>'}}
  %o, %lse = attn.finalize %a, %m, %l : (tensor<1x4x2x32xf32>, tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> (tensor<1x4x2x32xi8>, tensor<1x2x4xf32>)
  return
}

// -----

func.func @merge_rank(%p: tensor<?x1x32x128xf32>, %l: tensor<4x?x32x1xf32>) {
  // expected-error @+1 {{parts must be a rank-5 tensor [P, B, Sq, Hq, Dv] of f32, f16 or bf16}}
  %o, %lse = attn.merge %p, %l : tensor<?x1x32x128xf32>, tensor<4x?x32x1xf32> -> tensor<?x1x32x128xf32>, tensor<?x32x1xf32>
  return
}

// -----

func.func @merge_part_count(%p: tensor<4x?x1x32x128xf32>, %l: tensor<2x?x32x1xf32>) {
  // expected-error @+1 {{lse_parts parts (dim 0) is 2, expected 4}}
  %o, %lse = attn.merge %p, %l : tensor<4x?x1x32x128xf32>, tensor<2x?x32x1xf32> -> tensor<?x1x32x128xf32>, tensor<?x32x1xf32>
  return
}

// -----

func.func @merge_output(%p: tensor<4x?x1x32x128xf32>, %l: tensor<4x?x32x1xf32>) {
  // expected-error @+1 {{output value head dim (dim 3) is 64, expected 128}}
  %o, %lse = attn.merge %p, %l : tensor<4x?x1x32x128xf32>, tensor<4x?x32x1xf32> -> tensor<?x1x32x64xf32>, tensor<?x32x1xf32>
  return
}

// -----

// Limits (AttnShape.h): a whole GQA group is one work item, so groups and head counts are bounded.
func.func @too_many_heads(%q: tensor<?x?x8192x64xf32>, %k: tensor<?x?x8192x64xf32>, %v: tensor<?x?x8192x64xf32>) {
  // expected-error @+1 {{at most 4096 heads are supported, got 8192 query heads and 8192 kv heads}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8192x64xf32>, tensor<?x?x8192x64xf32>, tensor<?x?x8192x64xf32> -> tensor<?x?x8192x64xf32>
  return
}

// -----

func.func @group_too_large(%q: tensor<?x?x512x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x64xf32>) {
  // expected-error @+1 {{at most 256 query heads per kv head are supported, got 512}}
  %o = attn.attention %q, %k, %v : tensor<?x?x512x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x64xf32> -> tensor<?x?x512x64xf32>
  return
}

// -----

func.func @linear_group_too_large(%q: tensor<?x?x1024x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  // expected-error @+1 {{at most 256 query heads per kv head are supported, got 512}}
  %o = attn.linear_attention %q, %k, %v : tensor<?x?x1024x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x1024x64xf32>
  return
}

// -----

// No sequence is longer than 2^31 - 1: a larger bound would overflow position arithmetic.
func.func @window_bound_too_large(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{window right bound 9223372036854775807 exceeds the longest sequence (2147483647); use -1 for unbounded}}
  %o = attn.attention %q, %k, %v {window = array<i64: -1, 9223372036854775807>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @global_tokens_too_many(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{global_tokens must be in [0, 2147483647], got 4294967296}}
  %o = attn.attention %q, %k, %v {window = array<i64: 16, 0>, global_tokens = 4294967296 : i64} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @config_source_value(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{'attn.config_source' must be "heuristic" or "tuned" (absent: given), got "guessed"}}
  %o = attn.attention %q, %k, %v {attn.config_source = "guessed", attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

func.func @config_source_without_config(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{'attn.config_source' says how a configuration was chosen, but the op has none}}
  %o = attn.attention %q, %k, %v {attn.config_source = "tuned"} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

func.func @paged_page_not_power_of_two(%q: tensor<?x?x8x64xf32>, %k: tensor<?x12x8x64xf32>, %v: tensor<?x12x8x64xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{the page size of a paged KV cache (key dim 1) must be a static power of two from 1 to 256, got 12}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) : tensor<?x?x8x64xf32>, tensor<?x12x8x64xf32>, tensor<?x12x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @paged_page_dynamic(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{the page size of a paged KV cache (key dim 1) must be a static power of two from 1 to 256, got ?}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @paged_page_too_large(%q: tensor<?x?x8x64xf32>, %k: tensor<?x512x8x64xf32>, %v: tensor<?x512x8x64xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{must be a static power of two from 1 to 256, got 512}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) : tensor<?x?x8x64xf32>, tensor<?x512x8x64xf32>, tensor<?x512x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @paged_value_page(%q: tensor<?x?x8x64xf32>, %k: tensor<?x16x8x64xf32>, %v: tensor<?x32x8x64xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{value page size 32 does not match key page size 16}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) : tensor<?x?x8x64xf32>, tensor<?x16x8x64xf32>, tensor<?x32x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @paged_value_pages(%q: tensor<?x?x8x64xf32>, %k: tensor<100x16x8x64xf32>, %v: tensor<99x16x8x64xf32>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{value pages 99 do not match key pages 100}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) : tensor<?x?x8x64xf32>, tensor<100x16x8x64xf32>, tensor<99x16x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @paged_table_batch(%q: tensor<4x?x8x64xf32>, %k: tensor<?x16x8x64xf32>, %v: tensor<?x16x8x64xf32>, %t: tensor<3x?xi32>) {
  // expected-error @+1 {{block_table has 3 rows, expected one per batch (4)}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<3x?xi32>) : tensor<4x?x8x64xf32>, tensor<?x16x8x64xf32>, tensor<?x16x8x64xf32> -> tensor<4x?x8x64xf32>
  return
}

// -----

func.func @paged_table_type(%q: tensor<?x?x8x64xf32>, %k: tensor<?x16x8x64xf32>, %v: tensor<?x16x8x64xf32>, %t: tensor<?x?xi64>) {
  // expected-error @+1 {{must be 2D tensor of 32-bit signless integer values}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi64>) : tensor<?x?x8x64xf32>, tensor<?x16x8x64xf32>, tensor<?x16x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @sinks_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{sinks has 4 entries, expected one per query head (8)}}
  %o = attn.attention %q, %k, %v sinks(%s : tensor<4xf32>) : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @alibi_heads(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %m: tensor<2xf32>) {
  // expected-error @+1 {{alibi_slopes has 2 entries, expected one per query head (8)}}
  %o = attn.attention %q, %k, %v alibi_slopes(%m : tensor<2xf32>) : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @alibi_type(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>, %m: tensor<8xf16>) {
  // expected-error @+1 {{must be 1D tensor of 32-bit float values}}
  %o = attn.attention %q, %k, %v alibi_slopes(%m : tensor<8xf16>) : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}
