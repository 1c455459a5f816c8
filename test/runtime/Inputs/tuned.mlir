// A problem with every #attn.cpu_config parameter away from its default (BundleHardeningTest):
// 4 query heads per kv head, so decode_rows = 16 takes up to 4 query rows per decode item, and
// split_keys = 96 cuts the KV into splits of three 32-key tiles.
func.func @attn(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) -> (tensor<?x?x8x64xf32>, tensor<?x8x?xf32>) {
  %o, %lse = attn.attention %q, %k, %v {causal, return_lse, attn.cpu_config = #attn.cpu_config<block_q = 4, block_k = 32, vector_width = 8, decode_rows = 16, split_keys = 96>} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return %o, %lse : tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
}
