//===- TargetInfo.h - what the shared lowering asks of a target -*- C++ -*-===//
//
// Target differences live behind this interface (as Triton's TargetInfoBase) rather than in
// if-chains across the lowering code.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_TARGET_TARGETINFO_H
#define ATTN_TARGET_TARGETINFO_H

#include <cstdint>
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

/// The host CPU: its LLVM CPU name and feature string (from llvm::sys::getHostCPUFeatures, not
/// from the name alone, which virtualization may report as an older model).
class CPUTargetInfo : public TargetInfo {
public:
  static const CPUTargetInfo &host();
  CPUTargetInfo(std::string cpu, std::string features, int64_t vectorWidth)
      : cpu(std::move(cpu)), features(std::move(features)), width(vectorWidth) {}

  std::string name() const override { return "cpu"; }
  std::string fingerprint() const override { return cpu + ";" + features; }
  int64_t vectorWidthF32() const override { return width; }
  const std::string &cpuName() const { return cpu; }
  /// LLVM feature string ("+avx2,+avx512f,...").
  const std::string &featureString() const { return features; }

private:
  std::string cpu, features;
  int64_t width;
};

} // namespace mlir::attn

#endif // ATTN_TARGET_TARGETINFO_H
