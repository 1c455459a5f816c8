// Input of config.test: a problem that carries its own tile configuration.
func.func @attn(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 8, block_k = 32, vector_width = 8>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
