//===- cpu_level.h - x86-64 micro-architecture levels ----------------------===//
//
// Code is built for a named level ("x86-64-v3": AVX2 + FMA; "x86-64-v4": AVX-512) or for this
// host; a bundle names the level its code needs, a context the CPU its kernels are compiled for.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_CPU_LEVEL_H
#define ATTN_RUNTIME_CORE_CPU_LEVEL_H

#include <string>

namespace attn::rt {

/// Whether this CPU runs code built for an x86-64 micro-architecture level.
bool cpuSupportsLevel(const std::string &level);

/// Whether this process may run AMX-BF16 code: the CPU has AMX-TILE and AMX-BF16 (CPUID) and Linux
/// granted the tile-data state (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process; without
/// it the first tile instruction raises SIGILL).
bool amxUsable();

/// Whether this CPU runs AVX512-BF16 code (VDPBF16PS).
bool avx512Bf16Usable();

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_CPU_LEVEL_H
