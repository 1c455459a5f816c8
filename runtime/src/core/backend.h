//===- backend.h - what a target's runtime implements ---------------------===//
//
// The runtime's seam between targets (ONNX Runtime's execution providers, IREE's HAL drivers):
// every target implements this table, and the rest of the runtime (contexts, kernel cache,
// validation, the C API) is the same for all of them. A new target adds a Backend and its entry
// in backendFor(); nothing else in core/ changes.
//
// Thread-safety: a Backend is stateless or internally synchronized; all of its functions may be
// called from many threads at once.
//
//===----------------------------------------------------------------------===//
#ifndef ATTN_RUNTIME_CORE_BACKEND_H
#define ATTN_RUNTIME_CORE_BACKEND_H

#include "attn/attn_jit_plugin.h"
#include "core/plugin.h"

#include <memory>

namespace attn::rt {

class ContextState;
class CompiledKernel;

class Backend {
public:
  virtual ~Backend() = default;

  /// Fills what the compiler plugin needs to know of the target (the device of `context`: an
  /// engine's, or one the backend opens and keeps in ContextState::backendState).
  /// Throws Error UNSUPPORTED when the target cannot run here (no driver, no device), before
  /// anything is compiled.
  virtual void prepareCompile(ContextState &context, CompileOptions &options) const = 0;
  /// The target's side of a kernel, from the plugin's kernel image (pipelines, modules); nullptr
  /// for host code, which needs none. Throws Error.
  virtual std::shared_ptr<const void> createKernel(ContextState &context,
                                                   const attn_problem &problem,
                                                   const attn_jit_kernel &entry) const = 0;
  /// Runs a validated launch and returns when its outputs are written. Throws Error.
  virtual void launch(ContextState &context, const CompiledKernel &kernel,
                      const attn_launch_args &args) const = 0;
  /// The caller-provided workspace a validated launch takes (attn_kernel_workspace_size); 0 for
  /// targets that keep their own.
  virtual size_t workspaceBytes(ContextState &, const CompiledKernel &,
                                const attn_launch_args &) const {
    return 0;
  }
  /// attn_kernel_merge on validated args with the kernel's merge of its own dtype. Throws Error
  /// UNSUPPORTED for targets without one (the default).
  virtual void merge(ContextState &context, const CompiledKernel &kernel,
                     const attn_merge_args &args) const;
};

/// The backend of `target`; throws Error UNSUPPORTED for a target this build lacks.
const Backend &backendFor(attn_target target);

} // namespace attn::rt

#endif // ATTN_RUNTIME_CORE_BACKEND_H
