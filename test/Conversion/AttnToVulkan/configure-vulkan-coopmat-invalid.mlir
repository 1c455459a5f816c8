// RUN: attn-opt %s --split-input-file "--attn-configure-vulkan=device=nvidia" -verify-diagnostics

// ... and f16 tiles.
func.func @coopmat_f32(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{coopmat = 1 needs softmax attention in f16 with head dims that are multiples of 16}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32, coopmat = 1>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}
