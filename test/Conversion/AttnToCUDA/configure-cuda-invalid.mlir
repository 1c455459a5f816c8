// RUN: attn-opt %s --split-input-file --attn-configure-cuda --verify-diagnostics
// RUN: not attn-opt %s --split-input-file "--attn-configure-cuda=arch=sm_70" 2>&1 | FileCheck %s --check-prefix=ARCH

// ARCH: cannot configure: unknown CUDA architecture 'sm_70' (expected sm_80, sm_86, sm_89, sm_90, sm_90a)

func.func @mma_f32(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x8x64xf32>, %v: tensor<?x?x8x64xf32>) {
  // expected-error @+1 {{'attn.cuda_config' cannot run here: mma = 1 needs f16 or bf16 softmax attention with head dims that are multiples of 16 up to 256 (this problem: f32, D = 64, Dv = 64); use mma = 0}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 4, block_n = 64>} : tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32>, tensor<?x?x8x64xf32> -> tensor<?x?x8x64xf32>
  return
}

// -----

func.func @shared(%q: tensor<?x?x8x256xf16>, %k: tensor<?x?x8x256xf16>, %v: tensor<?x?x8x256xf16>) {
  // expected-error @+1 {{'attn.cuda_config' cannot run here: the tiles need 337920 bytes of shared memory; a CTA on sm_80 may use 166912}}
  %o = attn.attention %q, %k, %v {attn.cuda_config = #attn.cuda_config<warps = 8, block_n = 128, stages = 2>} : tensor<?x?x8x256xf16>, tensor<?x?x8x256xf16>, tensor<?x?x8x256xf16> -> tensor<?x?x8x256xf16>
  return
}
