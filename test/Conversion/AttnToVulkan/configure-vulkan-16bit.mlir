// RUN: attn-opt %s --split-input-file "--attn-configure-vulkan=float16=0 int16=0" -verify-diagnostics

// A device without 16-bit storage cannot run f16 or bf16 kernels: refused when configuring.
func.func @f16(%q: tensor<?x?x2x64xf16>, %k: tensor<?x?x2x64xf16>, %v: tensor<?x?x2x64xf16>) {
  // expected-error @+1 {{cannot configure for Vulkan: the Vulkan device 'lavapipe' cannot run f16 kernels: they need 16-bit storage buffers and shaderFloat16}}
  %o = attn.attention %q, %k, %v : tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16>, tensor<?x?x2x64xf16> -> tensor<?x?x2x64xf16>
  return
}

// -----

func.func @bf16(%q: tensor<?x?x2x64xbf16>, %k: tensor<?x?x2x64xbf16>, %v: tensor<?x?x2x64xbf16>) {
  // expected-error @+1 {{they need 16-bit storage buffers and shaderInt16}}
  %o = attn.attention %q, %k, %v : tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16>, tensor<?x?x2x64xbf16> -> tensor<?x?x2x64xbf16>
  return
}

// -----

func.func @unknown(%q: tensor<?x?x2x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>) {
  %o = attn.attention %q, %k, %v : tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x2x64xf32>
  return
}
