// RUN: attn-opt %s "--attn-lower-to-cuda=arch=sm_80 format=isa" | FileCheck %s
// RUN: attn-opt %s "--attn-lower-to-cuda=arch=sm_80 format=isa" | FileCheck %s --check-prefix=SOFTMAX
// RUN: attn-opt %s "--attn-lower-to-cuda=arch=sm_90a format=isa" | FileCheck %s --check-prefix=SM90A

// The whole CUDA pipeline to PTX (cubins and ptxas's register counts: test/Tools/attnc/cuda.test):
// the three entry points in a gpu.binary, bf16 tensor-core products, ldmatrix (V transposed),
// cp.async with zero fill, and the dynamic shared memory declared as CUDA documents it.
// CHECK: gpu.binary @attn_kernels [#gpu.object<#nvvm.target<O = 3, chip = "sm_80", features = "+ptx80">
// CHECK-SAME: .target sm_80
// CHECK-SAME: .extern .shared .align 16 .b8 __dynamic_shmem__0[];
// CHECK-SAME: .entry attn_main(
// CHECK-SAME: .maxntid 128, 1, 1
// CHECK-SAME: cp.async.cg.shared.global [
// CHECK-SAME: cp.async.commit_group;
// CHECK-SAME: cp.async.wait_group 1;
// CHECK-SAME: .entry attn_decode(
// CHECK-SAME: .maxntid 32, 1, 1
// CHECK-SAME: .entry attn_merge(
// SOFTMAX-DAG: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// SOFTMAX-DAG: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// SOFTMAX-DAG: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// The online softmax: exp2 in hardware, row maxima over the four lanes of a row by xor shuffles.
// SOFTMAX-DAG: ex2.approx
// SOFTMAX-DAG: shfl.sync.bfly.b32
// SM90A: chip = "sm_90a"
// SM90A-SAME: .target sm_90a
func.func @attn(%q: tensor<?x?x8x128xbf16>, %k: tensor<?x?x2x128xbf16>, %v: tensor<?x?x2x128xbf16>) -> tensor<?x?x8x128xbf16> {
  %o = attn.attention %q, %k, %v {window = array<i64: 512, 0>} : tensor<?x?x8x128xbf16>, tensor<?x?x2x128xbf16>, tensor<?x?x2x128xbf16> -> tensor<?x?x8x128xbf16>
  return %o : tensor<?x?x8x128xbf16>
}
