// RUN: attn-opt %s --split-input-file --attn-configure-vulkan -verify-diagnostics

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

// -----

// A cooperative-matrix configuration needs the device's extension ...
func.func @coopmat_device(%q: tensor<?x?x2x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) {
  // expected-error @+1 {{coopmat = 1, but the device 'lavapipe' does not expose VK_KHR_cooperative_matrix}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 2, block_k = 16, coopmat = 1>} : tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16> -> tensor<?x?x2x64xf16>
  return
}
