// RUN: attn-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// The CUDA tile configuration (#attn.cuda_config) verifies its own values; the problem- and
// GPU-specific checks (the tensor-core path's dtypes and head dims, shared memory) are
// attn-configure-cuda's.

// Defaults (stages = 2, mma = 1, split_keys = 512, chunk = 16) print only when they differ.
// CHECK-LABEL: func.func @valid
// CHECK: attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>}
// CHECK: attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 32, stages = 3, mma = 0, split_keys = 1024, chunk = 32>}
func.func @valid(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) -> tensor<?x?x8x64xf16> {
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<block_n = 64, warps = 4, stages = 2>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  %p = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 32, stages = 3, mma = 0, split_keys = 1024, chunk = 32>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}

// -----

func.func @warps(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{warps must be in [1, 8], got 16}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 16, block_n = 64>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @block_n(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{block_n must be a multiple of 16 in [16, 256], got 24}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 24>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @block_n_simt(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) {
  // expected-error @+1 {{block_n must be a multiple of 32 in [32, 256] on the SIMT path (mma = 0), got 48}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 48, mma = 0>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @stages(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{stages must be in [1, 4], got 0}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64, stages = 0>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @mma(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{mma must be 0 or 1, got 2}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64, mma = 2>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @split_keys(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{split_keys must be a multiple of block_n (64) in [64, 1048576], got 100}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64, split_keys = 100>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @chunk(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{chunk must be in [1, 64], got 65}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64, chunk = 65>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @unknown_key(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{unknown #attn.cuda_config parameter 'teams' (warps, block_n, stages, mma, split_keys, chunk)}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, teams = 2, block_n = 64>} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @not_a_config(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x4x64xf16>, %v: tensor<?x?x4x64xf16>) {
  // expected-error @+1 {{'attn.cuda_config' must be a #attn.cuda_config, got 4 : i64}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = 4} : tensor<?x?x8x64xf16>, tensor<?x?x4x64xf16>, tensor<?x?x4x64xf16> -> tensor<?x?x8x64xf16>
  return
}
