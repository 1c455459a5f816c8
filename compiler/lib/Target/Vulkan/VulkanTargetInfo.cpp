//===- VulkanTargetInfo.cpp - Vulkan devices as targets -------------------===//

#include "attn/Target/TargetInfo.h"

#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::attn;

std::optional<VulkanTargetInfo> VulkanTargetInfo::fromName(llvm::StringRef name) {
  Device device;
  device.name = name.str();
  device.storage16 = device.int16 = device.float16 = true;
  if (name == "lavapipe") {
    device.vendorId = 0x10005; // Mesa
    device.subgroupSize = 8;
    device.maxSharedBytes = 32768;
    device.maxWorkgroupSize = 1024;
  } else if (name == "nvidia") {
    device.vendorId = 0x10de;
    device.subgroupSize = 32;
    device.maxSharedBytes = 49152;
    device.maxWorkgroupSize = 1024;
    device.cooperativeMatrix = true;
  } else if (name == "amd") {
    device.vendorId = 0x1002;
    device.subgroupSize = 64;
    device.maxSharedBytes = 65536;
    device.maxWorkgroupSize = 1024;
  } else {
    return std::nullopt;
  }
  return VulkanTargetInfo(std::move(device));
}

std::string VulkanTargetInfo::fingerprint() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "vendor=" << llvm::format_hex(dev.vendorId, 6)
     << ";device=" << llvm::format_hex(dev.deviceId, 6) << ";driver=" << dev.driverVersion
     << ";subgroup=" << dev.subgroupSize << ";shared=" << dev.maxSharedBytes
     << ";16bit=" << dev.storage16 << dev.int16 << dev.float16;
  return text;
}
