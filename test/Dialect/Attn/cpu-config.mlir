// RUN: attn-opt %s --split-input-file --verify-diagnostics | FileCheck %s

// The CPU tile configuration (#attn.cpu_config) verifies its values, and on an op it is checked
// against the op's GQA group: every value the kernel generators can be given either works or is
// refused here, never in LLVM.

// CHECK-LABEL: func.func @valid
// CHECK: attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 48, vector_width = 16, decode_rows = 32, split_keys = 288>
func.func @valid(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 32, block_k = 48, vector_width = 16, decode_rows = 32, split_keys = 288>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

// decode_rows and split_keys print only when they differ from their defaults (64, 256).
// CHECK-LABEL: func.func @defaults
// CHECK: attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16>}
func.func @defaults(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x4x64xf32>, %v: tensor<?x?x4x64xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, decode_rows = 64, split_keys = 256>} : tensor<?x?x8x64xf32>, tensor<?x?x4x64xf32>, tensor<?x?x4x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}

// -----

func.func @decode_rows(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{decode_rows must be in [1, 256], got 1000}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, decode_rows = 1000>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

// A split is whole K/V tiles.
func.func @split_keys(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{split_keys must be a multiple of block_k (64) in [64, 1048576], got 100}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, split_keys = 100>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @not_a_cpu_config(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{'attn.cpu_config' must be a #attn.cpu_config, got {block_k = 64 : i64}}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = {block_k = 64}} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @missing_parameter(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{#attn.cpu_config needs 'block_k'}}
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

// -----

func.func @unknown_parameter(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{unknown #attn.cpu_config parameter 'unroll' (block_q, block_k, vector_width, decode_rows, split_keys, amx, dpbf16)}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, unroll = 2>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @twice(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{#attn.cpu_config parameter 'block_k' is given twice}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, block_k = 32, vector_width = 16>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @amx_flag(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) {
  // expected-error @+1 {{amx must be 0 or 1, got 2}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, amx = 2>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return
}

// -----

func.func @amx_narrow(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) {
  // expected-error @+1 {{amx = 1 needs vector_width 16 and block_k a multiple of 32, got 8 and 64}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 8, amx = 1>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return
}

// -----

func.func @amx_block_k(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) {
  // expected-error @+1 {{amx = 1 needs vector_width 16 and block_k a multiple of 32, got 16 and 48}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 48, vector_width = 16, split_keys = 240, amx = 1>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return
}

// -----

func.func @amx_f32(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{amx = 1 needs a softmax attention on bf16 with D a multiple of 32 and Dv a multiple of 16}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, amx = 1>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @amx_head_dim(%q: tensor<?x?x8x80xbf16>, %k: tensor<?x?x8x80xbf16>, %v: tensor<?x?x8x80xbf16>) {
  // expected-error @+1 {{amx = 1 needs a softmax attention on bf16 with D a multiple of 32 and Dv a multiple of 16}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, amx = 1>} : tensor<?x?x8x80xbf16>, tensor<?x?x8x80xbf16>, tensor<?x?x8x80xbf16> -> tensor<?x?x8x80xbf16>
  return
}

// -----

func.func @dpbf16_flag(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) {
  // expected-error @+1 {{dpbf16 must be 0 or 1, got 3}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, dpbf16 = 3>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return
}

// -----

func.func @dpbf16_narrow(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x?x8x64xbf16>, %v: tensor<?x?x8x64xbf16>) {
  // expected-error @+1 {{dpbf16 = 1 needs vector_width 16, got 8}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 8, dpbf16 = 1>} : tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16>, tensor<?x?x8x64xbf16> -> tensor<?x?x8x64xbf16>
  return
}

// -----

func.func @dpbf16_f16(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>) {
  // expected-error @+1 {{dpbf16 = 1 needs a softmax attention on bf16 with D a multiple of 32}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, dpbf16 = 1>} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @dpbf16_head_dim(%q: tensor<?x?x8x80xbf16>, %k: tensor<?x?x8x80xbf16>, %v: tensor<?x?x8x80xbf16>) {
  // expected-error @+1 {{dpbf16 = 1 needs a softmax attention on bf16 with D a multiple of 32}}
  %o = attn.attention %q, %k, %v {attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 64, vector_width = 16, dpbf16 = 1>} : tensor<?x?x8x80xbf16>, tensor<?x?x8x80xbf16>, tensor<?x?x8x80xbf16> -> tensor<?x?x8x80xbf16>
  return
}
