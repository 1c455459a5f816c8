// Every attention variant attnc describes, one function each. `scripts/demo.sh` runs them through
// attn-opt's verifier and canonicalizer.

// Dense prefill, f16, 16 heads of 128.
func.func @dense(%q: tensor<?x?x16x128xf16>, %k: tensor<?x?x16x128xf16>, %v: tensor<?x?x16x128xf16>) -> tensor<?x?x16x128xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16> -> tensor<?x?x16x128xf16>
  return %o : tensor<?x?x16x128xf16>
}

// Causal, written as the band (-1, 0): canonicalizes to {causal}.
func.func @causal(%q: tensor<?x?x16x128xbf16>, %k: tensor<?x?x16x128xbf16>, %v: tensor<?x?x16x128xbf16>) -> tensor<?x?x16x128xbf16> {
  %o = attn.attention %q, %k, %v {window = array<i64: -1, 0>} : tensor<?x?x16x128xbf16>, tensor<?x?x16x128xbf16>, tensor<?x?x16x128xbf16> -> tensor<?x?x16x128xbf16>
  return %o : tensor<?x?x16x128xbf16>
}

// Mistral's sliding window of 4096 with 4 global tokens (StreamingLLM's attention-sink tokens:
// keys every query sees; not gpt-oss's sink logits, below).
func.func @sliding_window_globals(%q: tensor<?x?x32x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x32x128xbf16> {
  %o = attn.attention %q, %k, %v {window = array<i64: 4095, 0>, global_tokens = 4 : i64} : tensor<?x?x32x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x?x32x128xbf16>
  return %o : tensor<?x?x32x128xbf16>
}

// Longformer: symmetric band of 256 with 16 global tokens.
func.func @longformer(%q: tensor<?x?x12x64xf32>, %k: tensor<?x?x12x64xf32>, %v: tensor<?x?x12x64xf32>) -> tensor<?x?x12x64xf32> {
  %o = attn.attention %q, %k, %v {window = array<i64: 256, 256>, global_tokens = 16 : i64} : tensor<?x?x12x64xf32>, tensor<?x?x12x64xf32>, tensor<?x?x12x64xf32> -> tensor<?x?x12x64xf32>
  return %o : tensor<?x?x12x64xf32>
}

// Gemma-2 style: GQA 8/4, logit softcap 50, LSE and entropy for monitoring.
func.func @gqa_softcap_stats(%q: tensor<?x?x8x256xbf16>, %k: tensor<?x?x4x256xbf16>, %v: tensor<?x?x4x256xbf16>) -> (tensor<?x?x8x256xbf16>, tensor<?x8x?xf32>, tensor<?x8x?xf32>) {
  %o, %lse, %h = attn.attention %q, %k, %v {causal, softcap = 50.0 : f64, return_lse, return_entropy} : tensor<?x?x8x256xbf16>, tensor<?x?x4x256xbf16>, tensor<?x?x4x256xbf16> -> tensor<?x?x8x256xbf16>, tensor<?x8x?xf32>, tensor<?x8x?xf32>
  return %o, %lse, %h : tensor<?x?x8x256xbf16>, tensor<?x8x?xf32>, tensor<?x8x?xf32>
}

// MQA decode step against a paged-out KV cache: one query row, per-batch KV lengths.
func.func @mqa_decode(%q: tensor<?x1x16x128xf16>, %k: tensor<?x?x1x128xf16>, %v: tensor<?x?x1x128xf16>, %lens: tensor<?xi32>) -> tensor<?x1x16x128xf16> {
  %o = attn.attention %q, %k, %v seqlens_kv(%lens : tensor<?xi32>) : tensor<?x1x16x128xf16>, tensor<?x?x1x128xf16>, tensor<?x?x1x128xf16> -> tensor<?x1x16x128xf16>
  return %o : tensor<?x1x16x128xf16>
}

// Linear attention, causal, elu+1 feature map, Dv != D.
func.func @linear_causal(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x96xf32>) -> tensor<?x?x8x96xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x96xf32> -> tensor<?x?x8x96xf32>
  return %o : tensor<?x?x8x96xf32>
}

// Split-KV decode by hand: two K/V halves folded into online state, finalized, then merged by LSE.
func.func @split_kv(%q: tensor<1x1x8x64xf32>, %k0: tensor<1x512x8x64xf32>, %v0: tensor<1x512x8x64xf32>,
                    %acc: tensor<1x1x8x64xf32>, %m: tensor<1x8x1xf32>, %l: tensor<1x8x1xf32>,
                    %parts: tensor<2x1x1x8x64xf32>, %lses: tensor<2x1x8x1xf32>) -> (tensor<1x1x8x64xf32>, tensor<1x8x1xf32>, tensor<1x1x8x64xf32>, tensor<1x8x1xf32>) {
  %a1, %m1, %l1 = attn.online_attention %q, %k0, %v0 into %acc, %m, %l : (tensor<1x1x8x64xf32>, tensor<1x512x8x64xf32>, tensor<1x512x8x64xf32>, tensor<1x1x8x64xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>) -> (tensor<1x1x8x64xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>)
  %o0, %lse0 = attn.finalize %a1, %m1, %l1 : (tensor<1x1x8x64xf32>, tensor<1x8x1xf32>, tensor<1x8x1xf32>) -> (tensor<1x1x8x64xf32>, tensor<1x8x1xf32>)
  %o, %lse = attn.merge %parts, %lses : tensor<2x1x1x8x64xf32>, tensor<2x1x8x1xf32> -> tensor<1x1x8x64xf32>, tensor<1x8x1xf32>
  return %o0, %lse0, %o, %lse : tensor<1x1x8x64xf32>, tensor<1x8x1xf32>, tensor<1x1x8x64xf32>, tensor<1x8x1xf32>
}

// gpt-oss: a sliding window of 128 with a learned sink logit per head (FlashAttention-3's
// learnable sinks), GQA 64/8, and ALiBi (BLOOM): per-head slopes, both given at each launch.
func.func @window_sink_logits(%q: tensor<?x?x64x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>, %sinks: tensor<64xf32>) -> tensor<?x?x64x64xbf16> {
  %o = attn.attention %q, %k, %v sinks(%sinks : tensor<64xf32>) {causal, window = array<i64: 127, -1>} : tensor<?x?x64x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x64x64xbf16>
  return %o : tensor<?x?x64x64xbf16>
}

func.func @alibi(%q: tensor<?x?x16x128xf16>, %k: tensor<?x?x16x128xf16>, %v: tensor<?x?x16x128xf16>, %slopes: tensor<16xf32>) -> tensor<?x?x16x128xf16> {
  %o = attn.attention %q, %k, %v alibi_slopes(%slopes : tensor<16xf32>) {causal} : tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16>, tensor<?x?x16x128xf16> -> tensor<?x?x16x128xf16>
  return %o : tensor<?x?x16x128xf16>
}
