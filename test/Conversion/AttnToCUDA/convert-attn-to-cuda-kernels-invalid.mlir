// RUN: attn-opt %s --split-input-file --convert-attn-to-cuda-kernels --verify-diagnostics

func.func @unconfigured(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>) {
  // expected-error @+1 {{has no 'attn.cuda_config' attribute: run attn-configure-cuda first}}
  %o = attn.attention %q, %k, %v : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @mma_dims(%q: tensor<?x?x8x40xf16>, %k: tensor<?x?x8x40xf16>, %v: tensor<?x?x8x40xf16>) {
  // expected-error @+1 {{'attn.cuda_config' has mma = 1, which needs f16 or bf16 softmax attention with head dims that are multiples of 16 up to 256}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>} : tensor<?x?x8x40xf16>, tensor<?x?x8x40xf16>, tensor<?x?x8x40xf16> -> tensor<?x?x8x40xf16>
  return
}

// -----

func.func @paged(%q: tensor<?x?x8x64xf16>, %k: tensor<?x16x8x64xf16>, %v: tensor<?x16x8x64xf16>, %t: tensor<?x?xi32>) {
  // expected-error @+1 {{the CUDA backend does not support a paged KV cache (block_table) yet}}
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>} : tensor<?x?x8x64xf16>, tensor<?x16x8x64xf16>, tensor<?x16x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @alibi(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>, %m: tensor<8xf32>) {
  // expected-error @+1 {{the CUDA backend does not support ALiBi (alibi_slopes) yet}}
  %o = attn.attention %q, %k, %v alibi_slopes(%m : tensor<8xf32>) {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}

// -----

func.func @sinks(%q: tensor<?x?x8x64xf16>, %k: tensor<?x?x8x64xf16>, %v: tensor<?x?x8x64xf16>, %s: tensor<8xf32>) {
  // expected-error @+1 {{the CUDA backend does not support sink logits (sinks) yet}}
  %o = attn.attention %q, %k, %v sinks(%s : tensor<8xf32>) {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>} : tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16>, tensor<?x?x8x64xf16> -> tensor<?x?x8x64xf16>
  return
}
