// RUN: attn-opt %s "--attn-configure-cpu=target=x86-64-v3 vector-width=16" -verify-diagnostics

// AVX2 has 8 f32 lanes: 16-lane code would not run on the target.
func.func @too_wide(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{cannot configure: vector-width must be 4, 8 or 16 and at most the target's 8 (0 = the target's), got 16}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
