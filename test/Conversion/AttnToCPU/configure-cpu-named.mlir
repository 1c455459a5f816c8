// RUN: attn-opt %s --attn-configure-cpu=target=sapphirerapids | FileCheck %s --check-prefix=SPR
// RUN: attn-opt %s --attn-configure-cpu=target=znver4 | FileCheck %s --check-prefix=ZEN4
// RUN: attn-opt %s --attn-configure-cpu=target=znver1 | FileCheck %s --check-prefix=ZEN1

// A target may be an LLVM CPU model: its features are LLVM's list for that model, whatever the
// host (AMX on Sapphire Rapids, AVX512-BF16 on both AVX-512 models, 8 lanes on an AVX2 Zen 1).
// SPR-LABEL: func.func @prefill
// SPR: #attn.cpu_config<block_q = 128, block_k = 64, vector_width = 16, amx = 1, dpbf16 = 1>
// SPR-LABEL: func.func @decode
// SPR: dpbf16 = 1>
// ZEN4-LABEL: func.func @prefill
// ZEN4: #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16, dpbf16 = 1>
// ZEN4-LABEL: func.func @decode
// ZEN4: #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, dpbf16 = 1>
// ZEN1-LABEL: func.func @prefill
// ZEN1: #attn.cpu_config<block_q = 32, block_k = 64, vector_width = 8>
// ZEN1-LABEL: func.func @decode
// ZEN1: #attn.cpu_config<block_q = 8, block_k = 64, vector_width = 8>
func.func @prefill(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x8x128xbf16>, %v: tensor<?x?x8x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {causal} : tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16>, tensor<?x?x8x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
func.func @decode(%q: tensor<?x1x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x1x8x128xbf16> {
  %o = attn.attention %q, %k, %v : tensor<?x1x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x1x8x128xbf16>
  return %o : tensor<?x1x8x128xbf16>
}
