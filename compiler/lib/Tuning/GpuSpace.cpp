//===- GpuSpace.cpp - the Vulkan and CUDA search spaces and their tuned entries ===//
//
// What attnc tune --target=vulkan|cuda may pick: #attn.vulkan_config / #attn.cuda_config values
// the attribute's verifier and the device (vulkanConfigDefect / cudaConfigDefect: subgroup size,
// workgroup and shared-memory limits, cooperative matrices, the tensor-core path's dtypes and head
// dims) accept, the heuristic (chooseVulkanConfig / chooseCUDAConfig) first; and the lookup that
// applies a tuned entry before the configure pass, the same for both.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToCUDA/CUDAKernels.h"
#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/Tuning/Tuning.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"

#include <functional>

using namespace mlir;
using namespace mlir::attn;

namespace {

template <typename Attr> std::string attrText(Attr config) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << Attribute(config);
  return text;
}

template <typename Attr> std::optional<Attr> parseAttr(MLIRContext *ctx, llvm::StringRef text) {
  ctx->loadDialect<AttnDialect>();
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  auto attr = dyn_cast_or_null<Attr>(parseAttribute(text, ctx));
  if (!attr)
    return std::nullopt;
  return attr;
}

int64_t groupOf(AttentionOp op) {
  return cast<RankedTensorType>(op.getQuery().getType()).getDimSize(2) /
         cast<RankedTensorType>(op.getKey().getType()).getDimSize(2);
}

/// How a GPU target's configurations are read, checked and merged: what applyTuned needs.
template <typename Attr> struct GpuTuning {
  const char *target; // the database's target column
  llvm::StringRef attrName;
  std::function<std::string(Attr)> defect;              // "" when the device can run it
  std::function<std::optional<Attr>(Attr, Attr)> merge; // prefill pick + decode pick's split
};

/// The database's picks applied to `op`: the prefill pick's tiles, the decode pick's split where
/// it fits them; each pick must be legal as it is (never repaired into another configuration).
template <typename Attr>
bool applyTuned(Operation *op, const std::string &path, const std::string &device, Attr heuristic,
                const GpuTuning<Attr> &t, std::string &warnings) {
  auto warn = [&](const std::string &message) {
    warnings += "attnc: warning: " + message + "; using the heuristic configuration\n";
    return std::nullopt;
  };
  std::optional<TunedRows> rows = lookupTuned(op, path, device, t.target, warnings);
  if (!rows)
    return false;
  auto read = [&](const TuningRow &row) -> std::optional<Attr> {
    std::optional<Attr> tuned = parseAttr<Attr>(op->getContext(), row.config);
    if (!tuned)
      return warn("tuning database " + path + " has an unreadable entry '" + row.config + "'");
    if (std::string defect = t.defect(*tuned); !defect.empty())
      return warn("tuning database " + path + " has an illegal entry " + row.config +
                  " for this problem on this device (" + defect + ")");
    return tuned;
  };
  Attr config = heuristic;
  if (rows->prefill) {
    std::optional<Attr> tuned = read(*rows->prefill);
    if (!tuned)
      return false;
    config = *tuned;
  }
  if (rows->decode) {
    std::optional<Attr> tuned = read(*rows->decode);
    if (!tuned)
      return false;
    if (std::optional<Attr> merged = t.merge(config, *tuned))
      config = *merged;
  }
  op->setAttr(t.attrName, config);
  op->setAttr(kConfigSourceAttrName, StringAttr::get(op->getContext(), "tuned"));
  return true;
}

/// split rounded to a multiple of `tile`, at least one tile.
int64_t splitFor(int64_t split, int64_t tile) { return std::max(split, tile) / tile * tile; }

} // namespace

//===- Vulkan -------------------------------------------------------------===//

std::string mlir::attn::vulkanDeviceFingerprint(const VulkanTargetInfo &target) {
  const VulkanTargetInfo::Device &d = target.device();
  return "vulkan " + d.name + ";" + target.fingerprint() +
         ";workgroup=" + std::to_string(d.maxWorkgroupSize) +
         ";coopmat=" + std::to_string(int(d.cooperativeMatrix));
}

std::string mlir::attn::vulkanConfigText(VulkanConfigAttr config) { return attrText(config); }

std::optional<VulkanConfigAttr> mlir::attn::parseVulkanConfig(MLIRContext *ctx,
                                                              llvm::StringRef text) {
  return parseAttr<VulkanConfigAttr>(ctx, text);
}

std::optional<VulkanConfigAttr> mlir::attn::makeVulkanConfig(Operation *op,
                                                             const VulkanTargetInfo &target,
                                                             int64_t teams, int64_t blockK,
                                                             int64_t splitKeys, int64_t chunk,
                                                             int64_t coopmat, std::string &why) {
  MLIRContext *ctx = op->getContext();
  ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &d) {
    why = d.str();
    return success();
  });
  VulkanConfigAttr config = VulkanConfigAttr::getChecked([&] { return emitError(op->getLoc()); },
                                                         ctx, target.device().subgroupSize, teams,
                                                         blockK, splitKeys, chunk, coopmat);
  if (!config)
    return std::nullopt;
  why = vulkanConfigDefect(op, config, target);
  if (!why.empty())
    return std::nullopt;
  return config;
}

int64_t mlir::attn::vulkanDecodeRows(Operation *op, const VulkanTargetInfo &target) {
  std::string why;
  FailureOr<VulkanConfigAttr> heuristic = chooseVulkanConfig(op, target, why);
  auto attention = dyn_cast<AttentionOp>(op);
  if (failed(heuristic) || !attention)
    return 0;
  // describeVulkanModule's decode_max_rows: one workgroup's query rows of every head.
  int64_t heads = cast<RankedTensorType>(attention.getQuery().getType()).getDimSize(2);
  return SimtWorkgroupShape::get(simtConfig(*heuristic), groupOf(attention)).rows * heads;
}

std::vector<VulkanConfigAttr>
mlir::attn::vulkanSearchSpace(Operation *op, const VulkanTargetInfo &target, Phase phase) {
  std::string why;
  FailureOr<VulkanConfigAttr> heuristic = chooseVulkanConfig(op, target, why);
  if (failed(heuristic))
    return {};
  const VulkanConfigAttr h = *heuristic;
  std::vector<VulkanConfigAttr> space{h};
  auto add = [&](int64_t teams, int64_t blockK, int64_t splitKeys, int64_t chunk, int64_t coopmat) {
    std::optional<VulkanConfigAttr> c =
        makeVulkanConfig(op, target, teams, blockK, splitKeys, chunk, coopmat, why);
    if (c && std::find(space.begin(), space.end(), *c) == space.end())
      space.push_back(*c);
  };
  if (isa<LinearAttentionOp>(op)) {
    // Value columns per workgroup (teams x lanes) and the scan's chunk.
    for (int64_t teams = 1; teams <= kMaxVulkanTeams; teams *= 2)
      for (int64_t chunk : {4, 8, 16, 32, 64})
        add(teams, h.getBlockK(), h.getSplitKeys(), chunk, 0);
    return space;
  }
  if (phase == Phase::Decode) {
    // The decode kernel's own field: keys per split; its tiles stay the heuristic's (the prefill
    // pick's, when both are tuned).
    for (int64_t split = 64; split <= 4096; split *= 2)
      add(h.getTeams(), h.getBlockK(), splitFor(split, h.getBlockK()), h.getChunk(),
          h.getCoopmat());
    return space;
  }
  // Prefill: rows per workgroup (teams) and keys per staged K/V tile, on the heuristic's path
  // (SIMT, or cooperative matrices with their 16-key granularity).
  const int64_t lanes = target.device().subgroupSize;
  const int64_t granule = h.getCoopmat() ? std::max<int64_t>(16, lanes) : lanes;
  for (int64_t teams = 1; teams <= kMaxVulkanTeams; teams *= 2)
    for (int64_t blockK = granule; blockK <= 256; blockK *= 2)
      add(teams, blockK, splitFor(h.getSplitKeys(), blockK), h.getChunk(), h.getCoopmat());
  return space;
}

bool mlir::attn::applyTunedVulkanConfig(Operation *op, const std::string &path,
                                        const VulkanTargetInfo &target, std::string &warnings) {
  if (!isa<AttentionOp, LinearAttentionOp>(op))
    return false;
  std::string why;
  FailureOr<VulkanConfigAttr> heuristic = chooseVulkanConfig(op, target, why);
  if (failed(heuristic))
    return false; // the configure pass reports why
  GpuTuning<VulkanConfigAttr> t{
      "vulkan", kVulkanConfigAttrName,
      [&](VulkanConfigAttr c) { return vulkanConfigDefect(op, c, target); },
      [&](VulkanConfigAttr c, VulkanConfigAttr d) {
        return makeVulkanConfig(op, target, c.getTeams(), c.getBlockK(),
                                splitFor(d.getSplitKeys(), c.getBlockK()), c.getChunk(),
                                c.getCoopmat(), why);
      }};
  return applyTuned(op, path, vulkanDeviceFingerprint(target), *heuristic, t, warnings);
}

//===- CUDA ---------------------------------------------------------------===//

std::string mlir::attn::cudaDeviceFingerprint(const CUDATargetInfo &target) {
  return "cuda " + target.fingerprint() + ";sms=" + std::to_string(target.device().multiprocessors);
}

std::string mlir::attn::cudaConfigText(CUDAConfigAttr config) { return attrText(config); }

std::optional<CUDAConfigAttr> mlir::attn::parseCUDAConfig(MLIRContext *ctx, llvm::StringRef text) {
  return parseAttr<CUDAConfigAttr>(ctx, text);
}

std::optional<CUDAConfigAttr>
mlir::attn::makeCUDAConfig(Operation *op, const CUDATargetInfo &target, int64_t warps,
                           int64_t blockN, int64_t stages, int64_t mma, int64_t splitKeys,
                           int64_t chunk, std::string &why) {
  MLIRContext *ctx = op->getContext();
  ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &d) {
    why = d.str();
    return success();
  });
  CUDAConfigAttr config = CUDAConfigAttr::getChecked([&] { return emitError(op->getLoc()); }, ctx,
                                                     warps, blockN, stages, mma, splitKeys, chunk);
  if (!config)
    return std::nullopt;
  why = cudaConfigDefect(op, config, target);
  if (!why.empty())
    return std::nullopt;
  return config;
}

int64_t mlir::attn::cudaDecodeRows(Operation *op, const CUDATargetInfo &target) {
  std::string why;
  FailureOr<CUDAConfigAttr> heuristic = chooseCUDAConfig(op, target, why);
  auto attention = dyn_cast<AttentionOp>(op);
  if (failed(heuristic) || !attention)
    return 0;
  // describeCUDAModule's decode_max_rows: a main CTA's packed rows per kv head (tensor cores),
  // one workgroup's query rows of every head (SIMT).
  auto q = cast<RankedTensorType>(attention.getQuery().getType());
  auto k = cast<RankedTensorType>(attention.getKey().getType());
  if (heuristic->getMma())
    return ATTN_CUDA_ROWS_PER_WARP * heuristic->getWarps() * k.getDimSize(2);
  return SimtWorkgroupShape::get(simtConfig(*heuristic), groupOf(attention)).rows * q.getDimSize(2);
}

std::vector<CUDAConfigAttr> mlir::attn::cudaSearchSpace(Operation *op, const CUDATargetInfo &target,
                                                        Phase phase) {
  std::string why;
  FailureOr<CUDAConfigAttr> heuristic = chooseCUDAConfig(op, target, why);
  if (failed(heuristic))
    return {};
  const CUDAConfigAttr h = *heuristic;
  std::vector<CUDAConfigAttr> space{h};
  auto add = [&](int64_t warps, int64_t blockN, int64_t stages, int64_t splitKeys, int64_t chunk) {
    std::optional<CUDAConfigAttr> c =
        makeCUDAConfig(op, target, warps, blockN, stages, h.getMma(), splitKeys, chunk, why);
    if (c && std::find(space.begin(), space.end(), *c) == space.end())
      space.push_back(*c);
  };
  if (isa<LinearAttentionOp>(op)) {
    for (int64_t warps = 1; warps <= kMaxCUDAWarps; warps *= 2)
      for (int64_t chunk : {4, 8, 16, 32, 64})
        add(warps, h.getBlockN(), h.getStages(), h.getSplitKeys(), chunk);
    return space;
  }
  if (phase == Phase::Decode) {
    for (int64_t split = 64; split <= 4096; split *= 2)
      add(h.getWarps(), h.getBlockN(), h.getStages(), splitFor(split, h.getBlockN()), h.getChunk());
    return space;
  }
  // Prefill on the heuristic's path: warps x keys per tile, and on tensor cores the depth of the
  // cp.async ring.
  const int64_t granule = h.getMma() ? 16 : 32;
  for (int64_t warps = 1; warps <= kMaxCUDAWarps; warps *= 2)
    for (int64_t blockN = granule; blockN <= 128; blockN *= 2)
      for (int64_t stages :
           h.getMma() ? std::vector<int64_t>{1, 2, 3} : std::vector<int64_t>{h.getStages()})
        add(warps, blockN, stages, splitFor(h.getSplitKeys(), blockN), h.getChunk());
  return space;
}

bool mlir::attn::applyTunedCUDAConfig(Operation *op, const std::string &path,
                                      const CUDATargetInfo &target, std::string &warnings) {
  if (!isa<AttentionOp, LinearAttentionOp>(op))
    return false;
  std::string why;
  FailureOr<CUDAConfigAttr> heuristic = chooseCUDAConfig(op, target, why);
  if (failed(heuristic))
    return false;
  GpuTuning<CUDAConfigAttr> t{
      "cuda", kCUDAConfigAttrName,
      [&](CUDAConfigAttr c) { return cudaConfigDefect(op, c, target); },
      [&](CUDAConfigAttr c, CUDAConfigAttr d) {
        return makeCUDAConfig(op, target, c.getWarps(), c.getBlockN(), c.getStages(), c.getMma(),
                              splitFor(d.getSplitKeys(), c.getBlockN()), c.getChunk(), why);
      }};
  return applyTuned(op, path, cudaDeviceFingerprint(target), *heuristic, t, warnings);
}
