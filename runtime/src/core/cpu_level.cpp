//===- cpu_level.cpp - x86-64 micro-architecture levels --------------------===//

#include "core/cpu_level.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__linux__) && defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace attn::rt {

bool cpuSupportsLevel(const std::string &level) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (level == "x86-64-v3")
    return __builtin_cpu_supports("x86-64-v3");
  if (level == "x86-64-v4")
    return __builtin_cpu_supports("x86-64-v4");
#endif
  return false;
}

bool amxUsable() {
#if defined(__linux__) && defined(__x86_64__)
  static const bool usable = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx))
      return false;
    const bool amxBf16 = edx & (1u << 22), amxTile = edx & (1u << 24);
    constexpr long kReqXcompPerm = 0x1023; // ARCH_REQ_XCOMP_PERM (asm/prctl.h)
    constexpr long kXtileData = 18;        // XFEATURE_XTILEDATA
    return amxBf16 && amxTile && syscall(SYS_arch_prctl, kReqXcompPerm, kXtileData) == 0;
  }();
  return usable;
#else
  return false;
#endif
}

bool avx512Bf16Usable() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512bf16");
#else
  return false;
#endif
}

} // namespace attn::rt
