//===- launch.h - running a compiled kernel on the CPU --------------------===//
#ifndef ATTN_RUNTIME_CPU_LAUNCH_H
#define ATTN_RUNTIME_CPU_LAUNCH_H

#include "attn/attn_runtime.h"

#include <cstddef>

namespace attn::rt {

class ContextState;
class CompiledKernel;

/// Runs kernel on validated args over the context's threads; returns when the
/// outputs are written. Throws Error (e.g. out of memory for the workspace)
/// before any output is written.
void launchOnCpu(ContextState &context, const CompiledKernel &kernel, const attn_launch_args &args);

/// attn_kernel_merge on validated args, with the kernel's merge_parts entry.
void mergeOnCpu(ContextState &context, const CompiledKernel &kernel, const attn_merge_args &args);

/// The workspace a launch needs (split-KV decode partial results; 0 for launches without),
/// as attn_kernel_workspace_size reports it.
size_t cpuWorkspaceBytes(ContextState &context, const CompiledKernel &kernel,
                         const attn_launch_args &args);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CPU_LAUNCH_H
