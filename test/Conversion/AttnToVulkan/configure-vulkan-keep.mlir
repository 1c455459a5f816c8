// RUN: attn-opt %s --attn-configure-vulkan | FileCheck %s

// A configuration in the input is kept (it fits the device).
// CHECK-LABEL: func.func @keep
// CHECK: #attn.vulkan_config<subgroup_size = 8, teams = 2, block_k = 8>
func.func @keep(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 2, block_k = 8>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
