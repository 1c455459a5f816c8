// RUN: attn-opt %s --attn-configure-cpu=target=skylake -verify-diagnostics

// Targets are named (the target description is built from the name), never guessed.
func.func @unknown_target(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{cannot configure: unknown target 'skylake' (expected host, x86-64-v3, x86-64-v4)}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
