//===- cpu_level.cpp - x86-64 micro-architecture levels --------------------===//

#include "core/cpu_level.h"

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

} // namespace attn::rt
