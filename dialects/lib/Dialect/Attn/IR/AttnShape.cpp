//===- AttnShape.cpp - shapes and checks shared by attn ops ---------------===//

#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::attn;

const StringRef mlir::attn::kOutputDimNames[4] = {"batch", "query length", "query heads",
                                                  "value head dim"};
const StringRef mlir::attn::kStatDimNames[3] = {"batch", "query heads", "query length"};

bool mlir::attn::isSupportedElementType(Type type) {
  return type.isF32() || type.isF16() || type.isBF16();
}

static std::string dimString(int64_t d) {
  return ShapedType::isDynamic(d) ? std::string("?") : std::to_string(d);
}

static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// Returns the rank-4 tensor type of a Q/K/V operand or emits "<what> must be a rank-4 tensor".
static RankedTensorType rank4(Operation *op, StringRef what, StringRef layout, Type type) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() != 4) {
    op->emitOpError() << what << " must be a rank-4 tensor " << layout << ", got " << type;
    return nullptr;
  }
  return tensor;
}

LogicalResult mlir::attn::verifyQKV(Operation *op, Type query, Type key, Type value,
                                    ProblemShape &shape, bool paged) {
  auto q = rank4(op, "query", "[B, Sq, Hq, D]", query);
  if (!q)
    return failure();
  auto k = rank4(op, "key", paged ? "[P, page_size, Hkv, D]" : "[B, Skv, Hkv, D]", key);
  if (!k)
    return failure();
  auto v = rank4(op, "value", paged ? "[P, page_size, Hkv, Dv]" : "[B, Skv, Hkv, Dv]", value);
  if (!v)
    return failure();

  Type elt = q.getElementType();
  if (!isSupportedElementType(elt))
    return op->emitOpError() << "query element type must be f32, f16 or bf16, got " << elt;
  if (k.getElementType() != elt)
    return op->emitOpError() << "key element type " << k.getElementType()
                             << " does not match query element type " << elt;
  if (v.getElementType() != elt)
    return op->emitOpError() << "value element type " << v.getElementType()
                             << " does not match query element type " << elt;

  struct StaticDim {
    RankedTensorType type;
    int64_t index;
    StringRef name;
  };
  for (StaticDim d : {StaticDim{q, 2, "query heads"}, StaticDim{q, 3, "query head dim"},
                      StaticDim{k, 2, "key heads"}, StaticDim{k, 3, "key head dim"},
                      StaticDim{v, 2, "value heads"}, StaticDim{v, 3, "value head dim"}}) {
    int64_t size = d.type.getDimSize(d.index);
    if (ShapedType::isDynamic(size))
      return op->emitOpError() << d.name << " must be static (dim " << d.index << ")";
    if (size <= 0)
      return op->emitOpError() << d.name << " must be positive, got " << size;
  }

  shape.elementType = elt;
  shape.batch = q.getDimSize(0);
  shape.seqQ = q.getDimSize(1);
  shape.headsQ = q.getDimSize(2);
  shape.headDim = q.getDimSize(3);
  shape.headsKv = k.getDimSize(2);
  shape.headDimV = v.getDimSize(3);
  shape.seqKv = ShapedType::isDynamic(k.getDimSize(1)) ? v.getDimSize(1) : k.getDimSize(1);

  if (k.getDimSize(3) != shape.headDim)
    return op->emitOpError() << "key head dim " << k.getDimSize(3)
                             << " does not match query head dim " << shape.headDim;
  if (shape.headDim > kMaxHeadDim || shape.headDimV > kMaxHeadDim)
    return op->emitOpError() << "head dims above " << kMaxHeadDim
                             << " are not supported, got D = " << shape.headDim
                             << ", Dv = " << shape.headDimV;
  if (v.getDimSize(2) != shape.headsKv)
    return op->emitOpError() << "value heads " << v.getDimSize(2) << " do not match key heads "
                             << shape.headsKv;
  if (shape.headsQ > kMaxHeads || shape.headsKv > kMaxHeads)
    return op->emitOpError() << "at most " << kMaxHeads << " heads are supported, got "
                             << shape.headsQ << " query heads and " << shape.headsKv << " kv heads";
  if (shape.headsQ % shape.headsKv != 0)
    return op->emitOpError() << "query heads " << shape.headsQ << " must be a multiple of kv heads "
                             << shape.headsKv << " (grouped-query attention)";
  if (shape.headsQ / shape.headsKv > kMaxGroup)
    return op->emitOpError() << "at most " << kMaxGroup << " query heads per kv head are "
                             << "supported, got " << shape.headsQ / shape.headsKv;
  if (paged) {
    if (!compatible(k.getDimSize(0), v.getDimSize(0)))
      return op->emitOpError() << "value pages " << dimString(v.getDimSize(0))
                               << " do not match key pages " << dimString(k.getDimSize(0));
    int64_t page = k.getDimSize(1);
    if (ShapedType::isDynamic(page) || page < 1 || page > kMaxPageSize ||
        !llvm::isPowerOf2_64(page))
      return op->emitOpError() << "the page size of a paged KV cache (key dim 1) must be a static "
                               << "power of two from 1 to " << kMaxPageSize << ", got "
                               << dimString(page);
    if (v.getDimSize(1) != page)
      return op->emitOpError() << "value page size " << dimString(v.getDimSize(1))
                               << " does not match key page size " << page;
    shape.pageSize = page;
    shape.seqKv = ShapedType::kDynamic;
    return success();
  }
  for (auto [name, type] : {std::pair<StringRef, RankedTensorType>{"key", k}, {"value", v}}) {
    if (!compatible(type.getDimSize(0), shape.batch))
      return op->emitOpError() << name << " batch " << dimString(type.getDimSize(0))
                               << " does not match query batch " << dimString(shape.batch);
  }
  if (!compatible(k.getDimSize(1), v.getDimSize(1)))
    return op->emitOpError() << "value length " << dimString(v.getDimSize(1))
                             << " does not match key length " << dimString(k.getDimSize(1));
  if (ShapedType::isDynamic(shape.batch))
    shape.batch = ShapedType::isDynamic(k.getDimSize(0)) ? v.getDimSize(0) : k.getDimSize(0);
  return success();
}

SmallVector<int64_t> mlir::attn::outputDims(const ProblemShape &s) {
  return {s.batch, s.seqQ, s.headsQ, s.headDimV};
}

SmallVector<int64_t> mlir::attn::statDims(const ProblemShape &s) {
  return {s.batch, s.headsQ, s.seqQ};
}

LogicalResult mlir::attn::verifyTensorType(Operation *op, StringRef what, Type type,
                                           ArrayRef<int64_t> expected, ArrayRef<StringRef> dimNames,
                                           Type elementType) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || tensor.getRank() != static_cast<int64_t>(expected.size()))
    return op->emitOpError() << what << " must be a rank-" << expected.size() << " tensor, got "
                             << type;
  if (elementType && tensor.getElementType() != elementType)
    return op->emitOpError() << what << " element type must be " << elementType << ", got "
                             << tensor.getElementType();
  for (auto [i, dim] : llvm::enumerate(expected)) {
    if (!compatible(tensor.getDimSize(i), dim))
      return op->emitOpError() << what << " " << dimNames[i] << " (dim " << i << ") is "
                               << dimString(tensor.getDimSize(i)) << ", expected "
                               << dimString(dim);
  }
  return success();
}

LogicalResult mlir::attn::verifyBlockTable(Operation *op, Value table, const ProblemShape &shape) {
  auto type = cast<RankedTensorType>(table.getType());
  if (!compatible(type.getDimSize(0), shape.batch))
    return op->emitOpError() << "block_table has " << dimString(type.getDimSize(0))
                             << " rows, expected one per batch (" << dimString(shape.batch) << ")";
  return success();
}

LogicalResult mlir::attn::verifySeqLens(Operation *op, StringRef what, Value lens,
                                        const ProblemShape &shape) {
  if (!lens)
    return success();
  auto type = cast<RankedTensorType>(lens.getType());
  if (!compatible(type.getDimSize(0), shape.batch))
    return op->emitOpError() << what << " has " << dimString(type.getDimSize(0))
                             << " entries, expected one per batch (" << dimString(shape.batch)
                             << ")";
  return success();
}

LogicalResult mlir::attn::verifyHeadValues(Operation *op, StringRef what, Value values,
                                           const ProblemShape &shape) {
  if (!values)
    return success();
  auto type = cast<RankedTensorType>(values.getType());
  if (!compatible(type.getDimSize(0), shape.headsQ))
    return op->emitOpError() << what << " has " << dimString(type.getDimSize(0))
                             << " entries, expected one per query head (" << dimString(shape.headsQ)
                             << ")";
  return success();
}

LogicalResult mlir::attn::verifyScoreAttrs(Operation *op, std::optional<double> scale,
                                           std::optional<ArrayRef<int64_t>> window,
                                           std::optional<int64_t> globalTokens,
                                           std::optional<double> softcap) {
  if (scale && !std::isfinite(*scale))
    return op->emitOpError() << "scale must be finite, got " << *scale;
  if (window) {
    if (window->size() != 2)
      return op->emitOpError() << "window must hold two bounds [left, right], got "
                               << window->size();
    for (auto [name, bound] :
         {std::pair<StringRef, int64_t>{"left", (*window)[0]}, {"right", (*window)[1]}}) {
      if (bound < -1)
        return op->emitOpError() << "window " << name << " bound must be >= 0, or -1 for "
                                 << "unbounded, got " << bound;
      if (bound > kMaxSequenceLength)
        return op->emitOpError() << "window " << name << " bound " << bound
                                 << " exceeds the longest sequence (" << kMaxSequenceLength
                                 << "); use -1 for unbounded";
    }
  }
  if (globalTokens && (*globalTokens < 0 || *globalTokens > kMaxSequenceLength))
    return op->emitOpError() << "global_tokens must be in [0, " << kMaxSequenceLength << "], got "
                             << *globalTokens;
  if (softcap && !(std::isfinite(*softcap) && *softcap > 0))
    return op->emitOpError() << "softcap must be finite and > 0, got " << *softcap
                             << " (omit it for no softcap)";
  return success();
}

LogicalResult mlir::attn::verifyCPUConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                                int64_t blockQ, int64_t blockK, int64_t width,
                                                int64_t decodeRows, int64_t splitKeys,
                                                int64_t group, int64_t amx, int64_t dpbf16) {
  if (width != 4 && width != 8 && width != 16)
    return emitError() << "vector_width must be 4, 8 or 16, got " << width;
  if (blockK < width || blockK > kMaxCPUBlockK || blockK % width != 0)
    return emitError() << "block_k must be a multiple of vector_width (" << width << ") in ["
                       << width << ", " << kMaxCPUBlockK << "], got " << blockK;
  int64_t maxBlockQ = std::max<int64_t>(1, kMaxCPURowsPerItem / group);
  if (blockQ < 1 || blockQ > maxBlockQ)
    return emitError() << "block_q must be in [1, " << maxBlockQ << "] (block_q x " << group
                       << " query heads per kv head <= " << kMaxCPURowsPerItem << " rows), got "
                       << blockQ;
  if (decodeRows < 1 || decodeRows > kMaxCPUDecodeRows)
    return emitError() << "decode_rows must be in [1, " << kMaxCPUDecodeRows << "], got "
                       << decodeRows;
  if (splitKeys < blockK || splitKeys > kMaxCPUSplitKeys || splitKeys % blockK != 0)
    return emitError() << "split_keys must be a multiple of block_k (" << blockK << ") in ["
                       << blockK << ", " << kMaxCPUSplitKeys << "], got " << splitKeys;
  if (amx != 0 && amx != 1)
    return emitError() << "amx must be 0 or 1, got " << amx;
  if (amx && (width != 16 || blockK % 32 != 0))
    return emitError() << "amx = 1 needs vector_width 16 and block_k a multiple of 32, got "
                       << width << " and " << blockK;
  if (dpbf16 != 0 && dpbf16 != 1)
    return emitError() << "dpbf16 must be 0 or 1, got " << dpbf16;
  if (dpbf16 && width != 16)
    return emitError() << "dpbf16 = 1 needs vector_width 16, got " << width;
  return success();
}

LogicalResult
mlir::attn::verifyVulkanConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                     int64_t subgroupSize, int64_t teams, int64_t blockK,
                                     int64_t splitKeys, int64_t chunk, int64_t coopmat) {
  if (subgroupSize < 4 || subgroupSize > 128 || (subgroupSize & (subgroupSize - 1)) != 0)
    return emitError() << "subgroup_size must be a power of two in [4, 128], got " << subgroupSize;
  int64_t maxTeams = std::min(kMaxVulkanTeams, kMaxVulkanWorkgroupSize / subgroupSize);
  if (teams < 1 || teams > maxTeams)
    return emitError() << "teams must be in [1, " << maxTeams
                       << "] (teams x subgroup_size <= " << kMaxVulkanWorkgroupSize
                       << " invocations), got " << teams;
  if (blockK < subgroupSize || blockK > kMaxVulkanBlockK || blockK % subgroupSize != 0)
    return emitError() << "block_k must be a multiple of subgroup_size (" << subgroupSize
                       << ") in [" << subgroupSize << ", " << kMaxVulkanBlockK << "], got "
                       << blockK;
  if (splitKeys < blockK || splitKeys > kMaxVulkanSplitKeys || splitKeys % blockK != 0)
    return emitError() << "split_keys must be a multiple of block_k (" << blockK << ") in ["
                       << blockK << ", " << kMaxVulkanSplitKeys << "], got " << splitKeys;
  if (chunk < 1 || chunk > kMaxVulkanChunk)
    return emitError() << "chunk must be in [1, " << kMaxVulkanChunk << "], got " << chunk;
  if (coopmat != 0 && coopmat != 1)
    return emitError() << "coopmat must be 0 or 1, got " << coopmat;
  if (coopmat && blockK % 16 != 0)
    return emitError() << "coopmat needs block_k to be a multiple of 16 (the matrix tiles), got "
                       << blockK;
  return success();
}

LogicalResult mlir::attn::verifyCUDAConfigValues(llvm::function_ref<InFlightDiagnostic()> emitError,
                                                 int64_t warps, int64_t blockN, int64_t stages,
                                                 int64_t mma, int64_t splitKeys, int64_t chunk) {
  if (warps < 1 || warps > kMaxCUDAWarps)
    return emitError() << "warps must be in [1, " << kMaxCUDAWarps << "], got " << warps;
  if (mma != 0 && mma != 1)
    return emitError() << "mma must be 0 or 1, got " << mma;
  int64_t step = mma ? 16 : 32;
  if (blockN < step || blockN > kMaxCUDABlockN || blockN % step != 0)
    return emitError() << "block_n must be a multiple of " << step << " in [" << step << ", "
                       << kMaxCUDABlockN << "]" << (mma ? "" : " on the SIMT path (mma = 0)")
                       << ", got " << blockN;
  if (stages < 1 || stages > kMaxCUDAStages)
    return emitError() << "stages must be in [1, " << kMaxCUDAStages << "], got " << stages;
  if (splitKeys < blockN || splitKeys > kMaxVulkanSplitKeys || splitKeys % blockN != 0)
    return emitError() << "split_keys must be a multiple of block_n (" << blockN << ") in ["
                       << blockN << ", " << kMaxVulkanSplitKeys << "], got " << splitKeys;
  if (chunk < 1 || chunk > kMaxCUDAChunk)
    return emitError() << "chunk must be in [1, " << kMaxCUDAChunk << "], got " << chunk;
  return success();
}

LogicalResult mlir::attn::verifyCPUConfig(Operation *op, Attribute attr) {
  auto config = dyn_cast<CPUConfigAttr>(attr);
  if (!config)
    return op->emitOpError() << "'" << kCPUConfigAttrName << "' must be a #attn.cpu_config, got "
                             << attr;
  int64_t group = 1;
  if (isa<AttentionOp, OnlineAttentionOp, LinearAttentionOp>(op)) {
    auto q = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    auto k = dyn_cast<RankedTensorType>(op->getOperand(1).getType());
    if (q && k && q.getRank() == 4 && k.getRank() == 4 && q.getDimSize(2) > 0 &&
        k.getDimSize(2) > 0 && q.getDimSize(2) % k.getDimSize(2) == 0)
      group = q.getDimSize(2) / k.getDimSize(2);
  }
  auto emitError = [&] { return op->emitOpError() << "'" << kCPUConfigAttrName << "' "; };
  if (failed(verifyCPUConfigValues(emitError, config.getBlockQ(), config.getBlockK(),
                                   config.getVectorWidth(), config.getDecodeRows(),
                                   config.getSplitKeys(), group, config.getAmx(),
                                   config.getDpbf16())))
    return failure();
  if (config.getDpbf16()) {
    auto q = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    if (!isa<AttentionOp>(op) || !q || q.getRank() != 4 || !q.getElementType().isBF16() ||
        q.getDimSize(3) % 32 != 0)
      return emitError() << "dpbf16 = 1 needs a softmax attention on bf16 with D a multiple of 32";
  }
  if (config.getAmx()) {
    auto q = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
    auto v = op->getNumOperands() > 2 ? dyn_cast<RankedTensorType>(op->getOperand(2).getType())
                                      : RankedTensorType();
    if (!isa<AttentionOp>(op) || !q || !v || q.getRank() != 4 || v.getRank() != 4 ||
        !q.getElementType().isBF16() || q.getDimSize(3) % 32 != 0 || v.getDimSize(3) % 16 != 0)
      return emitError() << "amx = 1 needs a softmax attention on bf16 with D a multiple of 32 "
                         << "and Dv a multiple of 16";
  }
  return success();
}
