//===- Space.cpp - problem classes and the CPU search space ---------------===//

#include "attn/Conversion/AttnToCPU/KernelManifest.h"
#include "attn/Dialect/Attn/IR/AttnShape.h"
#include "attn/Tuning/Tuning.h"
#include "attn/attn_runtime.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::attn;

int64_t mlir::attn::bucketPow2(int64_t n) {
  if (n <= 1)
    return n;
  int64_t p = 1;
  while (p < n)
    p <<= 1;
  return p;
}

static const char *dtypeName(int32_t dtype) {
  return dtype == ATTN_DTYPE_F16 ? "f16" : dtype == ATTN_DTYPE_BF16 ? "bf16" : "f32";
}

std::string mlir::attn::problemClass(const attn_kernel_manifest &m) {
  if (m.variant == ATTN_VARIANT_LINEAR) {
    const char *maps[] = {"elu_plus_one", "relu", "identity"};
    return llvm::formatv("linear {0} hq{1} hkv{2} d{3} dv{4} causal{5} map={6} normalize{7}",
                         dtypeName(m.dtype), m.heads_q, m.heads_kv, m.head_dim, m.head_dim_v,
                         m.causal, maps[std::clamp(m.feature_map, 0, 2)], m.normalize)
        .str();
  }
  // The scale and the softcap's value change no work; window and global-token counts are
  // bucketed (a window of 500 keys tunes like one of 512).
  return llvm::formatv("softmax {0} hq{1} hkv{2} d{3} dv{4} causal{5} window={6},{7} global={8} "
                       "softcap{9} lse{10} entropy{11}",
                       dtypeName(m.dtype), m.heads_q, m.heads_kv, m.head_dim, m.head_dim_v,
                       m.causal, bucketPow2(m.window_left), bucketPow2(m.window_right),
                       bucketPow2(m.global_tokens), m.softcap > 0 ? 1 : 0, m.return_lse,
                       m.return_entropy)
      .str();
}

FailureOr<attn_kernel_manifest> mlir::attn::problemManifestOf(Operation *op) {
  CPUKernelConfig tiles; // any tiles: only the problem's fields are read
  tiles.vectorWidth = 16;
  tiles.blockQ = tiles.blockK = 1;
  FailureOr<attn_kernel_manifest> m = buildKernelManifest(op, tiles);
  if (failed(m) || m->variant != ATTN_VARIANT_SOFTMAX)
    return m;
  // The dialect's canonical mask: one class for every spelling of a problem (an op not yet
  // canonicalized, e.g. `window = [512, 0]` beside `causal, window = [512, -1]`).
  CanonicalMask mask = canonicalMask(m->causal, m->window_left, m->window_right, m->global_tokens);
  m->causal = mask.causal;
  m->window_left = mask.left;
  m->window_right = mask.right;
  m->global_tokens = mask.globalTokens;
  return m;
}

std::optional<std::string> mlir::attn::problemClassOf(Operation *op) {
  FailureOr<attn_kernel_manifest> m = problemManifestOf(op);
  if (failed(m))
    return std::nullopt;
  return problemClass(*m);
}

Phase mlir::attn::phaseOf(const attn_kernel_manifest &m, const TuningShape &s, int64_t decodeRows) {
  bool decode =
      m.variant == ATTN_VARIANT_SOFTMAX && !m.return_entropy && s.seqQ * m.heads_q <= decodeRows;
  return decode ? Phase::Decode : Phase::Prefill;
}

const char *mlir::attn::phaseName(Phase phase) {
  return phase == Phase::Decode ? "decode" : "prefill";
}

std::string mlir::attn::shapeClass(const attn_kernel_manifest &m, const TuningShape &s,
                                   int64_t decodeRows) {
  return llvm::formatv("{0} b{1} q{2} kv{3}", phaseName(phaseOf(m, s, decodeRows)),
                       bucketPow2(s.batch), bucketPow2(s.seqQ), bucketPow2(s.seqKv))
      .str();
}

std::string mlir::attn::cpuDeviceFingerprint(const CPUTargetInfo &target, int32_t threads) {
  return target.fingerprint() + ";threads=" + std::to_string(threads);
}

std::string mlir::attn::shortHash(const std::string &text) {
  uint64_t h = 1469598103934665603ull; // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return llvm::formatv("{0:x-12}", h & 0xffffffffffffull).str();
}

std::string mlir::attn::cpuConfigText(MLIRContext *ctx, const CPUKernelConfig &c) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << CPUConfigAttr::get(ctx, c.blockQ, c.blockK, c.vectorWidth, c.decodeRows, c.splitKeys, c.amx,
                           c.dpbf16);
  return text;
}

std::optional<CPUKernelConfig> mlir::attn::parseCPUConfig(MLIRContext *ctx, llvm::StringRef text) {
  ctx->loadDialect<AttnDialect>();
  // A malformed entry is the caller's warning, not a diagnostic printed here.
  ScopedDiagnosticHandler quiet(ctx, [](Diagnostic &) { return success(); });
  auto attr = dyn_cast_or_null<CPUConfigAttr>(parseAttribute(text, ctx));
  if (!attr)
    return std::nullopt;
  return CPUKernelConfig{attr.getBlockQ(),     attr.getBlockK(),    attr.getVectorWidth(),
                         attr.getDecodeRows(), attr.getSplitKeys(), attr.getAmx(),
                         attr.getDpbf16()};
}

std::optional<std::string> mlir::attn::cpuConfigDefect(Operation *op, const CPUTargetInfo &target,
                                                       const CPUKernelConfig &c) {
  if (c.vectorWidth > target.vectorWidthF32())
    return llvm::formatv("vector_width {0} is wider than the target's {1}", c.vectorWidth,
                         target.vectorWidthF32())
        .str();
  if (c.amx && !target.hasAMX())
    return std::string("amx = 1, but the target has no AMX-BF16 tiles");
  if (c.dpbf16 && !target.hasAVX512BF16())
    return std::string("dpbf16 = 1, but the target has no AVX512-BF16");
  MLIRContext *ctx = op->getContext();
  std::string message;
  ScopedDiagnosticHandler capture(ctx, [&](Diagnostic &d) {
    message = d.str();
    return success();
  });
  Attribute attr = CPUConfigAttr::get(ctx, c.blockQ, c.blockK, c.vectorWidth, c.decodeRows,
                                      c.splitKeys, c.amx, c.dpbf16);
  if (failed(verifyCPUConfig(op, attr)))
    return message.empty() ? std::string("rejected by the verifier") : message;
  return std::nullopt;
}

std::vector<CPUKernelConfig> mlir::attn::cpuSearchSpace(Operation *op, const CPUTargetInfo &target,
                                                        Phase phase) {
  const int64_t width = target.vectorWidthF32();
  const CPUKernelConfig heuristic =
      chooseCPUConfig(op, width, target.hasAMX(), target.hasAVX512BF16());
  std::vector<CPUKernelConfig> space;
  auto add = [&](const CPUKernelConfig &c) {
    for (const CPUKernelConfig &s : space)
      if (s.blockQ == c.blockQ && s.blockK == c.blockK && s.vectorWidth == c.vectorWidth &&
          s.decodeRows == c.decodeRows && s.splitKeys == c.splitKeys && s.amx == c.amx &&
          s.dpbf16 == c.dpbf16)
        return;
    if (!cpuConfigDefect(op, target, c))
      space.push_back(c);
  };
  add(heuristic);
  auto attention = dyn_cast<AttentionOp>(op);
  if (isa<LinearAttentionOp>(op)) {
    // The linear kernel's choices: its scan chunk (block_k) and its vector width (narrower code
    // runs on wider units).
    for (int64_t w = width; w >= 4; w /= 2)
      for (int64_t chunk : {16, 32, 64}) {
        CPUKernelConfig c = chooseCPUConfig(op, w);
        c.blockK = chunk;
        add(c);
      }
    return space;
  }
  if (!attention)
    return space;
  auto q = cast<RankedTensorType>(attention.getQuery().getType());
  auto k = cast<RankedTensorType>(attention.getKey().getType());
  const int64_t group = q.getDimSize(2) / k.getDimSize(2);
  if (phase == Phase::Decode) {
    // The decode kernel's own fields; the prefill fields stay the heuristic's. dpbf16 is shared
    // with the prefill kernel (its products) and chosen by the prefill sweep.
    for (int64_t splitTiles : {2, 4, 8, 16, 32}) {
      CPUKernelConfig c = heuristic;
      c.splitKeys = splitTiles * heuristic.blockK;
      add(c);
    }
    return space;
  }
  // Prefill: rows per work item (a GQA group shares them) and keys per tile, on the vector units
  // (with VDPBF16PS products or f32 FMAs where the target has AVX512-BF16) and, where the target
  // has AMX and the problem fits it, on tiles.
  bool amx = target.hasAMX() && amxFits(attention);
  bool dpbf16 = target.hasAVX512BF16() && dpbf16Fits(attention);
  for (int64_t useAmx : {int64_t(0), int64_t(amx)})
    for (int64_t useDpbf16 : {int64_t(dpbf16 && !useAmx), int64_t(0)}) {
      std::vector<int64_t> rows = useAmx ? std::vector<int64_t>{64, 128, 256}
                                         : std::vector<int64_t>{2 * width, 4 * width, 8 * width};
      for (int64_t blockK : {32, 64, 128})
        for (int64_t r : rows) {
          CPUKernelConfig c = heuristic;
          c.amx = useAmx;
          c.dpbf16 = useAmx ? heuristic.dpbf16 : useDpbf16; // AMX prefill ignores it
          c.blockK = blockK;
          c.blockQ = std::max<int64_t>(1, std::min(r, kMaxCPURowsPerItem) / group);
          c.splitKeys = std::max(c.splitKeys, blockK) / blockK * blockK;
          add(c);
        }
    }
  return space;
}

std::optional<TunedRows> mlir::attn::lookupTuned(Operation *op, const std::string &path,
                                                 const std::string &device,
                                                 const std::string &target, std::string &warnings) {
  if (!isa<AttentionOp, LinearAttentionOp>(op))
    return std::nullopt;
  auto warn = [&](const std::string &message) {
    warnings += "attnc: warning: " + message + "; using the heuristic configuration\n";
    return std::nullopt;
  };
  std::string error;
  std::unique_ptr<TuningDB> db = TuningDB::open(path, /*create=*/false, error);
  if (!db)
    return warn("tuning database ignored: " + error);
  std::optional<std::string> problem = problemClassOf(op);
  if (!problem)
    return std::nullopt;
  const std::string version = tuningVersion();
  TunedRows tuned;
  tuned.prefill = db->lookup(device, version, target, *problem, Phase::Prefill, error);
  if (isa<AttentionOp>(op))
    tuned.decode = db->lookup(device, version, target, *problem, Phase::Decode, error);
  if (!error.empty())
    return warn("tuning database " + path + " unreadable: " + error);
  if (!tuned.prefill && !tuned.decode) {
    if (db->hasOtherVersions(device, version, target, *problem))
      return warn("tuning database " + path +
                  " holds entries for this problem from another "
                  "attnc version only (stale: re-run attnc tune)");
    return std::nullopt; // a miss: the heuristic, silently
  }
  return tuned;
}

bool mlir::attn::applyTunedCPUConfig(Operation *op, const std::string &path,
                                     const CPUTargetInfo &target, int32_t threads,
                                     std::string &warnings) {
  auto warn = [&](const std::string &message) {
    warnings += "attnc: warning: " + message + "; using the heuristic configuration\n";
    return false;
  };
  std::optional<TunedRows> rows =
      lookupTuned(op, path, cpuDeviceFingerprint(target, threads), "cpu", warnings);
  if (!rows)
    return false;
  const std::optional<TuningRow> &prefill = rows->prefill, &decode = rows->decode;
  MLIRContext *ctx = op->getContext();
  CPUKernelConfig config =
      chooseCPUConfig(op, target.vectorWidthF32(), target.hasAMX(), target.hasAVX512BF16());
  if (prefill) {
    std::optional<CPUKernelConfig> tuned = parseCPUConfig(ctx, prefill->config);
    if (!tuned)
      return warn("tuning database " + path + " has an unreadable entry '" + prefill->config + "'");
    config = *tuned;
  }
  if (decode) {
    std::optional<CPUKernelConfig> tuned = parseCPUConfig(ctx, decode->config);
    if (!tuned)
      return warn("tuning database " + path + " has an unreadable entry '" + decode->config + "'");
    CPUKernelConfig merged = config;
    merged.decodeRows = tuned->decodeRows;
    merged.splitKeys = tuned->splitKeys;
    // The decode pick's fields go with the prefill pick's tiles where they fit them.
    if (!cpuConfigDefect(op, target, merged))
      config = merged;
  }
  if (std::optional<std::string> defect = cpuConfigDefect(op, target, config))
    return warn("tuning database " + path + " has an illegal entry " + cpuConfigText(ctx, config) +
                " for this problem (" + *defect + ")");
  setCPUConfig(op, config);
  op->setAttr(kConfigSourceAttrName, StringAttr::get(ctx, "tuned"));
  return true;
}
