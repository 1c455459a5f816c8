// RUN: attn-opt %s --split-input-file --attn-configure-vulkan | FileCheck %s --check-prefix=LAVAPIPE
// RUN: attn-opt %s --split-input-file "--attn-configure-vulkan=device=nvidia" | FileCheck %s --check-prefix=NVIDIA
// RUN: attn-opt %s --split-input-file "--attn-configure-vulkan=max-shared-bytes=16384" | FileCheck %s --check-prefix=SMALL

// Heuristics per device: a subgroup per team, ~256 invocations per workgroup, the largest K/V
// tile (up to 64 keys) that leaves half the shared memory free, fewer teams when even the
// smallest tile does not fit.
// LAVAPIPE-LABEL: func.func @choose
// LAVAPIPE: attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 32, block_k = 8>
// NVIDIA-LABEL: func.func @choose
// NVIDIA: attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 32>
// SMALL-LABEL: func.func @choose
// SMALL: attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 32, block_k = 8>
func.func @choose(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}


// -----

// Linear attention: the longest chunk (up to 32) whose staging leaves half the shared memory.
// LAVAPIPE-LABEL: func.func @linear
// LAVAPIPE: #attn.vulkan_config<subgroup_size = 8, teams = 32, block_k = 8, chunk = 8>
// NVIDIA-LABEL: func.func @linear
// NVIDIA: #attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 32>
// SMALL-LABEL: func.func @linear
// SMALL: #attn.vulkan_config<subgroup_size = 8, teams = 32, block_k = 8, chunk = 4>
func.func @linear(%q: tensor<?x?x4x128xf32>, %k: tensor<?x?x4x128xf32>, %v: tensor<?x?x4x128xf32>) -> tensor<?x?x4x128xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x4x128xf32>, tensor<?x?x4x128xf32>, tensor<?x?x4x128xf32> -> tensor<?x?x4x128xf32>
  return %o : tensor<?x?x4x128xf32>
}

// -----

// f16 with head dims that are multiples of 16, on a device with VK_KHR_cooperative_matrix: the
// cooperative-matrix prefill (heads of the group per workgroup within its shared memory). lavapipe
// has none: the scalar kernel.
// LAVAPIPE-LABEL: func.func @coopmat
// LAVAPIPE-NOT: coopmat =
// NVIDIA-LABEL: func.func @coopmat
// NVIDIA: #attn.vulkan_config<subgroup_size = 32, teams = 2, block_k = 32, coopmat = 1>
func.func @coopmat(%q: tensor<?x?x8x128xf16>, %k: tensor<?x?x2x128xf16>, %v: tensor<?x?x2x128xf16>) -> tensor<?x?x8x128xf16> {
  %o = attn.attention %q, %k, %v {causal} : tensor<?x?x8x128xf16>, tensor<?x?x2x128xf16>, tensor<?x?x2x128xf16> -> tensor<?x?x8x128xf16>
  return %o : tensor<?x?x8x128xf16>
}
