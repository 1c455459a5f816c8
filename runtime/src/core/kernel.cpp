//===- kernel.cpp - attn_kernel: create, destroy, launch ------------------===//
//
// An attn_kernel is a handle: one reference to the shared CompiledKernel and
// one to its context's state (the pool it launches on). Handles for the same
// problem share the compiled code.
//
//===----------------------------------------------------------------------===//

#include "core/backend.h"
#include "core/context.h"
#include "core/error.h"
#include "core/kernel_handle.h"
#include "core/launch_args.h"
#include "core/problem.h"

#include <cstring>

using namespace attn::rt;

extern "C" {

ATTN_API attn_status attn_kernel_create(attn_context *context, const attn_problem *problem,
                                        attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(out_kernel, "out_kernel");
    attn_problem normalized = validateProblem(problem);
    auto kernel = std::make_unique<attn_kernel>();
    kernel->context = context->state;
    kernel->compiled =
        context->state->kernels().getOrCompile(normalized, context->state->compileOptions());
    *out_kernel = kernel.release();
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_get_problem(const attn_kernel *kernel, attn_problem *out_problem) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    requireNonNull(out_problem, "out_problem");
    size_t size = out_problem->struct_size;
    if (size < sizeof(attn_problem))
      fail(ATTN_STATUS_INVALID_ARGUMENT,
           format("out_problem->struct_size is %zu, expected at least %zu (set it to "
                  "sizeof(attn_problem))",
                  size, sizeof(attn_problem)));
    attn_problem problem = kernel->compiled->problem();
    problem.struct_size = sizeof(attn_problem);
    std::memcpy(static_cast<void *>(out_problem), &problem, sizeof(attn_problem));
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_destroy(attn_kernel *kernel) {
  return guard([&] {
    delete kernel;
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_launch(attn_kernel *kernel, const attn_launch_args *args) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    const CompiledKernel &compiled = *kernel->compiled;
    attn_launch_args validated = validateLaunchArgs(compiled.problem(), args);
    backendFor(compiled.problem().target).launch(*kernel->context, compiled, validated);
    return ATTN_STATUS_SUCCESS;
  });
}

} // extern "C"
