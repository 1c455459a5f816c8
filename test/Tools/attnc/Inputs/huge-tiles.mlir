// Input of limits.test: a tile configuration far past the verifier's limits.
func.func @attn(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 1099511627776, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
