// RUN: attn-opt %s --split-input-file --attn-configure-vulkan -verify-diagnostics
// RUN: attn-opt %s --split-input-file "--attn-configure-vulkan=device=lavapipe float16=0 int16=0" -verify-diagnostics 

// A given configuration is checked against the device: lavapipe's subgroups are 8 lanes.
func.func @subgroup(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{'attn.vulkan_config' cannot run on this device: subgroup_size 32 is not the device's (8)}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 32>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// 4 x (256 x (64 + 1 + 64) + 32 x 64) bytes of K/V tiles and query rows exceed lavapipe's 32 KiB.
func.func @shared(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{the K/V tiles of block_k = 256 need 140288 bytes of shared memory for D = 64, Dv = 64; the device has 32768}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 32, block_k = 256>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}
