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
#include "core/sequences.h"
#include "core/struct_init.h"
#if ATTN_HAVE_VULKAN
#include "vulkan/backend.h"
#endif
#if ATTN_HAVE_CUDA
#include "cuda/backend.h"
#endif

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

using namespace attn::rt;

void attn::rt::attachMetrics(attn_kernel &kernel) {
  if (Metrics *metrics = kernel.context->metrics()) {
    kernel.series = metrics->series(kernel.compiled->problem(), kernel.label);
    metrics->kernelCreated();
  }
}

namespace {
/// Runs a validated launch; with metrics on, times it and counts it (or its failure).
template <typename Run>
void measured(attn_kernel &kernel, const attn_launch_args &shape, bool hostLengths, Run &&run) {
  MetricSeries *series = kernel.series;
  if (!series) {
    run();
    return;
  }
  auto started = std::chrono::steady_clock::now();
  try {
    run();
  } catch (...) {
    series->recordFailure();
    throw;
  }
  auto nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(
                   std::chrono::steady_clock::now() - started)
                   .count();
  const attn_problem &p = kernel.compiled->problem();
  series->recordLaunch(static_cast<uint64_t>(nanos), launchTokens(shape, hostLengths),
                       launchBytes(p, shape, hostLengths));
}

/// A packed launch (core/sequences.h) on a backend that launches whole batches (Vulkan and CUDA
/// on host memory): one launch per sequence, on its view. A packed sequence's LSE / ENTROPY rows
/// are Tq apart per head in the caller's [Hq, Tq] but [Hq, Lq] in its launch: they go through a
/// scratch buffer and are copied to their place. A failure past validation (a device error)
/// leaves the sequences before it written.
void launchBySequence(const Backend &backend, ContextState &context, const CompiledKernel &kernel,
                      const attn_launch_args &args) {
  const attn_problem &p = kernel.problem();
  std::vector<float> lse, entropy;
  for (int64_t b = 0; b < args.batch; ++b) {
    const int64_t rows = queryLength(args, b);
    if (rows == 0)
      continue;
    attn_launch_args view = sequenceView(p, args, b);
    const bool scratch = args.cu_seqlens_q != nullptr;
    if (scratch) {
      const size_t count = static_cast<size_t>(p.heads_q * rows);
      if (view.lse)
        lse.resize(count), view.lse = lse.data();
      if (view.entropy)
        entropy.resize(count), view.entropy = entropy.data();
    }
    backend.launch(context, kernel, view);
    for (int64_t h = 0; scratch && h < p.heads_q; ++h) {
      const int64_t to = h * statHeadStride(args) + args.cu_seqlens_q[b];
      if (args.lse)
        std::memcpy(args.lse + to, lse.data() + h * rows, static_cast<size_t>(rows) * 4);
      if (args.entropy)
        std::memcpy(args.entropy + to, entropy.data() + h * rows, static_cast<size_t>(rows) * 4);
    }
  }
}

/// Where a device tensor is, for validation: present or not, and its address modulo 4096 (the
/// alignment checks only look at that), with its strides.
struct DeviceTensor {
  bool present;
  uint64_t address;
  const int64_t *strides;
};

/// A paged cache's block table in device memory, and its shape.
struct DeviceTable {
  bool present = false;
  uint64_t address = 0;
  int64_t stride = 0, maxPages = 0, numPages = 0;
};

/// The shapes and strides of a launch on device memory, checked as for a host launch with
/// stand-in pointers aligned as the device addresses are (device data itself cannot be read:
/// per-batch lengths and block-table entries are clamped on the device instead).
[[maybe_unused]] attn_launch_args
validateDeviceLaunch(const attn_problem &p, int64_t batch, int64_t seqQ, int64_t seqKv,
                     const DeviceTensor (&tensors)[4], const DeviceTensor &lse,
                     const DeviceTensor &entropy, const DeviceTable &table = {}, double scale = 0) {
  auto standIn = [](const DeviceTensor &t) -> void * {
    return t.present ? reinterpret_cast<void *>(uintptr_t(4096 + (t.address % 4096))) : nullptr;
  };
  attn_launch_args shapes;
  std::memset(static_cast<void *>(&shapes), 0, sizeof(shapes));
  shapes.struct_size = sizeof(shapes);
  shapes.batch = batch;
  shapes.seq_q = seqQ;
  shapes.seq_kv = seqKv;
  attn_tensor *host[4] = {&shapes.q, &shapes.k, &shapes.v, &shapes.o};
  for (int i = 0; i < 4; ++i) {
    host[i]->data = standIn(tensors[i]);
    std::memcpy(host[i]->strides, tensors[i].strides, sizeof(host[i]->strides));
  }
  shapes.lse = static_cast<float *>(standIn(lse));
  shapes.entropy = static_cast<float *>(standIn(entropy));
  shapes.block_table =
      static_cast<const int32_t *>(standIn({table.present, table.address, nullptr}));
  shapes.block_table_stride = table.stride;
  shapes.max_pages = table.maxPages;
  shapes.num_pages = table.numPages;
  shapes.scale = scale;
  return validateLaunchArgs(p, &shapes, /*hostTable=*/false);
}
} // namespace

extern "C" {

ATTN_API attn_status attn_kernel_create(attn_context *context, const attn_problem *problem,
                                        attn_kernel **out_kernel) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(out_kernel, "out_kernel");
    attn_problem normalized = validateProblem(problem);
    auto kernel = std::make_unique<attn_kernel>();
    kernel->context = context->state;
    kernel->compiled = context->state->kernels().getOrCompile(*context->state, normalized,
                                                              context->state->compileOptions());
    attachMetrics(*kernel);
    *out_kernel = kernel.release();
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_get_config(const attn_kernel *kernel,
                                            attn_kernel_config *out_config) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    requireNonNull(out_config, "out_config");
    if (out_config->struct_size < sizeof(attn_kernel_config))
      fail(ATTN_STATUS_INVALID_ARGUMENT,
           format("out_config->struct_size is %zu, expected at least %zu (set it to "
                  "sizeof(attn_kernel_config))",
                  out_config->struct_size, sizeof(attn_kernel_config)));
    const attn_kernel_manifest *m = kernel->compiled->entry().manifest;
    if (!m)
      fail(ATTN_STATUS_INTERNAL_ERROR, "the kernel has no manifest");
    attn_kernel_config c;
    std::memset(&c, 0, sizeof(c));
    c.struct_size = sizeof(c);
    c.source = static_cast<attn_config_source>(m->config_source);
    c.vector_width = static_cast<int32_t>(m->vector_width);
    c.block_q = m->block_q;
    c.block_k = m->block_k;
    c.decode_max_rows = m->decode_max_rows;
    c.split_keys = m->split_keys;
    c.cpu_features = m->cpu_features;
    static const char *sources[] = {"heuristic", "tuned", "given"};
    static const char *targets[] = {"cpu", "cuda", "vulkan"}; // by attn_target
    std::snprintf(c.text, sizeof(c.text),
                  "%s %s block_q=%lld block_k=%lld %s=%d decode_rows=%lld split_keys=%lld%s%s",
                  targets[m->target >= 0 && m->target <= 2 ? m->target : 0],
                  sources[m->config_source <= 2 ? m->config_source : 0],
                  static_cast<long long>(c.block_q), static_cast<long long>(c.block_k),
                  m->target == ATTN_TARGET_CPU ? "vector_width" : "subgroup", c.vector_width,
                  static_cast<long long>(c.decode_max_rows), static_cast<long long>(c.split_keys),
                  (c.cpu_features & ATTN_CPU_FEATURE_AMX) ? " amx" : "",
                  (c.cpu_features & ATTN_CPU_FEATURE_AVX512BF16) ? " dpbf16" : "");
    std::memcpy(static_cast<void *>(out_config), &c, sizeof(c));
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
    if (kernel && kernel->series)
      kernel->context->metrics()->kernelDestroyed();
    delete kernel;
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_launch(attn_kernel *kernel, const attn_launch_args *args) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    const CompiledKernel &compiled = *kernel->compiled;
    attn_launch_args validated = validateLaunchArgs(compiled.problem(), args);
    measured(*kernel, validated, /*hostLengths=*/true, [&] {
      const Backend &backend = backendFor(compiled.problem().target);
      if (isPacked(validated) && compiled.problem().target != ATTN_TARGET_CPU)
        launchBySequence(backend, *kernel->context, compiled, validated);
      else
        backend.launch(*kernel->context, compiled, validated);
    });
    if (kernel->health && kernel->series)
      kernel->series->recordHealth(compiled.problem(), validated, kernel->health);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_merge(attn_kernel *kernel, const attn_merge_args *args) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    const CompiledKernel &compiled = *kernel->compiled;
    const attn_problem &p = compiled.problem();
    if (p.variant != ATTN_VARIANT_SOFTMAX)
      failInvalid("attn_kernel_merge: the kernel is a linear attention kernel; merging takes a "
                  "softmax kernel of the parts' dtype, query heads and value head dim");
    const Backend &backend = backendFor(p.target);
    if (p.target == ATTN_TARGET_CPU && !compiled.entry().merge_parts)
      fail(ATTN_STATUS_UNSUPPORTED,
           "attn_kernel_merge: the kernel's code has no merge of its own dtype (linked f16/bf16 "
           "code; compile or load a bundle instead)");
    attn_merge_args validated = validateMergeArgs(p, args);
    backend.merge(*kernel->context, compiled, validated);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_workspace_size(attn_kernel *kernel, const attn_launch_args *args,
                                                size_t *out_bytes) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    requireNonNull(out_bytes, "out_bytes");
    const CompiledKernel &compiled = *kernel->compiled;
    attn_launch_args validated = validateLaunchArgs(compiled.problem(), args);
    validated.workspace = nullptr;
    validated.workspace_bytes = 0;
    *out_bytes =
        backendFor(compiled.problem().target).workspaceBytes(*kernel->context, compiled, validated);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_set_health(attn_kernel *kernel, uint32_t flags) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    if (flags & ~(ATTN_HEALTH_NONFINITE | ATTN_HEALTH_ENTROPY))
      failInvalid(
          format("attn_kernel_set_health: flags 0x%x has bits that are not ATTN_HEALTH_*", flags));
    const attn_problem &p = kernel->compiled->problem();
    if ((flags & ATTN_HEALTH_ENTROPY) && !p.return_entropy)
      failInvalid("attn_kernel_set_health: ATTN_HEALTH_ENTROPY needs a kernel that returns "
                  "entropy (attn_problem.return_entropy = 1)");
    if (flags && !kernel->series)
      fail(ATTN_STATUS_UNSUPPORTED, "attn_kernel_set_health: the kernel's context has metrics "
                                    "off (attn_context_options.metrics = 1 or ATTN_METRICS=1)");
    kernel->health = flags;
    if (flags)
      kernel->series->enableHealth(flags, p.heads_q);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_snapshot_entropy_baseline(attn_kernel *kernel) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    if (!(kernel->health & ATTN_HEALTH_ENTROPY))
      failInvalid("attn_kernel_snapshot_entropy_baseline: the handle has no ATTN_HEALTH_ENTROPY "
                  "(attn_kernel_set_health)");
    kernel->series->snapshotEntropyBaseline();
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_set_label(attn_kernel *kernel, const char *label) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    std::string value = label ? label : "";
    if (value.size() > 256)
      failInvalid(
          format("attn_kernel_set_label: the label is %zu bytes, at most 256", value.size()));
    kernel->label = value;
    if (Metrics *metrics = kernel->context->metrics()) {
      kernel->series = metrics->series(kernel->compiled->problem(), kernel->label);
      kernel->series->enableHealth(kernel->health, kernel->compiled->problem().heads_q);
    }
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_vulkan_launch_args_init_sized(attn_vulkan_launch_args *args,
                                                        size_t struct_size) {
  return guard([&] {
    requireNonNull(args, "args");
    if (struct_size < kVulkanLaunchArgsSizeV1)
      failInvalid(format("attn_vulkan_launch_args_init_sized: struct_size is %zu, expected at "
                         "least %zu",
                         struct_size, kVulkanLaunchArgsSizeV1));
    const size_t size = std::min(struct_size, sizeof(attn_vulkan_launch_args));
    std::memset(static_cast<void *>(args), 0, size);
    args->struct_size = size;
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_launch_vulkan(attn_kernel *kernel,
                                               const attn_vulkan_launch_args *args) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    requireNonNull(args, "args");
    const CompiledKernel &compiled = *kernel->compiled;
    const attn_problem &p = compiled.problem();
    if (p.target != ATTN_TARGET_VULKAN)
      failInvalid("attn_kernel_launch_vulkan: the kernel is not a Vulkan kernel "
                  "(attn_problem.target is not ATTN_TARGET_VULKAN)");
    if (!kernel->context->vulkanDevice())
      failInvalid("attn_kernel_launch_vulkan: the kernel's context was created without "
                  "attn_context_options.vulkan_device, so its buffers cannot be the engine's (use "
                  "attn_kernel_launch for host memory)");
    if (args->struct_size < kVulkanLaunchArgsSizeV1)
      failInvalid(format("attn_vulkan_launch_args.struct_size is %zu, expected at least %zu (use "
                         "attn_vulkan_launch_args_init)",
                         args->struct_size, kVulkanLaunchArgsSizeV1));
    // An older header's smaller struct lacks the later fields: they stay 0 (none).
    attn_vulkan_launch_args given{};
    std::memcpy(&given, args, std::min(args->struct_size, sizeof(given)));
    args = &given;
#if ATTN_HAVE_VULKAN
    const size_t esize = p.dtype == ATTN_DTYPE_F32 ? 4 : 2;
    struct Named {
      const char *name;
      const attn_vulkan_tensor &tensor;
    };
    for (Named t :
         {Named{"q", args->q}, Named{"k", args->k}, Named{"v", args->v}, Named{"o", args->o}}) {
      if (!t.tensor.buffer)
        failInvalid(format("attn_vulkan_launch_args.%s.buffer is 0", t.name));
      if (t.tensor.offset % esize)
        failInvalid(format("attn_vulkan_launch_args.%s.offset %llu is not a multiple of the "
                           "element size (%zu)",
                           t.name, static_cast<unsigned long long>(t.tensor.offset), esize));
    }
    for (auto [name, array] : {std::pair<const char *, attn_vulkan_array>{"lse", args->lse},
                               {"entropy", args->entropy},
                               {"seqlens_q", args->seqlens_q},
                               {"seqlens_kv", args->seqlens_kv},
                               {"alibi_slopes", args->alibi_slopes},
                               {"sinks", args->sinks},
                               {"block_table", args->block_table}})
      if (array.buffer && array.offset % 4)
        failInvalid(format("attn_vulkan_launch_args.%s.offset %llu is not a multiple of 4", name,
                           static_cast<unsigned long long>(array.offset)));
    for (auto [name, array, asked, flag] :
         {std::tuple<const char *, attn_vulkan_array, bool, const char *>{
              "alibi_slopes", args->alibi_slopes, p.alibi != 0, "alibi"},
          {"sinks", args->sinks, p.sinks != 0, "sinks"}}) {
      if (asked && !array.buffer)
        failInvalid(format("attn_vulkan_launch_args.%s.buffer is 0, but the kernel's problem asks "
                           "for it (attn_problem.%s = 1)",
                           name, flag));
      if (!asked && array.buffer)
        failInvalid(format("attn_vulkan_launch_args.%s is set, but the kernel's problem does not "
                           "ask for it (attn_problem.%s = 0)",
                           name, flag));
    }
    if (p.page_size > 0 && !args->block_table.buffer)
      failInvalid(format("attn_vulkan_launch_args.block_table.buffer is 0, but the kernel's "
                         "problem reads a paged KV cache (attn_problem.page_size = %lld)",
                         static_cast<long long>(p.page_size)));
    if (p.page_size == 0 && args->block_table.buffer)
      failInvalid("attn_vulkan_launch_args.block_table is set, but the kernel's problem has no "
                  "paged KV cache (attn_problem.page_size = 0)");
    auto tensor = [](const attn_vulkan_tensor &t) {
      return DeviceTensor{t.buffer != 0, t.offset, t.strides};
    };
    // The per-head arrays were checked above: their values are on the device, not for the host
    // checks of attn_launch_args.
    attn_problem shapes = p;
    shapes.alibi = shapes.sinks = 0;
    attn_launch_args validated =
        validateDeviceLaunch(shapes, args->batch, args->seq_q, args->seq_kv,
                             {tensor(args->q), tensor(args->k), tensor(args->v), tensor(args->o)},
                             {args->lse.buffer != 0, args->lse.offset, nullptr},
                             {args->entropy.buffer != 0, args->entropy.offset, nullptr},
                             {args->block_table.buffer != 0, args->block_table.offset,
                              args->block_table_stride, args->max_pages, args->num_pages},
                             args->scale);
    measured(*kernel, validated, /*hostLengths=*/false,
             [&] { launchOnVulkanBuffers(compiled, validated, *args); });
    return ATTN_STATUS_SUCCESS;
#else
    fail(ATTN_STATUS_UNSUPPORTED, "this build has no Vulkan backend");
#endif
  });
}

ATTN_API attn_status attn_cuda_launch_args_init_sized(attn_cuda_launch_args *args,
                                                      size_t struct_size) {
  return guard([&] {
    requireNonNull(args, "args");
    if (struct_size < sizeof(attn_cuda_launch_args))
      failInvalid(format("attn_cuda_launch_args_init_sized: struct_size is %zu, expected %zu",
                         struct_size, sizeof(attn_cuda_launch_args)));
    std::memset(static_cast<void *>(args), 0, sizeof(attn_cuda_launch_args));
    args->struct_size = sizeof(attn_cuda_launch_args);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_kernel_launch_cuda(attn_kernel *kernel,
                                             const attn_cuda_launch_args *args) {
  return guard([&] {
    requireNonNull(kernel, "kernel");
    requireNonNull(args, "args");
    const CompiledKernel &compiled = *kernel->compiled;
    const attn_problem &p = compiled.problem();
    if (p.target != ATTN_TARGET_CUDA)
      failInvalid("attn_kernel_launch_cuda: the kernel is not a CUDA kernel "
                  "(attn_problem.target is not ATTN_TARGET_CUDA)");
    if (args->struct_size < sizeof(attn_cuda_launch_args))
      failInvalid(format("attn_cuda_launch_args.struct_size is %zu, expected %zu (use "
                         "attn_cuda_launch_args_init)",
                         args->struct_size, sizeof(attn_cuda_launch_args)));
#if ATTN_HAVE_CUDA
    const size_t esize = p.dtype == ATTN_DTYPE_F32 ? 4 : 2;
    struct Named {
      const char *name;
      const attn_cuda_tensor &tensor;
    };
    for (Named t :
         {Named{"q", args->q}, Named{"k", args->k}, Named{"v", args->v}, Named{"o", args->o}}) {
      if (!t.tensor.data)
        failInvalid(format("attn_cuda_launch_args.%s.data is 0", t.name));
      if (t.tensor.data % esize)
        failInvalid(format("attn_cuda_launch_args.%s.data is not aligned to the element size "
                           "(%zu)",
                           t.name, esize));
    }
    for (auto [name, ptr] : {std::pair<const char *, uint64_t>{"lse", args->lse},
                             {"entropy", args->entropy},
                             {"seqlens_q", args->seqlens_q},
                             {"seqlens_kv", args->seqlens_kv}})
      if (ptr % 4)
        failInvalid(format("attn_cuda_launch_args.%s is not 4-byte aligned", name));
    auto tensor = [](const attn_cuda_tensor &t) {
      return DeviceTensor{t.data != 0, t.data, t.strides};
    };
    attn_launch_args validated = validateDeviceLaunch(
        p, args->batch, args->seq_q, args->seq_kv,
        {tensor(args->q), tensor(args->k), tensor(args->v), tensor(args->o)},
        {args->lse != 0, args->lse, nullptr}, {args->entropy != 0, args->entropy, nullptr});
    measured(*kernel, validated, /*hostLengths=*/false,
             [&] { launchOnCudaMemory(compiled, validated, *args); });
    return ATTN_STATUS_SUCCESS;
#else
    fail(ATTN_STATUS_UNSUPPORTED, "this build has no CUDA backend");
    return ATTN_STATUS_UNSUPPORTED;
#endif
  });
}

} // extern "C"
