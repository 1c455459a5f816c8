//===- Bundle.h - writing attnc's kernel bundles ---------------*- C++ -*-===//
#ifndef ATTNC_BUNDLE_H
#define ATTNC_BUNDLE_H

#include "attn/attn_kernel_manifest.h"
#include "core/bundle_format.h"

#include <string>

namespace attnc {

/// Writes what `m` (a kernel's manifest) says into a bundle entry's problem and tile fields, as
/// attnc writes them; the target, level and payload fields are left as they are.
void describeCode(const attn_kernel_manifest &m, ::attn::bundle::BundleEntry &entry);

/// A bundle of one device kernel (`target` "vulkan" or "cuda"): its payload is the kernel image
/// container, its level field names the device kind or architecture the code was built for.
std::string deviceBundle(const char *target, const std::string &level,
                         const attn_kernel_manifest &manifest, const std::string &container);

} // namespace attnc

#endif // ATTNC_BUNDLE_H
