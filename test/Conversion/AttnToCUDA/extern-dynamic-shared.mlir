// RUN: attn-opt %s --pass-pipeline="builtin.module(gpu.module(attn-extern-dynamic-shared))" | FileCheck %s

// The global behind gpu.dynamic_shared_memory becomes external (PTX: .extern .shared ... []);
// other globals keep their linkage.
// CHECK: llvm.mlir.global external @__dynamic_shmem__0()
// CHECK: llvm.mlir.global internal @table()
module attributes {gpu.container_module} {
  gpu.module @kernels {
    llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    llvm.mlir.global internal @table() {addr_space = 3 : i32} : !llvm.array<4 x f32>
  }
}
