// RUN: attn-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// The Vulkan tile configuration (#attn.vulkan_config) verifies its own values; the device-specific
// checks (subgroup size, shared memory, 16-bit support) are attn-configure-vulkan's.

// CHECK-LABEL: func.func @valid
// CHECK: attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 64, split_keys = 1024>
func.func @valid(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 8, block_k = 64, split_keys = 1024>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// split_keys prints only when it differs from its default (512).
// CHECK-LABEL: func.func @defaults
// CHECK: attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 4, block_k = 16>}
func.func @defaults(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<block_k = 16, teams = 4, subgroup_size = 8, split_keys = 512>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

func.func @subgroup_size(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{subgroup_size must be a power of two in [4, 128], got 24}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 24, teams = 4, block_k = 24>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @teams(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{teams must be in [1, 16] (teams x subgroup_size <= 1024 invocations), got 32}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 64, teams = 32, block_k = 64>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// The scores of a subtile are one per lane: block_k is whole subgroups.
func.func @block_k(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{block_k must be a multiple of subgroup_size (32) in [32, 256], got 40}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 4, block_k = 40>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @split_keys(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{split_keys must be a multiple of block_k (32) in [32, 1048576], got 100}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 4, block_k = 32, split_keys = 100>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @unknown_key(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{unknown #attn.vulkan_config parameter 'block_q' (subgroup_size, teams, block_k, split_keys, chunk, coopmat)}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<block_q = 4, subgroup_size = 32, teams = 4, block_k = 32>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @missing_key(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{#attn.vulkan_config needs 'teams'}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, block_k = 32>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @wrong_attribute(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{'attn.vulkan_config' must be a #attn.vulkan_config, got #attn.cpu_config}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.cpu_config<block_q = 4, block_k = 16, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @coopmat_value(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{coopmat must be 0 or 1, got 2}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 32, teams = 4, block_k = 32, coopmat = 2>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// Cooperative matrices are 16 x 16 x 16: a K/V tile is whole matrices.
func.func @coopmat_block_k(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{coopmat needs block_k to be a multiple of 16 (the matrix tiles), got 8}}
  %o = attn.attention %q, %k, %v {attn.vulkan_config = #attn.vulkan_config<subgroup_size = 8, teams = 4, block_k = 8, coopmat = 1>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}
