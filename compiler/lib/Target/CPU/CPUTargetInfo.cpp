//===- CPUTargetInfo.cpp - CPUs as targets: the host, or an x86-64 level --===//

#include "attn/Target/TargetInfo.h"

#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/X86TargetParser.h"

#include <algorithm>
#include <vector>

#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

using namespace mlir::attn;

bool mlir::attn::requestAMXPermission() {
#if defined(__linux__) && defined(__x86_64__)
  static const bool granted = [] {
    constexpr long kReqXcompPerm = 0x1023; // ARCH_REQ_XCOMP_PERM (asm/prctl.h)
    constexpr long kXtileData = 18;        // XFEATURE_XTILEDATA
    return syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  }();
  return granted;
#else
  return false;
#endif
}

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
    bool amx = width == 16 && has("amx-tile") && has("amx-bf16") && requestAMXPermission();
    bool avx512bf16 = width == 16 && has("avx512bf16");
    return CPUTargetInfo("host", llvm::sys::getHostCPUName().str(), joined, width, amx, avx512bf16);
  }();
  return info;
}

std::optional<CPUTargetInfo> CPUTargetInfo::fromName(llvm::StringRef name) {
  if (name == "host")
    return host();
  if (name == "x86-64-v3")
    return CPUTargetInfo("x86-64-v3", "x86-64-v3", "", 8);
  if (name == "x86-64-v4")
    return CPUTargetInfo("x86-64-v4", "x86-64-v4", "", 16);
  // A CPU model LLVM knows (sapphirerapids, znver4, ...): its features as LLVM's X86 target
  // parser lists them, for code emitted for that model (attn-opt pipelines, lit tests on any
  // host). The runtime compiles only for the host or a level it runs.
  if (name.empty() || llvm::X86::parseArchX86(name, /*Only64Bit=*/true) == llvm::X86::CK_None)
    return std::nullopt;
  llvm::SmallVector<llvm::StringRef, 64> list;
  llvm::X86::getFeaturesForCPU(name, list, /*NeedPlus=*/false);
  auto has = [&](llvm::StringRef feature) { return llvm::is_contained(list, feature); };
  int64_t width = has("avx512f") ? 16 : has("avx2") ? 8 : 4;
  bool amx = width == 16 && has("amx-tile") && has("amx-bf16");
  bool avx512bf16 = width == 16 && has("avx512bf16");
  return CPUTargetInfo(name.str(), name.str(), "", width, amx, avx512bf16);
}
