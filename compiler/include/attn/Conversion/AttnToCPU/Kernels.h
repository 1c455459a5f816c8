//===- Kernels.h - CPU kernel generators for attn ops ----------*- C++ -*-===//
//
// Each generator turns one attn op (a problem description on tensors) into a kernel function on
// the caller's strided buffers, following the entry-point contracts of attn_jit_plugin.h. The
// tile configuration comes from the `attn.cpu_config` attribute set by attn-configure-cpu.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_CONVERSION_ATTNTOCPU_KERNELS_H
#define ATTN_CONVERSION_ATTNTOCPU_KERNELS_H

#include "attn/Conversion/Common/AttentionLogic.h"
#include "attn/Conversion/Common/KernelEmitter.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::attn {

/// Defaults of #attn.cpu_config's decode parameters (AttnAttrs.td): query rows (Sq x Hq) the
/// decode kernel handles per work item, and keys per KV split (shorter splits cost more merging
/// and workspace than the parallelism they buy).
constexpr int64_t kDefaultDecodeRows = 64;
constexpr int64_t kDefaultSplitKeys = 256;

/// Tile parameters of a CPU kernel (the autotuner's search space).
struct CPUKernelConfig {
  int64_t blockQ = 0;      // query rows per work item (per query head)
  int64_t blockK = 0;      // keys per K/V tile
  int64_t vectorWidth = 0; // f32 lanes per vector register (16 for AVX-512, 8 for AVX2)
  int64_t decodeRows = kDefaultDecodeRows; // query rows (Sq x Hq) of a split-KV decode item
  int64_t splitKeys = kDefaultSplitKeys;   // keys per KV split of a decode launch, at least
  int64_t amx = 0;    // 1: the bf16 prefill kernel's products on AMX tiles (SoftmaxKernel.cpp)
  int64_t dpbf16 = 0; // 1: bf16 products on AVX512-BF16 VDPBF16PS: the decode kernel's Q·K, and
                      // both products of the prefill kernel unless amx (Decode/SoftmaxKernel.cpp)
};

/// Heuristic configuration for `op` (attn.attention or attn.linear_attention). `amx`: the target
/// can run AMX-BF16 code (CPUTargetInfo::hasAMX); problems AMX fits get its kernel. `dpbf16`: the
/// target has AVX512-BF16 (CPUTargetInfo::hasAVX512BF16); bf16 decode with D % 32 == 0 uses it.
CPUKernelConfig chooseCPUConfig(Operation *op, int64_t vectorWidth, bool amx = false,
                                bool dpbf16 = false);
/// Whether the AMX prefill kernel can compute `op`: bf16 softmax attention, D a multiple of 32 and
/// Dv of 16 (the shapes of its tiles).
bool amxFits(AttentionOp op);
/// Whether the decode kernel's Q·K can run on VDPBF16PS for `op`: bf16, D a multiple of 32.
bool dpbf16Fits(AttentionOp op);
/// Reads / writes the `attn.cpu_config` dictionary attribute.
FailureOr<CPUKernelConfig> getCPUConfig(Operation *op);
void setCPUConfig(Operation *op, const CPUKernelConfig &config);

/// Names of the generated entry points (attn_jit_plugin.h).
/// Vector registers of the ISA a vector width stands for on x86-64: 16 lanes is AVX-512 (32 zmm),
/// 8 is AVX2 and 4 is SSE (16 ymm / xmm). Register blocks are sized to fit them: a block that
/// does not fit spills in the hot loop.
inline int64_t vectorRegistersFor(int64_t vectorWidth) { return vectorWidth == 16 ? 32 : 16; }

constexpr StringLiteral kSoftmaxMainName = "attn_main";
constexpr StringLiteral kSoftmaxDecodeName = "attn_decode";
constexpr StringLiteral kMergeName = "attn_merge";
/// The merge of parts in the problem's own dtype (attn_kernel_merge; f16/bf16 problems only: an
/// f32 problem's attn_merge already takes f32 parts).
constexpr StringLiteral kMergePartsName = "attn_merge_parts";
constexpr StringLiteral kLinearName = "attn_linear";

/// Flash-style softmax attention: queries on the vector lanes, register-blocked micro-kernels.
/// With config.amx, both products run on AMX tiles (the same softmax, masks and epilogue).
func::FuncOp buildSoftmaxKernel(OpBuilder &builder, AttentionOp op, const CPUKernelConfig &config);
/// Split-KV decode (flash-decoding) for few query rows: vectorized along the head dims, one KV
/// split of one batch (every head) per work item, f32 partial O and LSE for the merge kernel.
func::FuncOp buildDecodeKernel(OpBuilder &builder, AttentionOp op, const CPUKernelConfig &config);
/// The lowering of attn.merge (stacked parts flattened to [P * B, ...]); for a softmax problem it
/// combines the decode kernel's partial results.
func::FuncOp buildMergeKernel(OpBuilder &builder, MergeOp op, const CPUKernelConfig &config,
                              StringRef name = kMergeName);
/// Linear attention: one state accumulation (non-causal) or a causal scan, linear in S.
func::FuncOp buildLinearKernel(OpBuilder &builder, LinearAttentionOp op,
                               const CPUKernelConfig &config);

/// A kernel's scratch buffers live on the stack of the thread running its work items (no heap
/// allocation per launch or per item) up to this many bytes per kernel function; past it, on the
/// heap (placeScratch). The runtime's pool threads have stacks of at least 2 MiB; an engine's
/// parallel_for threads need this much free stack (docs/design.md).
constexpr int64_t kMaxStackScratchBytes = 512 * 1024;
/// A 64-byte aligned scratch buffer of a CPU kernel function, at the builder's insertion point
/// (its entry block, before the work-item loop).
Value scratchBuffer(ImplicitLocOpBuilder &b, MemRefType type);
/// `fn`'s scratch buffers stay on the stack when they total at most kMaxStackScratchBytes; else
/// every one moves to the heap (allocated where it was, freed before each return).
void placeScratch(func::FuncOp fn);

/// memref<?x?x?x?xT, strided<[?, ?, ?, 1], offset: ?>>: a BSHD tensor with the caller's strides.
MemRefType bshdMemRefType(Type elementType);
/// memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>> ([B, Hq, Sq] statistics).
MemRefType statMemRefType(MLIRContext *ctx);
/// memref<?xT, strided<[?], offset: ?>>.
MemRefType vectorMemRefType(Type elementType);
/// memref<?x?xi32, strided<[?, ?], offset: ?>>: a paged KV cache's block table [B, max_pages].
MemRefType blockTableMemRefType(MLIRContext *ctx);

/// The first two indices of key `key` of batch `batchIndex` in K and V: (batch, key) for a
/// contiguous cache, (table[batch, key / page], key % page) for a paged one (SPEC §2). The
/// runtime has checked every table entry a launch reads; the caller reads no key past Lkv.
struct KvRow {
  Value first, second;
};
KvRow kvRow(KernelEmitter &e, const SoftmaxSpec &spec, Value table, Value batchIndex, Value key);
/// Prefetches (for reading) every cache line of kv head `head`'s K and V rows at `row`.
void prefetchKvRow(KernelEmitter &e, const SoftmaxSpec &spec, Value key, Value value, KvRow row,
                   Value head);
/// acc + the pairwise products of two vectors of 32 bf16 (VDPBF16PS, AVX512-BF16): lane i adds
/// x[2i]·y[2i] + x[2i+1]·y[2i+1] to acc[i] (16 f32 lanes).
Value dotBf16(KernelEmitter &e, Value acc, Value x, Value y);
/// A 32-bit pair of bf16 (an i32 scalar) broadcast to all 16 pairs of a vector<32xbf16>.
Value broadcastBf16Pair(KernelEmitter &e, Value pair);
/// The key capacity of a sequence: K's dim 1, or max_pages x page_size for a paged cache.
Value pagedSeqKv(KernelEmitter &e, const SoftmaxSpec &spec, Value key, Value table);

/// An empty entry point `name(args...)` with a C interface (`_mlir_ciface_<name>`, the calling
/// convention of attn_jit_plugin.h), created at `builder`'s insertion point.
func::FuncOp createKernelFunction(OpBuilder &builder, Location loc, StringRef name, TypeRange args);

} // namespace mlir::attn

#endif // ATTN_CONVERSION_ATTNTOCPU_KERNELS_H
