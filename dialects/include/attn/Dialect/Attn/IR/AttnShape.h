//===- AttnShape.h - shapes and checks shared by attn ops ------*- C++ -*-===//
//
// The problem dimensions of an attention op read off its tensor types, and the checks every op of
// the dialect shares, so that each constraint of SPEC §2-3 is written once with one message.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_DIALECT_ATTN_IR_ATTNSHAPE_H
#define ATTN_DIALECT_ATTN_IR_ATTNSHAPE_H

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Operation.h"
#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include <optional>

namespace mlir::attn {

/// Dimensions of an attention problem; batch and sequence lengths may be ShapedType::kDynamic.
struct ProblemShape {
  int64_t batch = 0, seqQ = 0, seqKv = 0;
  int64_t headsQ = 0, headsKv = 0, headDim = 0, headDimV = 0;
  int64_t pageSize = 0; // keys per page of a paged KV cache (K/V [P, page, Hkv, D]); 0 = none
  Type elementType;
};

/// Largest page of a paged KV cache (SPEC §2: a power of two from 1 to 256).
constexpr int64_t kMaxPageSize = 256;

/// Largest head dim the dialect accepts (SPEC §2 lists 32..256; 512 leaves room for MLA-style
/// dims).
constexpr int64_t kMaxHeadDim = 512;

/// Largest head counts (each of Hq and Hkv) and query heads per kv head: kernels hold a whole GQA
/// group per work item, and their size grows with it. The C API has the same limits
/// (ATTN_MAX_HEADS, ATTN_MAX_GQA_GROUP).
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxGroup = 256;

/// Longest sequence (the int32 range of per-batch lengths, ATTN_MAX_SEQUENCE_LENGTH): window bounds
/// and global token counts above it are refused, so that no position arithmetic overflows.
constexpr int64_t kMaxSequenceLength = 2147483647;

/// The CPU tile configuration (`attn.cpu_config = #attn.cpu_config<...>`, AttnAttrs.td): set by
/// attn-configure-cpu or by hand, read by the CPU kernel generators, verified by the dialect.
constexpr llvm::StringLiteral kCPUConfigAttrName = "attn.cpu_config";
/// The discardable attribute saying how an op's configuration was chosen (any target): "heuristic"
/// (a configure pass chose it), "tuned" (from a tuning database); absent: given in the input.
/// The kernel manifest carries it (config_source), so a kernel says which it used.
constexpr llvm::StringLiteral kConfigSourceAttrName = "attn.config_source";
/// Keys per K/V tile and query rows per work item (block_q x the GQA group) at most: scratch
/// buffers and unrolled code grow with them.
constexpr int64_t kMaxCPUBlockK = 1024;
constexpr int64_t kMaxCPURowsPerItem = 256;
/// Decode rows per item (its scratch is decode_rows x block_k scores) and keys per KV split at
/// most.
constexpr int64_t kMaxCPUDecodeRows = 256;
constexpr int64_t kMaxCPUSplitKeys = int64_t(1) << 20;

/// Checks the values of a CPU configuration (emitting through `emitError`): vector_width 4, 8 or
/// 16; block_k a multiple of it, at most kMaxCPUBlockK; block_q >= 1 and block_q x `group` (query
/// heads per kv head) at most kMaxCPURowsPerItem; decode_rows in [1, kMaxCPUDecodeRows];
/// split_keys a multiple of block_k, at most kMaxCPUSplitKeys; amx 0 or 1, and 1 only with
/// vector_width 16 and block_k a multiple of 32; dpbf16 0 or 1, and 1 only with vector_width 16.
LogicalResult verifyCPUConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                    int64_t blockQ, int64_t blockK, int64_t vectorWidth,
                                    int64_t decodeRows, int64_t splitKeys, int64_t group,
                                    int64_t amx = 0, int64_t dpbf16 = 0);

/// Checks an `attn.cpu_config` value on `op`: a #attn.cpu_config whose block_q fits op's group.
LogicalResult verifyCPUConfig(Operation *op, Attribute config);

/// The Vulkan tile configuration (`attn.vulkan_config = #attn.vulkan_config<...>`, AttnAttrs.td).
constexpr llvm::StringLiteral kVulkanConfigAttrName = "attn.vulkan_config";
constexpr int64_t kMaxVulkanTeams = 32;
constexpr int64_t kMaxVulkanWorkgroupSize = 1024;
constexpr int64_t kMaxVulkanBlockK = 256;
constexpr int64_t kMaxVulkanSplitKeys = int64_t(1) << 20;

/// Checks the values of a Vulkan configuration: subgroup_size a power of two in [4, 128]; teams in
/// [1, kMaxVulkanTeams] with teams x subgroup_size <= kMaxVulkanWorkgroupSize; block_k a multiple
/// of subgroup_size, at most kMaxVulkanBlockK; split_keys a multiple of block_k, at most
/// kMaxVulkanSplitKeys; chunk in [1, kMaxVulkanChunk]; coopmat 0 or 1, and with 1 block_k a
/// multiple of 16.
LogicalResult verifyVulkanConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                       int64_t subgroupSize, int64_t teams, int64_t blockK,
                                       int64_t splitKeys, int64_t chunk, int64_t coopmat);
constexpr int64_t kMaxVulkanChunk = 64;
/// Shared memory a Vulkan softmax workgroup stages: f32 K and V tiles (K rows padded by one
/// element, so that lanes reading one dim of consecutive keys hit distinct banks) and the teams'
/// query rows.
inline int64_t vulkanSharedBytes(int64_t headDim, int64_t headDimV, int64_t teams, int64_t blockK) {
  return 4 * (blockK * (headDim + 1 + headDimV) + teams * headDim);
}
/// Shared memory a Vulkan linear-attention workgroup stages: φ(q) and φ(k) of a chunk, the
/// chunk's scores and normalizer terms, and the running normalizer z.
inline int64_t vulkanLinearSharedBytes(int64_t headDim, int64_t chunk) {
  return 4 * (chunk * (2 * headDim + chunk + 1) + headDim);
}
/// The CUDA tile configuration (`attn.cuda_config = #attn.cuda_config<...>`, AttnAttrs.td).
constexpr llvm::StringLiteral kCUDAConfigAttrName = "attn.cuda_config";
constexpr int64_t kMaxCUDAWarps = 8;
constexpr int64_t kMaxCUDABlockN = 256;
constexpr int64_t kMaxCUDAStages = 4;
constexpr int64_t kMaxCUDAChunk = 64;
/// The tensor-core path's largest head dim (its accumulators live in registers).
constexpr int64_t kMaxCUDAMmaHeadDim = 256;
/// Checks the values of a CUDA configuration: warps in [1, kMaxCUDAWarps]; block_n a multiple of
/// 16 (mma) or 32 (SIMT) up to kMaxCUDABlockN; stages in [1, kMaxCUDAStages]; mma 0 or 1;
/// split_keys a multiple of block_n up to kMaxVulkanSplitKeys; chunk in [1, kMaxCUDAChunk].
LogicalResult verifyCUDAConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                     int64_t warps, int64_t blockN, int64_t stages, int64_t mma,
                                     int64_t splitKeys, int64_t chunk);
/// Dynamic shared memory of the tensor-core prefill: 16-bit Q rows (16 per warp), `stages` K
/// and V tiles, every row padded by 8 elements (16 bytes) so that ldmatrix reads of 8 rows hit
/// 8 distinct bank groups.
inline int64_t cudaMmaSharedBytes(int64_t headDim, int64_t headDimV, int64_t warps, int64_t blockN,
                                  int64_t stages) {
  return 2 * (16 * warps * (headDim + 8) + stages * blockN * (headDim + headDimV + 16));
}

/// Shared memory of the cooperative-matrix prefill: f16 Q rows (16 per team), K and V tiles;
/// per team f32 scores, f16 probabilities, the f32 output accumulator and the row state.
inline int64_t vulkanCoopSharedBytes(int64_t headDim, int64_t headDimV, int64_t teams,
                                     int64_t blockK) {
  return 2 * (teams * 16 * headDim + blockK * (headDim + headDimV)) +
         teams * 16 * (4 * blockK + 2 * blockK + 4 * headDimV + 12);
}

/// True for the element types Q/K/V/O may have: f32, f16, bf16.
bool isSupportedElementType(Type type);

/// Checks Q [B,Sq,Hq,D], K [B,Skv,Hkv,D], V [B,Skv,Hkv,Dv]: ranks, static head counts and head
/// dims, dtypes, matching dims, Hq % Hkv == 0. Fills `shape` on success. `paged`: K and V are
/// pages [P, page_size, Hkv, D|Dv] of a paged KV cache instead (page_size static, a power of two
/// at most kMaxPageSize, the same for both; shape.seqKv is then dynamic: the block table's).
LogicalResult verifyQKV(Operation *op, Type query, Type key, Type value, ProblemShape &shape,
                        bool paged = false);

/// Checks a paged KV cache's block table (i32 [B, max_pages]) against the batch.
LogicalResult verifyBlockTable(Operation *op, Value table, const ProblemShape &shape);

/// Checks that `type` is a ranked tensor of rank expected.size() whose dims are compatible with
/// `expected` (kDynamic matches anything) and, when given, whose element type is `elementType`.
/// `what` names the value in messages; `dimNames` names each dim.
LogicalResult verifyTensorType(Operation *op, StringRef what, Type type, ArrayRef<int64_t> expected,
                               ArrayRef<StringRef> dimNames, Type elementType);

/// The [B, Sq, Hq, Dv] output / accumulator shape and the [B, Hq, Sq] statistics shape.
SmallVector<int64_t> outputDims(const ProblemShape &shape);
SmallVector<int64_t> statDims(const ProblemShape &shape);
extern const StringRef kOutputDimNames[4];
extern const StringRef kStatDimNames[3];

/// Checks an optional per-batch length operand: i32 [B].
LogicalResult verifySeqLens(Operation *op, StringRef what, Value lens, const ProblemShape &shape);
/// Per-query-head values (alibi_slopes, sinks): one entry per query head.
LogicalResult verifyHeadValues(Operation *op, StringRef what, Value values,
                               const ProblemShape &shape);

/// Checks the shared score/mask attributes: finite scale, window of two bounds >= -1,
/// global tokens >= 0, finite softcap > 0.
LogicalResult verifyScoreAttrs(Operation *op, std::optional<double> scale,
                               std::optional<ArrayRef<int64_t>> window,
                               std::optional<int64_t> globalTokens, std::optional<double> softcap);

/// The canonical form of a mask (AttnCanonicalize.cpp): a band's right bound of 0 is `causal`,
/// `causal` carries no right bound, an unbounded band ([-1, -1]) is no window, and global tokens
/// count only where a finite band remains (else 0). Bounds of -1 are unbounded.
struct CanonicalMask {
  bool causal;
  int64_t left, right, globalTokens;
  bool finiteBand() const { return left != -1 || right != -1; }
};
CanonicalMask canonicalMask(bool causal, int64_t left, int64_t right, int64_t globalTokens);

} // namespace mlir::attn

#endif // ATTN_DIALECT_ATTN_IR_ATTNSHAPE_H
