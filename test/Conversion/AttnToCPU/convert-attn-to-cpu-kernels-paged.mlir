// RUN: attn-opt %s --convert-attn-to-cpu-kernels | FileCheck %s

// A paged KV cache (page_size 16): both kernels take the block table (then the per-head ALiBi
// slopes and sinks) before the parameters,
// and a key's page is block_table[b, key >> 4], its slot key & 15. The key capacity is the
// table's width times the page size.
// CHECK-LABEL: func.func @attn_main
// CHECK-SAME: %[[TABLE:arg[0-9]+]]: memref<?x?xi32, strided<[?, ?], offset: ?>>, %{{.*}}: memref<?xf32
// CHECK: %[[PAGES:[a-z0-9_]+]] = memref.dim %[[TABLE]], %{{.*}} : memref<?x?xi32, strided<[?, ?], offset: ?>>
// CHECK: arith.muli %[[PAGES]], %{{.*}} : index
// CHECK: %[[PAGE:[0-9]+]] = arith.shrui %[[KEY:[0-9]+]], %c4{{.*}} : index
// CHECK: memref.load %[[TABLE]][%{{.*}}, %[[PAGE]]] : memref<?x?xi32, strided<[?, ?], offset: ?>>
// CHECK: arith.andi %[[KEY]], %c15 : index
// CHECK-LABEL: func.func @attn_decode
// CHECK-SAME: %[[DTABLE:arg[0-9]+]]: memref<?x?xi32, strided<[?, ?], offset: ?>>, %{{.*}}: memref<?xf32
// CHECK: arith.shrui
// CHECK: memref.load %[[DTABLE]][%{{.*}}, %{{.*}}] : memref<?x?xi32, strided<[?, ?], offset: ?>>
// CHECK-LABEL: func.func @attn_merge
func.func @attn(%q: tensor<?x?x8x64xbf16>, %k: tensor<?x16x2x64xbf16>, %v: tensor<?x16x2x64xbf16>, %t: tensor<?x?xi32>) -> tensor<?x?x8x64xbf16> {
  %o = attn.attention %q, %k, %v block_table(%t : tensor<?x?xi32>) {causal, attn.cpu_config = #attn.cpu_config<block_q = 16, block_k = 32, vector_width = 8>} : tensor<?x?x8x64xbf16>, tensor<?x16x2x64xbf16>, tensor<?x16x2x64xbf16> -> tensor<?x?x8x64xbf16>
  return %o : tensor<?x?x8x64xbf16>
}
