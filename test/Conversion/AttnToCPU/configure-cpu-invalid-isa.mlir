// RUN: attn-opt %s --split-input-file --attn-configure-cpu=target=x86-64-v4 -verify-diagnostics

// A configuration given by hand (or by a tuner) may only use the target's instruction sets: the
// x86-64 levels have neither AMX nor AVX512-BF16, and LLVM would abort on their intrinsics.
func.func @amx_on_a_level(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  // expected-error @+1 {{cannot compile: #attn.cpu_config has amx = 1, but target 'x86-64-v4' has no AMX-BF16 tiles}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16, amx = 1>} : tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}

// -----

func.func @dpbf16_on_a_level(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  // expected-error @+1 {{cannot compile: #attn.cpu_config has dpbf16 = 1, but target 'x86-64-v4' has no AVX512-BF16}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16, dpbf16 = 1>} : tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
