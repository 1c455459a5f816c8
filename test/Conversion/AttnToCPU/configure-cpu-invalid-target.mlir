// RUN: attn-opt %s --attn-configure-cpu=target=znver99 --split-input-file -verify-diagnostics

// Targets are named (the target description is built from the name), never guessed.
func.func @unknown_target(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{cannot configure: unknown target 'znver99' (expected host, x86-64-v3, x86-64-v4, or an LLVM x86-64 CPU such as sapphirerapids or znver4)}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// A configuration given by hand does not make an unknown target acceptable.
func.func @preconfigured(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{cannot configure: unknown target 'znver99'}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 8>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
