//===- CPUTargetInfo.cpp - the host CPU as a target -----------------------===//

#include "attn/Target/TargetInfo.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>
#include <vector>

using namespace mlir::attn;

const CPUTargetInfo &CPUTargetInfo::host() {
  static const CPUTargetInfo info = [] {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    std::vector<std::string> enabled;
    for (const auto &feature : features)
      if (feature.getValue())
        enabled.push_back("+" + feature.getKey().str());
    std::sort(enabled.begin(), enabled.end());
    std::string joined;
    for (const std::string &f : enabled)
      joined += (joined.empty() ? "" : ",") + f;
    auto has = [&](const char *name) { return features.lookup(name); };
    int64_t width = has("avx512f") ? 16 : has("avx2") ? 8 : 4;
    return CPUTargetInfo(llvm::sys::getHostCPUName().str(), joined, width);
  }();
  return info;
}
