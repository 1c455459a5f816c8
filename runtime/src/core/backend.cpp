//===- backend.cpp - the runtime's backend table --------------------------===//

#include "core/backend.h"

#include "core/error.h"

namespace attn::rt {

const Backend &cpuBackend();
#if ATTN_HAVE_VULKAN
const Backend &vulkanBackend();
#endif
#if ATTN_HAVE_CUDA
const Backend &cudaBackend();
#endif

void Backend::merge(ContextState &, const CompiledKernel &, const attn_merge_args &) const {
  fail(ATTN_STATUS_UNSUPPORTED, "attn_kernel_merge runs CPU kernels only so far (compile a CPU "
                                "kernel of the parts' dtype, heads and Dv for it)");
}

const Backend &backendFor(attn_target target) {
  switch (target) {
  case ATTN_TARGET_CPU:
    return cpuBackend();
  case ATTN_TARGET_VULKAN:
#if ATTN_HAVE_VULKAN
    return vulkanBackend();
#else
    fail(ATTN_STATUS_UNSUPPORTED,
         "attn_problem.target is ATTN_TARGET_VULKAN, but this build has no Vulkan backend");
#endif
  case ATTN_TARGET_CUDA:
#if ATTN_HAVE_CUDA
    return cudaBackend();
#else
    break;
#endif
  }
  fail(ATTN_STATUS_UNSUPPORTED,
       "attn_problem.target is ATTN_TARGET_CUDA, but this build has no CUDA backend");
}

} // namespace attn::rt
