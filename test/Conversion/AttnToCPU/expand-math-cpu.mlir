// RUN: attn-opt %s --attn-expand-math-cpu | FileCheck %s

// exp and tanh on vectors become polynomials (no libm calls); bf16 conversions become integer ops.
// CHECK-LABEL: func.func @expand
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK: arith.shli
// CHECK-NOT: arith.extf {{.*}}bf16
func.func @expand(%x: vector<16xf32>, %y: vector<16xbf16>) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>) {
  %e = math.exp %x : vector<16xf32>
  %t = math.tanh %x : vector<16xf32>
  %w = arith.extf %y : vector<16xbf16> to vector<16xf32>
  return %e, %t, %w : vector<16xf32>, vector<16xf32>, vector<16xf32>
}
