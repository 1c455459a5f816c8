//===- Tuning.h - autotuning: problem classes, search spaces, the database -*- C++ -*-===//
//
// What attnc tune measures and what the JIT and attnc --emit=bundle consult:
//  - problem classes: one tuned entry serves every problem of its class (the kernel is compiled
//    for all batch sizes and lengths; window and global-token counts are bucketed by powers of
//    two, the scale and softcap value do not enter), measured at a shape class (phase and
//    lengths bucketed by powers of two);
//  - a target's search space: the configurations its verifier and instruction sets accept;
//  - the tuning database: SQLite, a row per (device, attnc version, target, problem class, shape
//    class, configuration) with the median, spread and repetitions of its launches.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TUNING_TUNING_H
#define ATTN_TUNING_TUNING_H

#include "attn/Conversion/AttnToCPU/Kernels.h"
#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Target/TargetInfo.h"
#include "attn/attn_kernel_manifest.h"

#include "mlir/IR/Operation.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

struct sqlite3;

namespace mlir::attn {

/// The smallest power of two >= n (n <= 1: n itself; -1, "unbounded", stays).
int64_t bucketPow2(int64_t n);

/// The problem class of an attention op (its kernel manifest's problem, canonical text).
std::string problemClass(const attn_kernel_manifest &problem);
/// The normalized problem of an attention op, as its kernel manifest holds it (tiles unset).
FailureOr<attn_kernel_manifest> problemManifestOf(Operation *op);
std::optional<std::string> problemClassOf(Operation *op);

/// A shape the tuner times a kernel at. Decode: few enough query rows for the split-KV decode
/// kernel (Sq x Hq <= its rows: the CPU's default, a Vulkan workgroup's), no entropy; its
/// configuration fields are the decode kernel's. Prefill: the rest.
struct TuningShape {
  int64_t batch = 1, seqQ = 2048, seqKv = 2048;
};
enum class Phase { Prefill, Decode };
Phase phaseOf(const attn_kernel_manifest &problem, const TuningShape &shape,
              int64_t decodeRows = kDefaultDecodeRows);
const char *phaseName(Phase phase);
/// "prefill b1 q2048 kv2048", lengths bucketed by powers of two.
std::string shapeClass(const attn_kernel_manifest &problem, const TuningShape &shape,
                       int64_t decodeRows = kDefaultDecodeRows);
/// The query rows (Sq x Hq) up to which a Vulkan kernel for `op` on `target` decodes: its
/// heuristic workgroup's (the runtime's split-KV condition).
int64_t vulkanDecodeRows(Operation *op, const VulkanTargetInfo &target);

/// The device a tuned entry is for: the CPU target's fingerprint and the threads kernels run on.
std::string cpuDeviceFingerprint(const CPUTargetInfo &target, int32_t threads);
/// A short, stable hash of a fingerprint, for display.
std::string shortHash(const std::string &text);

/// The configurations attnc tune may pick for `op` on `target` at `phase`: the heuristic first
/// (chooseCPUConfig), then a deterministic sweep, each accepted by the dialect's verifier for
/// this op and using only instruction sets the target has. Decode sweeps the decode kernel's
/// fields with the prefill fields at the heuristic's, prefill the reverse.
std::vector<CPUKernelConfig> cpuSearchSpace(Operation *op, const CPUTargetInfo &target,
                                            Phase phase);
/// Whether `config` is legal for `op` on `target` (verifier and instruction sets); else why not.
std::optional<std::string> cpuConfigDefect(Operation *op, const CPUTargetInfo &target,
                                           const CPUKernelConfig &config);
/// The #attn.cpu_config text of a configuration, and back (nullopt: not a CPU config).
std::string cpuConfigText(MLIRContext *ctx, const CPUKernelConfig &config);
std::optional<CPUKernelConfig> parseCPUConfig(MLIRContext *ctx, llvm::StringRef text);

/// The device a tuned Vulkan entry is for: the device's name, vendor, device id, driver version,
/// subgroup size and limits (the code and its speed are one device's).
std::string vulkanDeviceFingerprint(const VulkanTargetInfo &target);
/// The configurations attnc tune --target=vulkan may pick for `op` on `target` at `phase`: the
/// heuristic first (chooseVulkanConfig), then teams x block_k (prefill, on the heuristic's SIMT
/// or cooperative-matrix path), split_keys (decode), teams x chunk (linear), each accepted by
/// the attribute's verifier and by vulkanConfigDefect for this op and device.
std::vector<VulkanConfigAttr> vulkanSearchSpace(Operation *op, const VulkanTargetInfo &target,
                                                Phase phase);
/// A Vulkan configuration for `op` on `target` with the device's subgroup size, or nullopt
/// with `why` when the verifier or the device rejects it.
std::optional<VulkanConfigAttr> makeVulkanConfig(Operation *op, const VulkanTargetInfo &target,
                                                 int64_t teams, int64_t blockK, int64_t splitKeys,
                                                 int64_t chunk, int64_t coopmat, std::string &why);
/// The #attn.vulkan_config text of a configuration, and back (nullopt: not a Vulkan config).
std::string vulkanConfigText(VulkanConfigAttr config);
std::optional<VulkanConfigAttr> parseVulkanConfig(MLIRContext *ctx, llvm::StringRef text);

/// The query rows (Sq x Hq) up to which a CUDA kernel for `op` on `target` decodes.
int64_t cudaDecodeRows(Operation *op, const CUDATargetInfo &target);
/// The device a tuned CUDA entry is for: the architecture, the GPU's name, driver, shared memory
/// and SMs.
std::string cudaDeviceFingerprint(const CUDATargetInfo &target);
/// The configurations attnc tune --target=cuda may pick for `op` on `target` at `phase`: the
/// heuristic first (chooseCUDAConfig), then warps x block_n (x stages on tensor cores) for
/// prefill on the heuristic's path, split_keys for decode, warps x chunk for linear attention,
/// each accepted by the attribute's verifier and by cudaConfigDefect.
std::vector<CUDAConfigAttr> cudaSearchSpace(Operation *op, const CUDATargetInfo &target,
                                            Phase phase);
std::optional<CUDAConfigAttr> makeCUDAConfig(Operation *op, const CUDATargetInfo &target,
                                             int64_t warps, int64_t blockN, int64_t stages,
                                             int64_t mma, int64_t splitKeys, int64_t chunk,
                                             std::string &why);
std::string cudaConfigText(CUDAConfigAttr config);
std::optional<CUDAConfigAttr> parseCUDAConfig(MLIRContext *ctx, llvm::StringRef text);

/// One measured configuration.
struct TuningRow {
  std::string device, version, target, problem, shape, phase, config;
  double medianUs = 0, spread = 0; // spread: interquartile range / median
  int64_t reps = 0;
  int64_t heuristic = 0;  // 1: the configuration is the heuristic's for this problem
  std::string measuredAt; // ISO 8601, UTC
};

/// The configuration to use for one (problem, shape) from its measured rows: the fastest, unless
/// it beats the heuristic's by less than the noise (the larger spread, at least 2%): then the
/// heuristic's, so that a tuned kernel is never slower than the heuristic within the noise.
const TuningRow *chooseRow(const std::vector<TuningRow> &rows);

/// The tuning database (SQLite). Opening checks that the file is a database of this schema
/// (application_id, user_version, integrity); a failure says why and the caller ignores the
/// database (a warning, heuristics used). WAL journal and a busy timeout: several processes may
/// write one database at once.
class TuningDB {
public:
  static std::unique_ptr<TuningDB> open(const std::string &path, bool create, std::string &error);
  ~TuningDB();
  TuningDB(const TuningDB &) = delete;
  TuningDB &operator=(const TuningDB &) = delete;

  /// Writes rows in one transaction. keepBest: a row replaces an existing one of the same key
  /// only when its median is lower (merging); else it replaces it (a new measurement).
  bool put(const std::vector<TuningRow> &rows, bool keepBest, std::string &error);
  /// Rows matching the non-empty fields of `filter` (device, version, target, problem, phase),
  /// ordered by key.
  std::vector<TuningRow> rows(const TuningRow &filter, std::string &error) const;
  /// The configuration for a kernel of `problem` at `phase`: among the shape classes measured,
  /// the one with the most work (a kernel serves every length, and long ones dominate its time),
  /// and in it chooseRow's pick. nullopt on a miss.
  std::optional<TuningRow> lookup(const std::string &device, const std::string &version,
                                  const std::string &target, const std::string &problem,
                                  Phase phase, std::string &error) const;
  /// Whether rows exist for this device, target and problem under other attnc versions (a stale
  /// database, for the warning).
  bool hasOtherVersions(const std::string &device, const std::string &version,
                        const std::string &target, const std::string &problem) const;

private:
  explicit TuningDB(sqlite3 *db) : db(db) {}
  sqlite3 *db;
};

/// The attnc version rows are written under (ATTN_VERSION_STRING).
std::string tuningVersion();
/// Now, ISO 8601 UTC.
std::string utcNow();

/// A tuning database's picks for `op` on `device` and `target` ("cpu", "vulkan"): the prefill
/// and decode phases' (chooseRow at the shape with the most work). nullopt on a miss (silent) or
/// when the database cannot be used or is stale (a warning appended to `warnings`).
struct TunedRows {
  std::optional<TuningRow> prefill, decode;
};
std::optional<TunedRows> lookupTuned(Operation *op, const std::string &path,
                                     const std::string &device, const std::string &target,
                                     std::string &warnings);

/// Consults the tuning database at `path` for `op` (configured later for `target`, run on
/// `threads` threads): on a hit sets the op's #attn.cpu_config to the tuned one (decode fields
/// from the decode phase's pick where it is compatible) and marks it tuned. A database that
/// cannot be used, or a stale or illegal entry, is a warning (appended to `warnings`), never an
/// error: heuristics are used.
bool applyTunedCPUConfig(Operation *op, const std::string &path, const CPUTargetInfo &target,
                         int32_t threads, std::string &warnings);
/// The same for a Vulkan op on `target` (the device the runtime opened): sets its
/// #attn.vulkan_config (teams, block_k, chunk from the prefill pick, split_keys from the decode
/// pick where it fits them) and marks it tuned; warnings as applyTunedCPUConfig.
bool applyTunedVulkanConfig(Operation *op, const std::string &path, const VulkanTargetInfo &target,
                            std::string &warnings);
/// The same for a CUDA op on the GPU the runtime found (#attn.cuda_config).
bool applyTunedCUDAConfig(Operation *op, const std::string &path, const CUDATargetInfo &target,
                          std::string &warnings);

} // namespace mlir::attn

#endif // ATTN_TUNING_TUNING_H
