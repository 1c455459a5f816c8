// RUN: attn-opt %s --split-input-file --convert-attn-to-vulkan-kernels -verify-diagnostics

func.func @coop_paged(%q: tensor<?x?x8x64xf16>, %k: tensor<?x16x8x64xf16>, %v: tensor<?x16x8x64xf16>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{the cooperative-matrix kernel does not take ALiBi slopes, sinks or a paged KV cache yet (coopmat = 0, the SIMT kernel, does)}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32, coopmat = 1>} : tensor<?x?x8x64xf16>, tensor<?x16x8x64xf16>, tensor<?x16x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @coop_sinks(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>, %s: tensor<8xf32>) {
  // expected-error @+1 {{the cooperative-matrix kernel does not take ALiBi slopes, sinks or a paged KV cache yet (coopmat = 0, the SIMT kernel, does)}}
  %o = attn.attention %q, %k, %v sinks(%s : tensor<8xf32>) {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32, coopmat = 1>} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}
