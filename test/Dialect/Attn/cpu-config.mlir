// RUN: attn-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// The CPU tile configuration (#attn.cpu_config) verifies its values, and on an op it is checked
// against the op's GQA group: every value the kernel generators can be given either works or is
// refused here, never in LLVM.

// CHECK-LABEL: func.func @valid
// CHECK: attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 48, vector_width = 16>
func.func @valid(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 48, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

func.func @not_a_cpu_config(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{'attn.cpu_config' must be a #attn.cpu_config, got {block_k = 64 : i64}}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = {block_k = 64}} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @missing_parameter(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{expected 'block_k'}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @vector_width(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{vector_width must be 4, 8 or 16, got 32}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 32>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// block_k = 40 with 16 lanes gave decode errors of 5.7e-2: the decode kernel reads K tiles in
// whole vectors.
func.func @block_k_not_a_multiple(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{block_k must be a multiple of vector_width (16) in [16, 1024], got 40}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 40, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @block_k_huge(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{block_k must be a multiple of vector_width (8) in [8, 1024], got 1099511627776}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 1099511627776, vector_width = 8>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// block_q x the GQA group (here 8) is one work item's query rows.
func.func @block_q_too_many_rows(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x1x64xf32>, %v: tensor<?x?x1x64xf32>) {
  // expected-error @+1 {{'attn.cpu_config' block_q must be in [1, 32] (block_q x 8 query heads per kv head <= 256 rows), got 64}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 64, block_k = 64, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x1x64xf32>, tensor<?x?x1x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @block_q_zero(%parts: tensor<?x?x?x8x64xf32>, %lses: tensor<?x?x8x?xf32>) {
  // expected-error @+1 {{block_q must be in [1, 256] (block_q x 1 query heads per kv head <= 256 rows), got 0}}
  %o, %lse = attn.merge %parts, %lses {attn.cpu_config = #attn.cpu_config<block_q = 0, block_k = 64, vector_width = 16>} : tensor<?x?x?x8x64xf32>, tensor<?x?x8x?xf32> -> tensor<?x?x8x64xf32>, tensor<?x8x?xf32>
  return
}

// -----

func.func @unknown_attribute(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{has an unknown attn dialect attribute 'attn.gpu_config'}}
  %o = attn.attention %q, %k, %v {attn.gpu_config = {}} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}
