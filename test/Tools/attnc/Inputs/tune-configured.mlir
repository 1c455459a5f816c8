// A configuration in the input (here a tuned one) is replaced by each candidate's.
func.func @configured(%q: tensor<?x?x4x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x4x64xf32> {
  %o = attn.attention %q, %k, %v {attn.config_source = "tuned", attn.cpu_config = #attn.cpu_config<block_q = 3, block_k = 32, vector_width = 8>} : tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x4x64xf32>
  return %o : tensor<?x?x4x64xf32>
}
