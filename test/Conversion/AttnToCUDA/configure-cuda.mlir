// RUN: attn-opt %s --split-input-file --attn-configure-cuda | FileCheck %s --check-prefix=SM80
// RUN: attn-opt %s --split-input-file "--attn-configure-cuda=arch=sm_80 max-shared-bytes=65536" | FileCheck %s --check-prefix=SMALL

// f16/bf16 softmax attention with head dims multiples of 16 takes the tensor-core path: 4 warps
// of 16 rows and K/V tiles of 64 keys (32 above D = 128), fewer where shared memory is short.
// SM80-LABEL: func.func @mma
// SM80: attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>
// SMALL-LABEL: func.func @mma
// SMALL: attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 32>
func.func @mma(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {causal} : tensor<?x?x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}

// -----

// SM80-LABEL: func.func @mma256
// SM80: attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 32>
// SMALL-LABEL: func.func @mma256
// SMALL: attn.cuda_config = #attn.cuda_config<warps = 2, block_n = 16>
func.func @mma256(%q: tensor<?x?x8x256xf16>, %k: tensor<?x?x8x256xf16>, %v: tensor<?x?x8x256xf16>) -> tensor<?x?x8x256xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x8x256xf16>, tensor<?x?x8x256xf16>, tensor<?x?x8x256xf16> -> tensor<?x?x8x256xf16>
  return %o : tensor<?x?x8x256xf16>
}

// -----

// f32 (TF32 tensor cores would miss SPEC's f32 tolerance) and head dims that are not multiples
// of 16 take the SIMT kernels: 8 warps (teams), K/V tiles within 48 KiB.
// SM80-LABEL: func.func @simt_f32
// SM80: attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 32, mma = 0>
func.func @simt_f32(%q: tensor<?x?x8x128xf32>, %k: tensor<?x?x8x128xf32>, %v: tensor<?x?x8x128xf32>) -> tensor<?x?x8x128xf32> {
  %o = attn.attention %q, %k, %v : tensor<?x?x8x128xf32>, tensor<?x?x8x128xf32>, tensor<?x?x8x128xf32> -> tensor<?x?x8x128xf32>
  return %o : tensor<?x?x8x128xf32>
}

// -----

// SM80-LABEL: func.func @simt_dim
// SM80: attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 64, mma = 0>
func.func @simt_dim(%q: tensor<?x?x8x40xf16>, %k: tensor<?x?x8x40xf16>, %v: tensor<?x?x8x40xf16>) -> tensor<?x?x8x40xf16> {
  %o = attn.attention %q, %k, %v : tensor<?x?x8x40xf16>, tensor<?x?x8x40xf16>, tensor<?x?x8x40xf16> -> tensor<?x?x8x40xf16>
  return %o : tensor<?x?x8x40xf16>
}

// -----

// Linear attention: the SIMT scan, the longest chunk (up to 32) whose staging fits 48 KiB.
// SM80-LABEL: func.func @linear
// SM80: attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 32, mma = 0, chunk = 32>
func.func @linear(%q: tensor<?x?x4x128xf32>, %k: tensor<?x?x4x128xf32>, %v: tensor<?x?x4x128xf32>) -> tensor<?x?x4x128xf32> {
  %o = attn.linear_attention %q, %k, %v {causal} : tensor<?x?x4x128xf32>, tensor<?x?x4x128xf32>, tensor<?x?x4x128xf32> -> tensor<?x?x4x128xf32>
  return %o : tensor<?x?x4x128xf32>
}

// -----

// A configuration already present is kept (and checked).
// SM80-LABEL: func.func @keep
// SM80: attn.cuda_config = #attn.cuda_config<warps = 2, block_n = 64, stages = 3>
func.func @keep(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>) -> tensor<?x?x8x64xf16> {
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 2, block_n = 64, stages = 3>} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return %o : tensor<?x?x8x64xf16>
}
