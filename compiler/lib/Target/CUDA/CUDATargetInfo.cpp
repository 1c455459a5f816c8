//===- CUDATargetInfo.cpp - NVIDIA GPUs the CUDA kernels are built for ----===//

#include "attn/Target/TargetInfo.h"

using namespace mlir::attn;

std::optional<CUDATargetInfo> CUDATargetInfo::fromName(llvm::StringRef name) {
  // Opt-in shared memory per CTA (CUDA C Programming Guide, compute capabilities table).
  auto device = [&](int64_t cc, bool archSpecific, int64_t sharedKiB, int64_t sms) {
    Device d;
    d.name = name.str();
    d.computeCapability = cc;
    d.archSpecific = archSpecific;
    d.maxSharedBytes = sharedKiB * 1024;
    d.multiprocessors = sms;
    return CUDATargetInfo(std::move(d));
  };
  if (name == "sm_80")
    return device(80, false, 163, 108);
  if (name == "sm_86")
    return device(86, false, 99, 84);
  if (name == "sm_89")
    return device(89, false, 99, 128);
  if (name == "sm_90")
    return device(90, false, 227, 132);
  if (name == "sm_90a")
    return device(90, true, 227, 132);
  return std::nullopt;
}

std::string CUDATargetInfo::chip() const {
  return "sm_" + std::to_string(dev.computeCapability) + (dev.archSpecific ? "a" : "");
}

std::string CUDATargetInfo::fingerprint() const {
  return chip() + ";" + dev.name + ";driver=" + std::to_string(dev.driverVersion) +
         ";smem=" + std::to_string(dev.maxSharedBytes);
}
