// RUN: attn-opt %s --convert-attn-to-cpu-kernels | FileCheck %s

// ALiBi slopes and sink logits (f32 [Hq]) follow the block table. attn_main biases each score
// by -slope * |p - j| (maxsi of the two differences, then a multiply by the negated slope) and
// folds the sink into the row's max and sum before its outputs; attn_decode does both too, the
// sink in split 0 only.
// CHECK-LABEL: func.func @attn_main
// CHECK-SAME: memref<?x?xi32, strided<[?, ?], offset: ?>>, %[[ALIBI:arg[0-9]+]]: memref<?xf32, strided<[?], offset: ?>>, %[[SINKS:arg[0-9]+]]: memref<?xf32, strided<[?], offset: ?>>, %{{.*}}: memref<?xi64
// CHECK: memref.load %[[ALIBI]]
// CHECK: arith.negf
// CHECK: arith.maxsi %{{.*}}, %{{.*}} : vector<8xi32>
// CHECK: arith.sitofp %{{.*}} : vector<8xi32> to vector<8xf32>
// CHECK: memref.load %[[SINKS]]
// CHECK: math.exp
// CHECK-LABEL: func.func @attn_decode
// CHECK-SAME: %[[DALIBI:arg[0-9]+]]: memref<?xf32, strided<[?], offset: ?>>, %[[DSINKS:arg[0-9]+]]: memref<?xf32, strided<[?], offset: ?>>, %{{.*}}: memref<?xi64
// CHECK: memref.load %[[DALIBI]]
// CHECK: arith.maxsi %{{.*}}, %{{.*}} : i32
// CHECK: memref.load %[[DSINKS]]
// CHECK-LABEL: func.func @attn_merge
func.func @attn(%q: tensor<?x?x8x64xf32>, %k: tensor<?x?x2x64xf32>, %v: tensor<?x?x2x64xf32>, %m: tensor<8xf32>, %s: tensor<8xf32>) -> tensor<?x?x8x64xf32> {
  %o = attn.attention %q, %k, %v alibi_slopes(%m : tensor<8xf32>) sinks(%s : tensor<8xf32>) {causal, attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 32, vector_width = 8>} : tensor<?x?x8x64xf32>, tensor<?x?x2x64xf32>, tensor<?x?x2x64xf32> -> tensor<?x?x8x64xf32>
  return %o : tensor<?x?x8x64xf32>
}
