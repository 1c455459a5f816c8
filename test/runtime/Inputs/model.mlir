// A model's attention shapes in one bundle (built with --cpu=x86-64-v3,x86-64-v4 by the
// runtime-bundles-build fixture): a GQA prefill with LSE, the same layer with sink logits, and a
// linear-attention layer. The loader picks a kernel by its problem and the best level this CPU runs.
func.func @prefill(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {causal, return_lse} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
}

func.func @prefill_sinks(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %s: tensor<8xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v sinks(%s : tensor<8xf32>) {causal, return_lse} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
}

func.func @linear(%q: tensor<?x?x4x32xf32>, %k: tensor<?x?x4x32xf32>, %v: tensor<?x?x4x32xf32>) -> tensor<?x?x4x32xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32>, tensor<?x?x4x32xf32> -> tensor<?x?x4x32xf32>
  return %o : tensor<?x?x4x32xf32>
}
