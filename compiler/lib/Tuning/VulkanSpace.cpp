//===- VulkanSpace.cpp - the Vulkan search space and its tuned entries ----===//
//
// What attnc tune --target=vulkan may pick: #attn.vulkan_config values the attribute's verifier
// and the device (vulkanConfigDefect: subgroup size, workgroup and shared-memory limits,
// cooperative matrices) accept, the heuristic (chooseVulkanConfig) first.
//
//===----------------------------------------------------------------------===//

#include "attn/Conversion/AttnToVulkan/VulkanKernels.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/Tuning/Tuning.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"

using namespace mlir;
using namespace mlir::attn;

std::string mlir::attn::vulkanDeviceFingerprint(const VulkanTargetInfo &target) {
  const VulkanTargetInfo::Device &d = target.device();
  return "vulkan " + d.name + ";" + target.fingerprint() +
         ";workgroup=" + std::to_string(d.maxWorkgroupSize) +
         ";coopmat=" + std::to_string(int(d.cooperativeMatrix));
}

std::string mlir::attn::vulkanConfigText(VulkanConfigAttr config) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << Attribute(config);
  return text;
}

std::optional<VulkanConfigAttr> mlir::attn::parseVulkanConfig(MLIRContext *ctx,
                                                              llvm::StringRef text) {
  ctx->loadDialect<AttnDialect>();
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  auto attr = dyn_cast_or_null<VulkanConfigAttr>(parseAttribute(text, ctx));
  if (!attr)
    return std::nullopt;
  return attr;
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
  // A workgroup holds min(G, teams) heads of a GQA group x teams / that many rows
  // (describeVulkanModule's decode_max_rows).
  int64_t group = cast<RankedTensorType>(attention.getQuery().getType()).getDimSize(2) /
                  cast<RankedTensorType>(attention.getKey().getType()).getDimSize(2);
  int64_t heads = std::min(group, heuristic->getTeams());
  return heads * (heuristic->getTeams() / heads);
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
  const int64_t lanes = target.device().subgroupSize;
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
      add(h.getTeams(), h.getBlockK(),
          std::max(split, h.getBlockK()) / h.getBlockK() * h.getBlockK(), h.getChunk(),
          h.getCoopmat());
    return space;
  }
  // Prefill: rows per workgroup (teams) and keys per staged K/V tile, on the heuristic's path
  // (SIMT, or cooperative matrices with their 16-key granularity).
  const int64_t granule = h.getCoopmat() ? std::max<int64_t>(16, lanes) : lanes;
  for (int64_t teams = 1; teams <= kMaxVulkanTeams; teams *= 2)
    for (int64_t blockK = granule; blockK <= 256; blockK *= 2)
      add(teams, blockK, std::max(h.getSplitKeys(), blockK) / blockK * blockK, h.getChunk(),
          h.getCoopmat());
  return space;
}

bool mlir::attn::applyTunedVulkanConfig(Operation *op, const std::string &path,
                                        const VulkanTargetInfo &target, std::string &warnings) {
  auto warn = [&](const std::string &message) {
    warnings += "attnc: warning: " + message + "; using the heuristic configuration\n";
    return false;
  };
  std::optional<TunedRows> rows =
      lookupTuned(op, path, vulkanDeviceFingerprint(target), "vulkan", warnings);
  if (!rows)
    return false;
  MLIRContext *ctx = op->getContext();
  std::string why;
  FailureOr<VulkanConfigAttr> heuristic = chooseVulkanConfig(op, target, why);
  if (failed(heuristic))
    return false; // the configure pass reports why
  VulkanConfigAttr config = *heuristic;
  // Each pick must be legal as it is (never repaired into another configuration).
  auto read = [&](const TuningRow &row) -> std::optional<VulkanConfigAttr> {
    std::optional<VulkanConfigAttr> tuned = parseVulkanConfig(ctx, row.config);
    if (!tuned) {
      warn("tuning database " + path + " has an unreadable entry '" + row.config + "'");
      return std::nullopt;
    }
    if (std::string defect = vulkanConfigDefect(op, *tuned, target); !defect.empty()) {
      warn("tuning database " + path + " has an illegal entry " + row.config +
           " for this problem on this device (" + defect + ")");
      return std::nullopt;
    }
    return tuned;
  };
  if (rows->prefill) {
    std::optional<VulkanConfigAttr> tuned = read(*rows->prefill);
    if (!tuned)
      return false;
    config = *tuned;
  }
  if (rows->decode) {
    std::optional<VulkanConfigAttr> tuned = read(*rows->decode);
    if (!tuned)
      return false;
    // The decode pick's keys per split go with the prefill pick's tiles where they fit them.
    int64_t split = std::max(tuned->getSplitKeys(), config.getBlockK()) / config.getBlockK() *
                    config.getBlockK();
    if (std::optional<VulkanConfigAttr> merged =
            makeVulkanConfig(op, target, config.getTeams(), config.getBlockK(), split,
                             config.getChunk(), config.getCoopmat(), why))
      config = *merged;
  }
  op->setAttr(kVulkanConfigAttrName, config);
  op->setAttr(kConfigSourceAttrName, StringAttr::get(ctx, "tuned"));
  return true;
}
