//===- manifest.h - checking a kernel's code against its problem ----------===//
//
// Whatever brings kernel code into the process - the compiler plugin, a bundle, a linked object -
// also says which problem it solves and with which tiles. The code carries its own account, the
// manifest (attn_kernel_manifest.h); before a kernel is made from code, the runtime compares the
// two field by field, so a damaged or edited header cannot make the code run a problem it was
// not built for, nor split launches by tiles it was not generated with.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_MANIFEST_H
#define ATTN_RUNTIME_CORE_MANIFEST_H

#include "attn/attn_jit_plugin.h"

#include <string>

namespace attn::rt {

/// Largest tiles a manifest may name: far above what attnc generates, low enough that no work
/// split computed from them overflows.
constexpr int64_t kMaxManifestBlock = 1 << 16;
constexpr int64_t kMaxManifestSplitKeys = 1 << 20;

/// Why `kernel` (its manifest and tiles) cannot run the normalized `problem` ("" when it can).
/// The text completes "the kernel code ...".
std::string manifestDefect(const attn_problem &problem, const attn_jit_kernel &kernel);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_MANIFEST_H
