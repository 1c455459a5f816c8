//===- context.cpp - attn_context: options, pool, cache directory, stats --===//

#include "core/context.h"
#include "core/backend.h"
#include "core/problem.h"
#include "core/struct_init.h"

#include "core/cpu_level.h"
#include "core/error.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sched.h>
#include <system_error>
#include <thread>

namespace attn::rt {

namespace {

constexpr size_t kOptionsSizeV1 =
    offsetof(attn_context_options, disk_cache) + sizeof(attn_context_options::disk_cache);
constexpr size_t kOptionsSizeV2 =
    offsetof(attn_context_options, cache_max_bytes) + sizeof(attn_context_options::cache_max_bytes);
constexpr size_t kOptionsSizeV3 =
    offsetof(attn_context_options, cpu_target) + sizeof(attn_context_options::cpu_target);
constexpr size_t kOptionsSizeV4 =
    offsetof(attn_context_options, vulkan_device) + sizeof(attn_context_options::vulkan_device);
constexpr size_t kOptionsSizeV5 =
    offsetof(attn_context_options, tuning_db) + sizeof(attn_context_options::tuning_db);
constexpr size_t kOptionsSizeV6 =
    offsetof(attn_context_options, metrics) + sizeof(attn_context_options::metrics);
constexpr size_t kStatsSizeV1 = offsetof(attn_context_stats, disk_cache_rejected) +
                                sizeof(attn_context_stats::disk_cache_rejected);

constexpr int64_t kDefaultCacheMaxBytes = int64_t(1) << 30;

// An empty variable counts as unset, as the XDG base directory spec says.
const char *envOrNull(const char *name) {
  const char *value = std::getenv(name);
  return value && *value ? value : nullptr;
}

// options.cache_dir, else $ATTN_CACHE_DIR, else $XDG_CACHE_HOME/attnc, else
// $HOME/.cache/attnc; "" when none applies (then no disk cache). The plugin
// creates the directory when it first writes to it.
std::string resolveCacheDir(const char *fromOptions) {
  if (fromOptions && *fromOptions)
    return fromOptions;
  if (const char *dir = envOrNull("ATTN_CACHE_DIR"))
    return dir;
  if (const char *xdg = envOrNull("XDG_CACHE_HOME"))
    return std::string(xdg) + "/attnc";
  if (const char *home = envOrNull("HOME"))
    return std::string(home) + "/.cache/attnc";
  return "";
}

// options.cache_max_bytes when set, else $ATTN_CACHE_MAX_BYTES (a positive byte count), else
// 1 GiB. A malformed variable is an error rather than silently another bound.
int64_t resolveCacheMaxBytes(const attn_context_options *options) {
  if (options && options->struct_size >= kOptionsSizeV2 && options->cache_max_bytes > 0)
    return options->cache_max_bytes;
  const char *env = envOrNull("ATTN_CACHE_MAX_BYTES");
  if (!env)
    return kDefaultCacheMaxBytes;
  char *end = nullptr;
  errno = 0;
  long long value = std::strtoll(env, &end, 10);
  if (errno != 0 || *end != '\0' || value < 1)
    failInvalid(format("ATTN_CACHE_MAX_BYTES is '%s', expected a positive number of bytes", env));
  return value;
}

// options.cpu_target when set, else $ATTN_CPU_TARGET, else "host": a name the compiler knows, for
// a CPU this machine runs (code for a level above the host's could not be launched).
std::string resolveCpuTarget(const attn_context_options *options) {
  const bool fromOptions = options && options->struct_size >= kOptionsSizeV3 && options->cpu_target;
  const char *name = fromOptions ? options->cpu_target : envOrNull("ATTN_CPU_TARGET");
  const char *source = fromOptions ? "attn_context_options.cpu_target" : "ATTN_CPU_TARGET";
  if (!name)
    return "host";
  std::string target = name;
  if (target != "host" && target != "x86-64-v3" && target != "x86-64-v4")
    failInvalid(format("%s is '%s', expected host, x86-64-v3 or x86-64-v4", source, name));
  if (target != "host" && !cpuSupportsLevel(target))
    fail(ATTN_STATUS_UNSUPPORTED,
         format("%s is '%s', which this CPU does not support", source, name));
  return target;
}

// options.tuning_db when set, else $ATTN_TUNING_DB, else none; "" = none.
std::string resolveTuningDb(const attn_context_options *options) {
  if (options && options->struct_size >= kOptionsSizeV5 && options->tuning_db)
    return options->tuning_db;
  const char *env = envOrNull("ATTN_TUNING_DB");
  return env ? env : "";
}

// options.metrics when 0 or 1, else $ATTN_METRICS: "1" on; unset, "" or "0" off.
bool resolveMetrics(const attn_context_options *options) {
  if (options && options->struct_size >= kOptionsSizeV6 && options->metrics >= 0)
    return options->metrics == 1;
  const char *env = envOrNull("ATTN_METRICS");
  if (!env || std::string(env) == "0")
    return false;
  if (std::string(env) != "1")
    failInvalid(format("ATTN_METRICS is '%s', expected 1 (on) or 0 (off)", env));
  return true;
}

int32_t resolveThreads(int32_t requested) {
  if (requested > 0)
    return requested;
  // The CPUs this process may run on (taskset, cgroup cpusets, an engine's pinning), not every
  // CPU of the machine: a pool larger than that only time-slices.
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (sched_getaffinity(0, sizeof(allowed), &allowed) == 0 && CPU_COUNT(&allowed) > 0)
    return CPU_COUNT(&allowed);
  unsigned hardware = std::thread::hardware_concurrency();
  return hardware > 0 ? static_cast<int32_t>(hardware) : 1;
}

void validateOptions(const attn_context_options *options) {
  if (!options)
    return;
  if (options->struct_size < kOptionsSizeV1)
    failInvalid(format("attn_context_options.struct_size is %zu, expected at least %zu "
                       "(initialize it with attn_context_options_init)",
                       options->struct_size, kOptionsSizeV1));
  if (options->num_threads < 0)
    failInvalid(format("attn_context_options.num_threads is %d, expected >= 0 (0 = one per "
                       "hardware thread)",
                       options->num_threads));
  if (options->disk_cache != 0 && options->disk_cache != 1)
    failInvalid(
        format("attn_context_options.disk_cache is %d, expected 0 or 1", options->disk_cache));
  if (options->struct_size >= kOptionsSizeV6 && (options->metrics < -1 || options->metrics > 1))
    failInvalid(format("attn_context_options.metrics is %d, expected 1 (on), 0 (off) or -1 "
                       "($ATTN_METRICS)",
                       options->metrics));
  if (options->struct_size >= kOptionsSizeV2 && options->cache_max_bytes < 0)
    failInvalid(format("attn_context_options.cache_max_bytes is %lld, expected >= 0 (0 = default)",
                       static_cast<long long>(options->cache_max_bytes)));
}

} // namespace

ContextState::ContextState(const attn_context_options *options)
    : concurrency_(resolveThreads(options ? options->num_threads : 0)),
      engineParallelFor_(options ? options->parallel_for : nullptr),
      engineUser_(options ? options->parallel_for_user : nullptr),
      diskCache_(options ? options->disk_cache == 1 : true),
      cacheDir_(resolveCacheDir(options ? options->cache_dir : nullptr)),
      cacheMaxBytes_(resolveCacheMaxBytes(options)), cpuTarget_(resolveCpuTarget(options)),
      tuningDb_(resolveTuningDb(options)) {
  if (resolveMetrics(options))
    metrics_ = std::make_unique<Metrics>();
  if (cacheDir_.empty())
    diskCache_ = false;
  if (options && options->struct_size >= kOptionsSizeV4 && options->vulkan_device) {
    const attn_vulkan_device *device = options->vulkan_device;
    if (device->struct_size < sizeof(attn_vulkan_device))
      failInvalid(format("attn_context_options.vulkan_device->struct_size is %zu, expected %zu "
                         "(set it to sizeof(attn_vulkan_device))",
                         device->struct_size, sizeof(attn_vulkan_device)));
    if (!device->instance || !device->physical_device || !device->device || !device->queue)
      failInvalid("attn_context_options.vulkan_device: instance, physical_device, device and "
                  "queue must all be set");
    vulkanDevice_ = *device;
    vulkanDevice_.struct_size = sizeof(attn_vulkan_device);
  }
  // With an engine's parallel_for the engine owns the threads: starting a pool
  // too would leave two pools competing for the cores.
  if (!engineParallelFor_ && concurrency_ > 1) {
    try {
      pool_ = std::make_unique<ThreadPool>(concurrency_);
    } catch (const std::system_error &error) {
      fail(ATTN_STATUS_INTERNAL_ERROR,
           format("could not start the %d threads of the context's pool: %s", concurrency_,
                  error.what()));
    }
  }
}

void ContextState::parallelFor(int64_t n, attn_parallel_task_fn task, void *taskCtx) {
  if (n <= 0)
    return;
  if (engineParallelFor_) {
    engineParallelFor_(engineUser_, n, task, taskCtx);
  } else if (pool_) {
    pool_->parallelFor(n, task, taskCtx);
  } else {
    for (int64_t item = 0; item < n; ++item)
      task(taskCtx, item, item + 1);
  }
}

std::shared_ptr<void>
ContextState::backendState(attn_target target,
                           const std::function<std::shared_ptr<void>()> &create) {
  std::lock_guard<std::mutex> lock(backendMutex_);
  std::shared_ptr<void> &state = backendStates_[static_cast<int>(target)];
  if (!state)
    state = create();
  return state;
}

} // namespace attn::rt

using namespace attn::rt;

extern "C" {

ATTN_API attn_status attn_context_options_init_sized(attn_context_options *options,
                                                     size_t structSize) {
  return guard([&] {
    attn_context_options defaults{};
    defaults.num_threads = 0;
    defaults.parallel_for = nullptr;
    defaults.parallel_for_user = nullptr;
    defaults.cache_dir = nullptr;
    defaults.disk_cache = 1;
    defaults.metrics = -1;
    initSized(options, structSize, defaults, sizeof(attn_context_options), "options");
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_context_create(const attn_context_options *options,
                                         attn_context **out_context) {
  return guard([&] {
    requireNonNull(out_context, "out_context");
    validateOptions(options);
    auto context = std::make_unique<attn_context>();
    context->state = std::make_shared<ContextState>(options);
    *out_context = context.release();
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_context_destroy(attn_context *context) {
  return guard([&] {
    delete context;
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_context_get_stats(attn_context *context, attn_context_stats *out_stats) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(out_stats, "out_stats");
    if (out_stats->struct_size < kStatsSizeV1)
      failInvalid(format("attn_context_stats.struct_size is %zu, expected at least %zu (set it "
                         "to sizeof(attn_context_stats))",
                         out_stats->struct_size, kStatsSizeV1));
    const CacheCounters &counters = context->state->kernels().counters();
    out_stats->kernels_compiled = counters.kernelsCompiled.load(std::memory_order_relaxed);
    out_stats->memory_cache_hits = counters.memoryCacheHits.load(std::memory_order_relaxed);
    out_stats->disk_cache_hits = counters.diskCacheHits.load(std::memory_order_relaxed);
    out_stats->disk_cache_rejected = counters.diskCacheRejected.load(std::memory_order_relaxed);
    if (out_stats->struct_size >= offsetof(attn_context_stats, num_threads) + sizeof(int64_t))
      out_stats->num_threads = context->state->concurrency();
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_context_metrics_text(attn_context *context, char *buffer, size_t capacity,
                                               size_t *out_length) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(out_length, "out_length");
    if (!buffer && capacity)
      failInvalid("attn_context_metrics_text: buffer is NULL with a capacity of " +
                  std::to_string(capacity) + " (NULL goes with 0, to ask the length)");
    Metrics *metrics = context->state->metrics();
    if (!metrics)
      fail(ATTN_STATUS_UNSUPPORTED, "attn_context_metrics_text: the context was created with "
                                    "metrics off (attn_context_options.metrics = 1 or "
                                    "ATTN_METRICS=1 turns them on)");
    std::string text = metrics->text(context->state->kernels().counters());
    *out_length = text.size();
    if (!buffer)
      return ATTN_STATUS_SUCCESS;
    if (capacity < text.size() + 1)
      failInvalid(format("attn_context_metrics_text: the buffer holds %zu bytes, the text needs "
                         "%zu with its NUL",
                         capacity, text.size() + 1));
    std::memcpy(buffer, text.c_str(), text.size() + 1);
    return ATTN_STATUS_SUCCESS;
  });
}

ATTN_API attn_status attn_context_get_device(attn_context *context, attn_target target,
                                             attn_device_info *out_info) {
  return guard([&] {
    requireNonNull(context, "context");
    requireNonNull(out_info, "out_info");
    if (out_info->struct_size < sizeof(attn_device_info))
      failInvalid(format("out_info->struct_size is %zu, expected at least %zu (set it to "
                         "sizeof(attn_device_info))",
                         out_info->struct_size, sizeof(attn_device_info)));
    if (int32_t raw = rawEnum(target);
        raw != ATTN_TARGET_CPU && raw != ATTN_TARGET_VULKAN && raw != ATTN_TARGET_CUDA)
      failInvalid(format("target is %d, not an attn_target", raw));
    // What the backend gives the compiler: the device it builds code for (opened on first use).
    CompileOptions options = context->state->compileOptions();
    backendFor(target).prepareCompile(*context->state, options);
    attn_device_info info;
    std::memset(&info, 0, sizeof(info));
    info.struct_size = sizeof(info);
    info.target = target;
    const char *name = options.cpuTarget;
    if (const attn_jit_vulkan_device *d =
            target == ATTN_TARGET_VULKAN ? options.vulkanDevice : nullptr) {
      name = d->name;
      info.vendor_id = d->vendor_id;
      info.device_id = d->device_id;
      info.driver_version = d->driver_version;
      info.subgroup_size = d->subgroup_size;
      info.max_shared_bytes = d->max_shared_bytes;
      info.max_workgroup_size = d->max_workgroup_size;
      info.float16 = d->float16;
      info.int16 = d->int16;
      info.storage16 = d->storage16;
      info.cooperative_matrix = d->cooperative_matrix;
    }
    if (const attn_jit_cuda_device *d = target == ATTN_TARGET_CUDA ? options.cudaDevice : nullptr) {
      name = d->name;
      info.driver_version = static_cast<uint32_t>(d->driver_version);
      info.subgroup_size = ATTN_CUDA_WARP_SIZE;
      info.max_shared_bytes = d->max_shared_bytes;
      info.compute_capability = d->compute_capability;
      info.multiprocessors = d->multiprocessors;
    }
    std::snprintf(info.name, sizeof(info.name), "%s", name ? name : "");
    std::memcpy(static_cast<void *>(out_info), &info, sizeof(info));
    return ATTN_STATUS_SUCCESS;
  });
}

} // extern "C"
