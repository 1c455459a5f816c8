//===- TargetInfo.h - what the shared lowering asks of a target -*- C++ -*-===//
//
// Target differences live behind this interface (as Triton's TargetInfoBase) rather than in
// if-chains across the lowering code.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TARGET_TARGETINFO_H
#define ATTN_TARGET_TARGETINFO_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::attn {

class TargetInfo {
public:
  virtual ~TargetInfo() = default;
  /// A short name ("cpu", "cuda", "vulkan").
  virtual std::string name() const = 0;
  /// A fingerprint of the device and its features, part of every cache key.
  virtual std::string fingerprint() const = 0;
  /// f32 lanes of the widest vector unit the kernels use.
  virtual int64_t vectorWidthF32() const = 0;
};

/// A CPU the kernels are built for: an LLVM CPU name and feature string, and what configuration
/// and generators need to know of it. Built from a name (`fromName`), never read off the host
/// inside a pass: the host is one name among others.
class CPUTargetInfo : public TargetInfo {
public:
  /// "host": this machine, with its detected features (llvm::sys::getHostCPUFeatures, not the CPU
  /// name alone, which virtualization may report as an older model). "x86-64-v3" (AVX2, FMA; 16
  /// ymm registers) or "x86-64-v4" (AVX-512; 32 zmm): code for any CPU of that level. An LLVM x86
  /// CPU model ("sapphirerapids", "znver4"): code for that model, with its features (AMX,
  /// AVX512-BF16) as LLVM lists them. nullopt for other names.
  static std::optional<CPUTargetInfo> fromName(llvm::StringRef name);
  /// The names fromName accepts, for messages.
  static constexpr const char *kNames =
      "host, x86-64-v3, x86-64-v4, or an LLVM x86-64 CPU such as sapphirerapids or znver4";
  /// This machine (computed once).
  static const CPUTargetInfo &host();

  CPUTargetInfo(std::string targetName, std::string cpu, std::string features, int64_t vectorWidth,
                bool amx = false, bool avx512bf16 = false)
      : spelling(std::move(targetName)), cpu(std::move(cpu)), features(std::move(features)),
        width(vectorWidth), amx(amx), avx512bf16(avx512bf16) {}

  /// The name it was built from (fromName(targetName()) describes it again).
  const std::string &targetName() const { return spelling; }

  std::string name() const override { return "cpu"; }
  std::string fingerprint() const override { return cpu + ";" + features; }
  int64_t vectorWidthF32() const override { return width; }
  /// LLVM CPU name ("x86-64-v3", or the host's model).
  const std::string &cpuName() const { return cpu; }
  /// LLVM feature string ("+avx2,+avx512f,..."); empty means the CPU name's defaults.
  const std::string &featureString() const { return features; }
  /// Whether kernels may use AMX-BF16 tiles: the host has AMX-TILE and AMX-BF16 and Linux granted
  /// this process the tile-data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once by host()).
  bool hasAMX() const { return amx; }
  /// Whether kernels may use AVX512-BF16 (VDPBF16PS): the host has it (Zen 4, Sapphire Rapids
  /// and later); the x86-64 levels do not include it.
  bool hasAVX512BF16() const { return avx512bf16; }

private:
  std::string spelling, cpu, features;
  int64_t width;
  bool amx, avx512bf16;
};

/// Asks Linux once per process for the AMX tile-data state (arch_prctl ARCH_REQ_XCOMP_PERM);
/// true when granted. Code that runs AMX instructions without it is killed with SIGILL.
bool requestAMXPermission();

/// A Vulkan device the kernels are built for: what configuration and generators need of it. Built
/// from the device the runtime opened (`fromDevice`, the JIT's path) or from a name (`fromName`,
/// for attnc and lit tests, which have no device), never queried inside a pass.
class VulkanTargetInfo : public TargetInfo {
public:
  struct Device {
    std::string name;
    uint32_t vendorId = 0, deviceId = 0, driverVersion = 0;
    int64_t subgroupSize = 0, maxSharedBytes = 0, maxWorkgroupSize = 0;
    bool float16 = false, int16 = false, storage16 = false, cooperativeMatrix = false;
  };

  /// "lavapipe" (Mesa's CPU driver: subgroup 8, 32 KiB shared memory, 16-bit storage),
  /// "nvidia" (subgroup 32, 48 KiB, 16-bit storage, cooperative matrix), "amd" (subgroup 64,
  /// 64 KiB, 16-bit storage). nullopt for other names.
  static std::optional<VulkanTargetInfo> fromName(llvm::StringRef name);
  static constexpr const char *kNames = "lavapipe, nvidia, amd";
  static VulkanTargetInfo fromDevice(Device device) { return VulkanTargetInfo(std::move(device)); }

  std::string name() const override { return "vulkan"; }
  /// Vendor, device id, driver version and subgroup size: the code is built for one device.
  std::string fingerprint() const override;
  int64_t vectorWidthF32() const override { return 4; }
  const Device &device() const { return dev; }
  /// Whether f16 and bf16 kernels can run: 16-bit storage buffers and 16-bit integers (bf16 is
  /// stored as i16) or floats (f16).
  bool supportsElementBits16(bool isFloat) const {
    return dev.storage16 && (isFloat ? dev.float16 : dev.int16);
  }

private:
  explicit VulkanTargetInfo(Device device) : dev(std::move(device)) {}
  Device dev;
};

/// An NVIDIA GPU the kernels are built for: its architecture and what configuration and
/// generators need of it. Built from the device the runtime opened (`fromDevice`) or from an
/// architecture name (`fromName`, for attnc and lit tests), never queried inside a pass.
class CUDATargetInfo : public TargetInfo {
public:
  struct Device {
    std::string name;
    /// Compute capability, e.g. 80, 86, 89, 90.
    int64_t computeCapability = 80;
    /// sm_90a's architecture-specific features (wgmma, TMA): the code runs on sm_90 only.
    bool archSpecific = false;
    int64_t driverVersion = 0;
    /// Shared memory a CTA may opt into (dynamic), and SMs.
    int64_t maxSharedBytes = 0, multiprocessors = 0;
  };

  /// "sm_80" (A100: 163 KiB of shared memory per CTA), "sm_86", "sm_89" (99 KiB), "sm_90",
  /// "sm_90a" (H100/H200: 227 KiB). nullopt for other names.
  static std::optional<CUDATargetInfo> fromName(llvm::StringRef name);
  static constexpr const char *kNames = "sm_80, sm_86, sm_89, sm_90, sm_90a";
  static CUDATargetInfo fromDevice(Device device) { return CUDATargetInfo(std::move(device)); }

  std::string name() const override { return "cuda"; }
  /// Architecture, device name and driver version: the code is built for one GPU.
  std::string fingerprint() const override;
  int64_t vectorWidthF32() const override { return 1; }
  const Device &device() const { return dev; }
  /// The chip NVVM compiles for: "sm_80", "sm_90a", ...
  std::string chip() const;

private:
  explicit CUDATargetInfo(Device device) : dev(std::move(device)) {}
  Device dev;
};

} // namespace mlir::attn

#endif // ATTN_TARGET_TARGETINFO_H
