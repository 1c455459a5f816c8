//===- context.cpp - errors and the process-wide attn_context ----------------===//
#include "common.h"

#include <atomic>
#include <nanobind/stl/string.h>

#include <mutex>

namespace attn_python {

void check(attn_status status, const char *what) {
  if (status == ATTN_STATUS_SUCCESS)
    return;
  std::string message =
      std::string(what) + " failed (" + attn_status_string(status) + "): " + attn_last_error();
  if (status == ATTN_STATUS_INVALID_ARGUMENT)
    throw nb::value_error(message.c_str());
  throw AttnError(message);
}

namespace {
std::once_flag contextOnce;
attn_context *theContext = nullptr;
attn_status contextStatus = ATTN_STATUS_SUCCESS;
std::string contextError;
std::atomic<bool> contextMade{false};
std::atomic<bool> metricsWanted{false}; // attn.enable_metrics() before the context exists
std::atomic<int32_t> threadsWanted{0};  // attn.set_num_threads() before it exists (0: default)
} // namespace

attn_context *context() {
  // Created on first use so that ATTN_CACHE_DIR and friends may be set after import. Never
  // destroyed: kernels alive at interpreter exit keep their compiled code, and the process ends.
  std::call_once(contextOnce, [] {
    attn_context_options options;
    contextStatus = attn_context_options_init(&options);
    if (contextStatus == ATTN_STATUS_SUCCESS) {
      options.metrics = metricsWanted.load() ? 1 : -1; // -1: $ATTN_METRICS decides
      options.num_threads = threadsWanted.load();
      contextStatus = attn_context_create(&options, &theContext);
    }
    contextMade.store(true);
    if (contextStatus != ATTN_STATUS_SUCCESS)
      contextError = attn_last_error();
  });
  if (contextStatus != ATTN_STATUS_SUCCESS)
    throw AttnError(std::string("attn_context_create failed (") +
                    attn_status_string(contextStatus) + "): " + contextError);
  return theContext;
}

void registerErrors(nb::module_ &m) {
  // The module holds the type; the translator keeps a borrowed pointer to it.
  nb::exception<AttnError> error(m, "AttnError", PyExc_RuntimeError);
  error.attr("__doc__") = "An attnc runtime failure other than a bad argument (unsupported "
                          "problem or target, compile error, ...); carries the C API's message.";
}

void registerContext(nb::module_ &m) {
  m.def(
      "version",
      [] {
        int32_t major = 0, minor = 0, patch = 0;
        check(attn_get_version(&major, &minor, &patch), "attn_get_version");
        return nb::make_tuple(major, minor, patch);
      },
      "The runtime library's version as (major, minor, patch).");
  m.def(
      "set_num_threads",
      [](int32_t threads) {
        if (threads < 1)
          throw nb::value_error(
              ("num_threads must be at least 1, got " + std::to_string(threads)).c_str());
        if (contextMade.load()) {
          attn_context_stats stats{};
          stats.struct_size = sizeof stats;
          check(attn_context_get_stats(context(), &stats), "attn_context_get_stats");
          if (stats.num_threads == threads)
            return;
          throw AttnError("the module's context already runs " + std::to_string(stats.num_threads) +
                          " threads: call attn.set_num_threads() before the first kernel");
        }
        threadsWanted.store(threads);
      },
      nb::arg("num_threads"),
      "Sizes the module context's thread pool (before its first kernel; the default is the CPUs "
      "this process may run on, its sched_getaffinity set).");
  m.def(
      "enable_metrics",
      [] {
        if (!contextMade.load()) {
          metricsWanted.store(true);
          return;
        }
        size_t length = 0;
        if (attn_context_metrics_text(context(), nullptr, 0, &length) == ATTN_STATUS_UNSUPPORTED)
          throw AttnError("the module's context already exists with metrics off: call "
                          "attn.enable_metrics() before the first kernel, or set ATTN_METRICS=1");
      },
      "Turns the module context's runtime metrics on (before its first kernel).");
  m.def(
      "metrics",
      [] {
        attn_context *ctx = context();
        for (;;) {
          size_t length = 0;
          check(attn_context_metrics_text(ctx, nullptr, 0, &length), "attn_context_metrics_text");
          std::string text(length + 4096, '\0'); // launches on other threads may grow it
          if (attn_context_metrics_text(ctx, text.data(), text.size(), &length) ==
              ATTN_STATUS_SUCCESS) {
            text.resize(length);
            return text;
          }
        }
      },
      "The module context's metrics in the Prometheus text format.");
  m.def(
      "context_stats",
      [] {
        attn_context_stats stats{};
        stats.struct_size = sizeof stats;
        check(attn_context_get_stats(context(), &stats), "attn_context_get_stats");
        nb::dict d;
        d["kernels_compiled"] = stats.kernels_compiled;
        d["memory_cache_hits"] = stats.memory_cache_hits;
        d["disk_cache_hits"] = stats.disk_cache_hits;
        d["disk_cache_rejected"] = stats.disk_cache_rejected;
        d["num_threads"] = stats.num_threads;
        return d;
      },
      "Counters of the module's context: compilations and cache hits.");
  m.def(
      "device_info",
      [](int32_t raw) {
        if (raw != ATTN_TARGET_CPU && raw != ATTN_TARGET_VULKAN && raw != ATTN_TARGET_CUDA)
          throw nb::value_error(
              ("target is " + std::to_string(raw) + ", not an attn_target").c_str());
        attn_target target = static_cast<attn_target>(raw);
        attn_device_info info{};
        info.struct_size = sizeof info;
        check(attn_context_get_device(context(), target, &info), "attn_context_get_device");
        nb::dict d;
        d["name"] = std::string(info.name);
        d["vendor_id"] = info.vendor_id;
        d["device_id"] = info.device_id;
        d["driver_version"] = info.driver_version;
        d["subgroup_size"] = info.subgroup_size;
        d["max_shared_bytes"] = info.max_shared_bytes;
        d["max_workgroup_size"] = info.max_workgroup_size;
        d["float16"] = bool(info.float16);
        d["int16"] = bool(info.int16);
        d["storage16"] = bool(info.storage16);
        d["cooperative_matrix"] = bool(info.cooperative_matrix);
        d["compute_capability"] = info.compute_capability;
        d["multiprocessors"] = info.multiprocessors;
        return d;
      },
      nb::arg("target"), "The device the module's context runs a target's kernels on.");
}

} // namespace attn_python
