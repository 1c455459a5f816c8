// RUN: attn-opt %s "--attn-configure-cpu=target=x86-64-v4 vector-width=3" -verify-diagnostics

func.func @bad_width(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) -> tensor<?x?x8x64xf32> {
  // expected-error @+1 {{cannot configure: vector-width must be 4, 8 or 16 and at most the target's 16 (0 = the target's), got 3}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
