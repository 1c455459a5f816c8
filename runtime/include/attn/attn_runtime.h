/*
 * attn_runtime.h - the C API of libattn_runtime, attnc's kernel runtime.
 *
 * Usable from C99 and C++. Every function returns an attn_status; on failure a message naming the
 * problem is available from attn_last_error() on the calling thread, and no output buffer has been
 * written. No C++ exception crosses this boundary. The caller owns every buffer it passes: the
 * runtime never frees or keeps user memory.
 *
 * Tensors are BSHD (SPEC §2): Q [B, Sq, Hq, D], K [B, Skv, Hkv, D], V [B, Skv, Hkv, Dv],
 * O [B, Sq, Hq, Dv], each a base pointer plus a stride per dim in elements, the last stride 1.
 * LSE and ENTROPY are contiguous f32 [B, Hq, Sq].
 */
#ifndef ATTN_RUNTIME_H
#define ATTN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "attn/attn_version.h"

#if defined(_WIN32)
#define ATTN_API __declspec(dllexport)
#elif defined(__GNUC__)
#define ATTN_API __attribute__((visibility("default")))
#else
#define ATTN_API
#endif

#if defined(__GNUC__)
#define ATTN_NODISCARD __attribute__((warn_unused_result))
#else
#define ATTN_NODISCARD
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status and errors ------------------------------------------------------------------- */

typedef enum attn_status {
  ATTN_STATUS_SUCCESS = 0,
  ATTN_STATUS_INVALID_ARGUMENT = 1, /* a null pointer, bad shape, stride, dtype, ... */
  ATTN_STATUS_UNSUPPORTED = 2,      /* valid, but not supported by this build/target/machine
                                       (e.g. no compiler plugin to build kernels with) */
  ATTN_STATUS_COMPILE_ERROR = 3,    /* the compiler failed, or its plugin cannot be loaded */
  ATTN_STATUS_OUT_OF_MEMORY = 4,
  ATTN_STATUS_IO_ERROR = 5,
  ATTN_STATUS_CORRUPT_DATA = 6, /* a corrupt cache entry or kernel bundle */
  ATTN_STATUS_INTERNAL_ERROR = 7
} attn_status;

/* A static name for a status ("ATTN_STATUS_INVALID_ARGUMENT"); never NULL. */
ATTN_API const char *attn_status_string(attn_status status);

/* The message of the last failing call on this thread ("" when none; a successful call leaves it
 * as it was). Valid until the next attn_* call on this thread. */
ATTN_API const char *attn_last_error(void);

/* The runtime library's version (may differ from the ATTN_VERSION_* the caller compiled with). */
ATTN_API ATTN_NODISCARD attn_status attn_get_version(int32_t *out_major, int32_t *out_minor,
                                                     int32_t *out_patch);

/* ---- Enums ------------------------------------------------------------------------------- */

typedef enum attn_dtype { ATTN_DTYPE_F32 = 0, ATTN_DTYPE_F16 = 1, ATTN_DTYPE_BF16 = 2 } attn_dtype;

typedef enum attn_variant {
  ATTN_VARIANT_SOFTMAX = 0, /* attn.attention: dense, causal, window, globals, softcap, GQA */
  ATTN_VARIANT_LINEAR = 1   /* attn.linear_attention */
} attn_variant;

typedef enum attn_feature_map {
  ATTN_FEATURE_MAP_ELU_PLUS_ONE = 0,
  ATTN_FEATURE_MAP_RELU = 1,
  ATTN_FEATURE_MAP_IDENTITY = 2
} attn_feature_map;

typedef enum attn_target {
  ATTN_TARGET_CPU = 0,
  ATTN_TARGET_CUDA = 1,
  ATTN_TARGET_VULKAN = 2
} attn_target;

/* ---- Context ----------------------------------------------------------------------------- */

/* A task over the half-open item range [begin, end). */
typedef void (*attn_parallel_task_fn)(void *task_ctx, int64_t begin, int64_t end);

/* An engine's own parallel-for: must call task(task_ctx, b, e) over disjoint ranges that cover
 * [0, n) exactly once, possibly concurrently, and return when every call has returned. */
typedef void (*attn_parallel_for_fn)(void *user, int64_t n, attn_parallel_task_fn task,
                                     void *task_ctx);

/* An engine's own Vulkan device, for a context's ATTN_TARGET_VULKAN kernels (Vulkan handles as
 * void *, so that this header needs no Vulkan header). The handles stay the engine's: attnc never
 * destroys them, and they must outlive the context and its kernels. The device must have been
 * created with what the kernels use: storageBuffer16BitAccess and shaderFloat16 (f16) or
 * shaderInt16 (bf16) kernels, subgroup arithmetic and shuffles in compute shaders (Vulkan 1.1).
 * attnc submits to `queue` (of a compute-capable family) and waits for its own submission; the
 * engine must not use the queue from another thread during a launch (Vulkan requires queue
 * access to be externally synchronized). */
typedef struct attn_vulkan_device {
  size_t struct_size;           /* sizeof(attn_vulkan_device) */
  void *instance;               /* VkInstance */
  void *physical_device;        /* VkPhysicalDevice */
  void *device;                 /* VkDevice */
  void *queue;                  /* VkQueue */
  uint32_t queue_family_index;  /* queue's family */
  void *get_instance_proc_addr; /* the PFN_vkGetInstanceProcAddr of the engine's loader; NULL =
                                   libvulkan.so.1's */
} attn_vulkan_device;

typedef struct attn_context_options {
  size_t struct_size;                /* sizeof(attn_context_options) */
  int32_t num_threads;               /* threads to spread work over: the built-in pool's size, or
                                        parallel_for's width; 0 = the CPUs this process may run
                                        on (sched_getaffinity), 1 = no pool */
  attn_parallel_for_fn parallel_for; /* NULL = the built-in pool */
  void *parallel_for_user;
  const char *cache_dir;   /* NULL = $ATTN_CACHE_DIR, else $XDG_CACHE_HOME/attnc,
                              else $HOME/.cache/attnc; copied at create */
  int32_t disk_cache;      /* 1 = use the on-disk kernel cache (default), 0 = off */
  int64_t cache_max_bytes; /* the disk cache's size bound: past it, the least recently used
                              entries are removed; 0 = $ATTN_CACHE_MAX_BYTES, else 1 GiB */
  const char *cpu_target;  /* the CPU kernels are compiled for: "host" (this machine's features),
                              "x86-64-v3" (AVX2) or "x86-64-v4" (AVX-512), which this CPU must
                              run; NULL = $ATTN_CPU_TARGET, else "host"; copied at create */
  const attn_vulkan_device *vulkan_device; /* the engine's Vulkan device for Vulkan kernels; NULL =
                                              attnc opens one (the first with a compute queue, or
                                              $ATTN_VULKAN_DEVICE's index); copied at create */
  const char *tuning_db; /* a tuning database (attnc tune) the JIT takes configurations from:
                            NULL = $ATTN_TUNING_DB, else none (heuristics); "" = none. A miss,
                            or a database that cannot be used, falls back to the heuristic (an
                            unusable or stale one with a warning on stderr); copied at create */
  int32_t metrics;       /* runtime metrics (attn_context_metrics_text): 1 = on, 0 = off, -1 (the
                            default) = $ATTN_METRICS ("1" = on, unset, "" or "0" = off) */
} attn_context_options;

/* Fills the defaults: one thread per hardware thread in the built-in pool, the disk cache on. */
/* Fills the defaults. The *_init helpers are inline so that they pass the caller's sizeof: a
 * newer library then writes only the fields the caller's struct has (ABI growth). */
ATTN_API ATTN_NODISCARD attn_status attn_context_options_init_sized(attn_context_options *options,
                                                                    size_t struct_size);
static inline ATTN_NODISCARD attn_status attn_context_options_init(attn_context_options *options) {
  return attn_context_options_init_sized(options, sizeof(attn_context_options));
}

/* A context owns the thread pool and the kernel caches. Thread-safe: one context may be used
 * from many threads at once. options may be NULL (defaults). */
typedef struct attn_context attn_context;
ATTN_API ATTN_NODISCARD attn_status attn_context_create(const attn_context_options *options,
                                                        attn_context **out_context);
/* Destroys the context handle. Kernels still alive stay usable: they keep the context's pool and
 * compiled code until the last of them is destroyed. Accepts NULL. */
ATTN_API attn_status attn_context_destroy(attn_context *context);

/* The context's runtime metrics in the Prometheus text exposition format (version 0.0.4), for a
 * scrape endpoint or a log: per kernel and label (attn_kernel_set_label) launches, failures,
 * query tokens, bytes moved and the launch wall time (a histogram, and p50/p95/p99 over the
 * most recent 1024 launches as a summary); per context the kernel cache's hits and misses, the
 * time spent compiling, the kernels alive and the CPU split-KV workspace (held now, peak,
 * allocations). Every target reports the same names.
 * Writes the text and its terminating NUL into buffer when capacity is large enough, and its
 * length (without the NUL) to *out_length always; buffer may be NULL with capacity 0 to ask the
 * length only. A buffer too small is ATTN_STATUS_INVALID_ARGUMENT with nothing written to it (the
 * text grows with launches: leave room). ATTN_STATUS_UNSUPPORTED when the context was created
 * with metrics off. */
ATTN_API ATTN_NODISCARD attn_status attn_context_metrics_text(attn_context *context, char *buffer,
                                                              size_t capacity, size_t *out_length);

typedef struct attn_context_stats {
  size_t struct_size;          /* set by the caller: sizeof(attn_context_stats) */
  int64_t kernels_compiled;    /* compilations run by this context (cold JIT) */
  int64_t memory_cache_hits;   /* kernel creates answered from memory */
  int64_t disk_cache_hits;     /* kernels loaded from the on-disk cache */
  int64_t disk_cache_rejected; /* corrupt or stale disk entries found (then rebuilt) */
  /* A later field (written when struct_size covers it): the threads the context spreads work
   * over (attn_context_options.num_threads, else the CPUs this process may run on). */
  int64_t num_threads;
} attn_context_stats;
ATTN_API ATTN_NODISCARD attn_status attn_context_get_stats(attn_context *context,
                                                           attn_context_stats *out_stats);

/* The device a context runs `target`'s kernels on, as the compiler builds code for it: what a
 * tuning database's entries are keyed by (attnc tune) and what an engine may log or label its
 * metrics with. Vulkan: the device the context opened or was given; CUDA: the GPU; CPU: the CPU
 * target the context compiles for ("host", "x86-64-v3", "x86-64-v4"). Opening the device is the
 * first use of the target: ATTN_STATUS_UNSUPPORTED when it cannot run here (no driver, no
 * device, a target this build lacks). out_info->struct_size must be set. */
typedef struct attn_device_info {
  size_t struct_size; /* sizeof(attn_device_info) */
  attn_target target;
  char name[256]; /* the device's name (Vulkan, CUDA) or the CPU target */
  uint32_t vendor_id, device_id, driver_version; /* Vulkan; CUDA: driver_version only */
  int32_t subgroup_size;                         /* Vulkan's subgroup, CUDA's warp; 0 on the CPU */
  int32_t max_shared_bytes;                      /* per workgroup (Vulkan) or CTA, opt-in (CUDA) */
  int32_t max_workgroup_size;                    /* invocations per workgroup (Vulkan) */
  int32_t float16, int16, storage16, cooperative_matrix; /* Vulkan features (0/1) */
  int32_t compute_capability, multiprocessors;           /* CUDA: major * 10 + minor, SMs */
} attn_device_info;
ATTN_API ATTN_NODISCARD attn_status attn_context_get_device(attn_context *context,
                                                            attn_target target,
                                                            attn_device_info *out_info);

/* ---- Problem descriptor ------------------------------------------------------------------ */

/* Limits, checked by validation (larger values are ATTN_STATUS_INVALID_ARGUMENT): head counts,
 * query heads per kv head (the kernels hold a whole GQA group per work item), and sequence
 * lengths and batch sizes at launch (the int32 range of seqlens). */
#define ATTN_MAX_HEADS 4096
#define ATTN_MAX_GQA_GROUP 256
#define ATTN_MAX_SEQUENCE_LENGTH 2147483647
#define ATTN_MAX_PAGE_SIZE 256

/* The C mirror of attn.attention / attn.linear_attention's attributes (SPEC §3). Validation
 * normalizes it (attn_kernel_get_problem returns that form): the default scale made explicit, a
 * window bound of ATTN_MAX_SEQUENCE_LENGTH or more is unbounded (-1), global_tokens at most
 * ATTN_MAX_SEQUENCE_LENGTH, window_right 0 is causal, causal drops window_right, and
 * global_tokens is 0 without a finite window (the dialect's canonical form). */
typedef struct attn_problem {
  size_t struct_size;           /* sizeof(attn_problem) */
  attn_target target;           /* ATTN_TARGET_CPU (default) or ATTN_TARGET_VULKAN */
  attn_variant variant;         /* ATTN_VARIANT_SOFTMAX */
  attn_dtype dtype;             /* of Q, K, V and O */
  int64_t heads_q, heads_kv;    /* heads_q % heads_kv == 0 (GQA; MQA is heads_kv = 1), both at
                                   most ATTN_MAX_HEADS, heads_q / heads_kv <= ATTN_MAX_GQA_GROUP */
  int64_t head_dim, head_dim_v; /* D and Dv */
  double scale;                 /* 0 = default: 1/sqrt(D) for softmax, 1 for linear */
  int32_t causal;
  int64_t window_left, window_right;  /* -1 = unbounded (default) */
  int64_t global_tokens;              /* 0 = none */
  double softcap;                     /* 0 = none */
  int32_t return_lse, return_entropy; /* softmax only */
  attn_feature_map feature_map;       /* linear only; default elu_plus_one */
  int32_t normalize;                  /* linear only; default 1 */
  /* A later field (read when struct_size covers it): a paged KV cache (SPEC §2). 0 = K and V
   * are [B, Skv, Hkv, D|Dv] (default); else the keys per page, a power of two from 1 to
   * ATTN_MAX_PAGE_SIZE: K and V are pages addressed by attn_launch_args.block_table. Softmax
   * attention on ATTN_TARGET_CPU (the GPU targets: ATTN_STATUS_UNSUPPORTED, not yet built). */
  int64_t page_size;
  /* Later fields (read when struct_size covers them), softmax only; each 0 (none, default) or 1:
   * the kernel takes per-query-head values at every launch (attn_launch_args.alibi_slopes,
   * .sinks), so that learned values need no recompile (SPEC §3).
   * alibi: ALiBi, score -= slope_h * |p_i - j| after the scale and the softcap.
   * sinks: sink logits (gpt-oss, FlashAttention-3's learnable sinks; not global_tokens):
   * exp(sink_h) joins every row's softmax denominator with no value; LSE includes it, ENTROPY is
   * over the keys and the sink, and a row with no visible key gets O = 0, LSE = sink_h.
   * ATTN_TARGET_CPU and ATTN_TARGET_VULKAN (ATTN_TARGET_CUDA: ATTN_STATUS_UNSUPPORTED, not yet
   * built). */
  int32_t alibi;
  int32_t sinks;
} attn_problem;

/* Fills the defaults above (dense, f32, 1 head of 64). */
ATTN_API ATTN_NODISCARD attn_status attn_problem_init_sized(attn_problem *problem,
                                                            size_t struct_size);
static inline ATTN_NODISCARD attn_status attn_problem_init(attn_problem *problem) {
  return attn_problem_init_sized(problem, sizeof(attn_problem));
}

/* ---- Kernels ----------------------------------------------------------------------------- */

/* A compiled kernel for one problem. Create once (compile, cache hit or bundle load), launch many
 * times, from any number of threads at once. Compiling needs the compiler plugin libattn_jit.so
 * (looked for in $ATTN_JIT_PLUGIN, beside libattn_runtime.so, then on the library search path);
 * without it attn_kernel_create returns ATTN_STATUS_UNSUPPORTED. */
typedef struct attn_kernel attn_kernel;

/* Thread-safe: concurrent creates of the same problem in one context compile it once. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_create(attn_context *context,
                                                       const attn_problem *problem,
                                                       attn_kernel **out_kernel);
/* Loads the kernel of a bundle written by `attnc --emit=bundle` (the bytes are copied; no compiler
 * is involved). A bundle is native code: load only bundles you would load as a shared library
 * (the checks below catch damage and mix-ups, not malice). Any number of bundles may be loaded at
 * once. Returns ATTN_STATUS_CORRUPT_DATA for bytes that are not a whole, intact bundle, or whose
 * code was not built for the problem and tiles the bundle says;
 * ATTN_STATUS_UNSUPPORTED for another bundle format or attnc version, another target, or a CPU
 * without the features the kernel was built for. Launches are validated against the bundle's
 * problem like any other kernel's. The bundle must hold one kernel (else see
 * attn_kernel_load_bundle_for_problem). */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_load_bundle(attn_context *context, const void *data,
                                                            size_t size, attn_kernel **out_kernel);
/* The same from a file: ATTN_STATUS_IO_ERROR when it cannot be read or is not a regular file; the
 * header is checked before the rest is read. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_load_bundle_file(attn_context *context,
                                                                 const char *path,
                                                                 attn_kernel **out_kernel);

/* Loads the kernel for `problem` from a bundle of one or many kernels (attnc --emit=bundle of a
 * file with several problems - all of a model's shapes - and/or several --cpu levels): the entry
 * whose problem is `problem` once normalized (attn_kernel_get_problem's form), of the most capable
 * CPU level this machine runs when there are several. ATTN_STATUS_UNSUPPORTED when the bundle
 * holds none for it (or none this CPU runs); every other check as attn_kernel_load_bundle. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_load_bundle_for_problem(attn_context *context,
                                                                        const void *data,
                                                                        size_t size,
                                                                        const attn_problem *problem,
                                                                        attn_kernel **out_kernel);
ATTN_API ATTN_NODISCARD attn_status attn_kernel_load_bundle_file_for_problem(
    attn_context *context, const char *path, const attn_problem *problem, attn_kernel **out_kernel);

/* Kernel code linked into the program (attnc --emit=obj --header=...: the generated header fills
 * this in; engines do not write it by hand). The entry points follow attnc's kernel ABI. */
typedef struct attn_kernel_code {
  size_t struct_size;                        /* sizeof(attn_kernel_code) */
  void (*softmax_main)(void);                /* softmax problems */
  void (*softmax_decode)(void);              /* softmax problems not asking for entropy */
  void (*merge)(void);                       /* softmax problems not asking for entropy */
  void (*linear)(void);                      /* linear problems */
  int64_t block_q, block_k, decode_max_rows; /* the tiles the code was built with */
  const void
      *manifest; /* the code's own account of its problem and tiles (NAME_attn_kernel_manifest) */
} attn_kernel_code;

/* A kernel over code linked into the program, for `problem` (which must be the problem the code
 * was built for: the code's manifest is compared with it and with the tiles, and a mismatch is
 * ATTN_STATUS_INVALID_ARGUMENT). The code is not freed by attn_kernel_destroy. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_create_from_code(attn_context *context,
                                                                 const attn_problem *problem,
                                                                 const attn_kernel_code *code,
                                                                 attn_kernel **out_kernel);

/* The problem a kernel solves (normalized: the default scale made explicit), e.g. of one loaded
 * from a bundle. out_problem->struct_size must be set; at most that many bytes are written. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_get_problem(const attn_kernel *kernel,
                                                            attn_problem *out_problem);

/* How a kernel's configuration (its tiles) was chosen, as its code says (kernel manifest). */
typedef enum attn_config_source {
  ATTN_CONFIG_HEURISTIC = 0, /* attnc's heuristic for the target */
  ATTN_CONFIG_TUNED = 1,     /* a tuning database's entry (attnc tune; ATTN_TUNING_DB) */
  ATTN_CONFIG_GIVEN = 2      /* given in the compiled .mlir (by hand or by a tool) */
} attn_config_source;

#define ATTN_CPU_FEATURE_AMX 1u        /* the code runs its products on AMX-BF16 tiles */
#define ATTN_CPU_FEATURE_AVX512BF16 2u /* the code uses VDPBF16PS */

typedef struct attn_kernel_config {
  size_t struct_size; /* sizeof(attn_kernel_config) */
  attn_config_source source;
  int32_t vector_width; /* f32 lanes (CPU), the subgroup size (Vulkan, CUDA) */
  int64_t block_q, block_k, decode_max_rows, split_keys;
  uint32_t cpu_features; /* ATTN_CPU_FEATURE_* bits */
  char text[124];        /* a one-line description, e.g. "cpu heuristic block_q=64 ..." */
} attn_kernel_config;

/* The configuration a kernel was built with and how it was chosen (JIT: the heuristic, or a
 * tuning database's entry; bundles and linked code: what attnc used when it built them).
 * out_config->struct_size must be set. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_get_config(const attn_kernel *kernel,
                                                           attn_kernel_config *out_config);

/* Accepts NULL. */
ATTN_API attn_status attn_kernel_destroy(attn_kernel *kernel);

/* The caller's label of this handle's metrics (the `label` label of every series: a layer's
 * name, say), at most 256 bytes; NULL or "" = none. Handles of one kernel with different labels
 * are counted apart. Not thread-safe against launches of the same handle. Without metrics on the
 * context it is accepted and has no effect. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_set_label(attn_kernel *kernel, const char *label);

/* Output health of a kernel's launches, opt-in per handle, exported with the metrics per query
 * head: ATTN_HEALTH_NONFINITE counts NaN/Inf in O, NaN/+Inf in LSE and the rows that saw no key
 * (LSE = -inf, when the kernel returns LSE); ATTN_HEALTH_ENTROPY keeps each head's running mean,
 * min and max of the row entropy (the kernel must return entropy: the statistics come from the
 * entropy it computes). The runtime reads O (and LSE, ENTROPY) again after the launch: one pass
 * over the outputs, not over Q/K/V. Counted on launches through attn_kernel_launch (host memory,
 * any target); launches on an engine's device memory (attn_kernel_launch_vulkan / _cuda) are not
 * counted yet: their outputs stay on the device. Needs the context's metrics on
 * (ATTN_STATUS_UNSUPPORTED otherwise). 0 turns it off. */
#define ATTN_HEALTH_NONFINITE 1u
#define ATTN_HEALTH_ENTROPY 2u
ATTN_API ATTN_NODISCARD attn_status attn_kernel_set_health(attn_kernel *kernel, uint32_t flags);
/* The per-head entropy means of the kernel's series (its kernel and label) so far become the
 * baseline and the statistics restart: from then on the metrics report each head's drift (its
 * mean since the snapshot minus the baseline, in nats) and their root mean square, to compare a
 * rollout with the previous configuration. Needs ATTN_HEALTH_ENTROPY on this handle. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_snapshot_entropy_baseline(attn_kernel *kernel);

/* data is aligned to the element size. Strides are >= 0: inputs may broadcast with stride 0, but
 * no two elements of O may share memory (it is written in parallel). */
typedef struct attn_tensor {
  void *data;
  int64_t strides[4]; /* in elements, for the four BSHD dims; strides[3] must be 1 */
} attn_tensor;

typedef struct attn_launch_args {
  size_t struct_size; /* sizeof(attn_launch_args) */
  int64_t batch, seq_q, seq_kv;
  attn_tensor q, k, v, o;
  float *lse;               /* [B, Hq, Sq] contiguous; required iff the problem asked for LSE */
  float *entropy;           /* [B, Hq, Sq] contiguous; required iff the problem asked for entropy */
  const int32_t *seqlens_q; /* optional [B]: each batch's query length, <= seq_q */
  const int32_t *seqlens_kv; /* optional [B]: each batch's key length, <= seq_kv */
  /* A paged KV cache (the problem's page_size P > 0; FlashAttention's block_table, FlashInfer's
   * page indices): k and v are pages [num_pages, P, Hkv, D|Dv] (strides[0] steps pages,
   * strides[1] slots), and key j of sequence b is slot j % P of page
   * block_table[b * block_table_stride + j / P]. Each sequence holds up to max_pages pages:
   * seq_kv must be max_pages * P (0 is taken as that), and seqlens_kv gives its length. Only
   * the entries of a sequence's first ceil(Lkv / P) pages are read, and each must be in
   * [0, num_pages): the launch checks them. NULL (and zeros) for a contiguous cache. */
  const int32_t *block_table;
  int64_t block_table_stride; /* elements between the rows of block_table; 0 = max_pages */
  int64_t max_pages, num_pages;
  /* Packed (ragged) batches (SPEC §2; flash_attn_varlen_func's cu_seqlens): int32 [batch + 1]
   * offsets, cu[0] = 0, non-decreasing; sequence b owns rows cu[b] .. cu[b+1] - 1.
   * cu_seqlens_q: Q and O are [Tq, Hq, D|Dv] with Tq = seq_q >= cu_seqlens_q[batch] (strides[1]
   * steps rows, strides[2] heads; strides[0] is not used), LSE and ENTROPY are [Hq, Tq]
   * contiguous, seqlens_q must be NULL. cu_seqlens_kv: K and V are [Tkv, Hkv, D|Dv] likewise with
   * Tkv = seq_kv >= cu_seqlens_kv[batch], seqlens_kv must be NULL (a paged cache takes
   * seqlens_kv instead). Either may be given without the other: packed queries against a padded
   * or paged cache (chunked prefill). Any kernel takes them: the layout is the launch's, not the
   * problem's. Rows past cu[batch] are neither read nor written. */
  const int32_t *cu_seqlens_q;
  const int32_t *cu_seqlens_kv;
  /* Caller-provided workspace (CPU targets; later fields, read when struct_size covers them).
   * NULL = the runtime's own: each launching thread keeps one, grown when a launch needs more,
   * so only a thread's first (or larger) launches allocate. Else 64-byte aligned memory of
   * workspace_bytes >= attn_kernel_workspace_size(kernel, args): the launch uses it as scratch
   * (split-KV decode's partial results) and leaves it undefined; two launches at once need two. */
  void *workspace;
  size_t workspace_bytes;
  /* The scale of this launch (a later field): 0 = the kernel's (attn_problem.scale), else a finite
   * positive value (rounded to f32) used instead, without a recompile (FlashInfer's per-call
   * sm_scale): softmax scores scale * q.k (before the softcap), linear attention phi(scale * q). */
  double scale;
  /* Per-query-head values (later fields), f32 [Hq], required iff the problem has alibi / sinks
   * (NULL otherwise): ALiBi slopes (FlashAttention's alibi_slopes) and sink logits (in the units
   * of the scaled scores). Read at each launch; -inf as a sink is no sink. */
  const float *alibi_slopes;
  const float *sinks;
} attn_launch_args;

/* Zeroes *args and sets struct_size: the shapes and buffers must then all be filled in. */
ATTN_API ATTN_NODISCARD attn_status attn_launch_args_init_sized(attn_launch_args *args,
                                                                size_t struct_size);
static inline ATTN_NODISCARD attn_status attn_launch_args_init(attn_launch_args *args) {
  return attn_launch_args_init_sized(args, sizeof(attn_launch_args));
}

/* The workspace (bytes) a launch of `kernel` on `args` takes: 0 when it needs none (prefill, linear
 * attention, GPU targets, which keep their own). Checks *args as a launch would and runs nothing;
 * args->workspace is not looked at. The size depends on the shapes and the context's threads. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_workspace_size(attn_kernel *kernel,
                                                               const attn_launch_args *args,
                                                               size_t *out_bytes);

/* ---- Merging partial results (SPEC §3: attn.merge) -------------------------------------- */

/* P partial results of one problem over disjoint key sets (split KV across devices, a shared
 * prefix and a per-sequence suffix as in cascade attention, ...), each O_p [B, Sq, Hq, Dv] in
 * the kernel's dtype with its LSE_p [B, Hq, Sq] (f32, contiguous), merged into O and LSE over all
 * keys: lse = log sum_p exp(lse_p), o = sum_p exp(lse_p - lse) o_p (f32 math). A part with
 * lse_p = -inf contributes nothing (its o_p is not read as a number); a row where all are -inf
 * gets o = 0, lse = -inf. */
typedef struct attn_merge_args {
  size_t struct_size; /* sizeof(attn_merge_args) */
  int64_t num_parts, batch, seq_q;
  attn_tensor o_parts;     /* part 0; part p is at o_parts.data + p * o_part_stride elements */
  int64_t o_part_stride;   /* elements between parts (any layout: [P, B, ...] or [B, P, ...]) */
  const float *lse_parts;  /* part p's [B, Hq, Sq] at lse_parts + p * lse_part_stride */
  int64_t lse_part_stride; /* 0 = B * Hq * Sq (stacked) */
  attn_tensor o; /* [B, Sq, Hq, Dv]; may be part 0 itself (same data and strides: in place) */
  float *lse;    /* optional [B, Hq, Sq] contiguous; may be part 0's LSE (in place) */
} attn_merge_args;

ATTN_API ATTN_NODISCARD attn_status attn_merge_args_init_sized(attn_merge_args *args,
                                                               size_t struct_size);
static inline ATTN_NODISCARD attn_status attn_merge_args_init(attn_merge_args *args) {
  return attn_merge_args_init_sized(args, sizeof(attn_merge_args));
}

/* Merges with the merge kernel of `kernel`'s code (a softmax kernel of the parts' dtype, query
 * heads and Dv; its other attributes do not matter), on the context's threads. CPU kernels;
 * other targets (and f16/bf16 kernels linked with attn_kernel_create_from_code) are
 * ATTN_STATUS_UNSUPPORTED. Everything is checked before anything is written. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_merge(attn_kernel *kernel,
                                                      const attn_merge_args *args);

/* Runs the kernel on the caller's buffers and returns when O (and LSE/ENTROPY) are written. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_launch(attn_kernel *kernel,
                                                       const attn_launch_args *args);

/* ---- Vulkan buffers (ATTN_TARGET_VULKAN) ------------------------------------------------ */

/* A tensor in an engine's VkBuffer (as a uint64_t handle) on the context's Vulkan device: the
 * element at [b, s, h, d] is at byte offset + (b * strides[0] + s * strides[1] + h * strides[2] +
 * d) * element size. offset is a multiple of the element size; strides as in attn_tensor. Every
 * element offset of a launch must fit in int32 (the kernels index in 32 bits). */
typedef struct attn_vulkan_tensor {
  uint64_t buffer; /* VkBuffer */
  uint64_t offset; /* bytes */
  int64_t strides[4];
} attn_vulkan_tensor;

/* A contiguous array in a VkBuffer (buffer 0 = none). */
typedef struct attn_vulkan_array {
  uint64_t buffer; /* VkBuffer */
  uint64_t offset; /* bytes, a multiple of 4 */
} attn_vulkan_array;

typedef struct attn_vulkan_launch_args {
  size_t struct_size; /* sizeof(attn_vulkan_launch_args) */
  int64_t batch, seq_q, seq_kv;
  attn_vulkan_tensor q, k, v, o;
  attn_vulkan_array lse;     /* f32 [B, Hq, Sq]; required iff the problem asked for LSE */
  attn_vulkan_array entropy; /* f32 [B, Hq, Sq]; required iff the problem asked for entropy */
  attn_vulkan_array seqlens_q, seqlens_kv; /* optional int32 [B], read on the device (values
                                              are clamped to [0, seq_q] / [0, seq_kv]) */
  /* Later fields (read when struct_size covers them): f32 [Hq] ALiBi slopes and sink logits,
   * required iff the problem has alibi / sinks (as attn_launch_args'; not checked for NaN here:
   * they are on the device). */
  attn_vulkan_array alibi_slopes, sinks;
  /* A paged KV cache (the problem's page_size > 0), as attn_launch_args' block_table,
   * block_table_stride, max_pages and num_pages: int32 page indices on the device (k and v are
   * then the pages [num_pages, page_size, Hkv, D|Dv]). The entries cannot be checked here: each
   * is clamped to [0, num_pages) on the device. */
  attn_vulkan_array block_table;
  int64_t block_table_stride, max_pages, num_pages;
  /* The scale of this launch, as attn_launch_args.scale (0 = the kernel's). */
  double scale;
} attn_vulkan_launch_args;

ATTN_API ATTN_NODISCARD attn_status
attn_vulkan_launch_args_init_sized(attn_vulkan_launch_args *args, size_t struct_size);
static inline ATTN_NODISCARD attn_status
attn_vulkan_launch_args_init(attn_vulkan_launch_args *args) {
  return attn_vulkan_launch_args_init_sized(args, sizeof(attn_vulkan_launch_args));
}

/* Runs a Vulkan kernel on the engine's buffers (the kernel's context must have been created with
 * attn_context_options.vulkan_device: the buffers are on that device), submitting to the device's
 * queue, and returns when O (and LSE/ENTROPY) are written. The engine's earlier
 * writes to the inputs must be complete (submitted and finished, or fenced) before the call.
 * ATTN_STATUS_INVALID_ARGUMENT for a kernel of another target or bad arguments, as
 * attn_kernel_launch. Workspace (split-KV partials) is allocated by attnc on the device. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_launch_vulkan(attn_kernel *kernel,
                                                              const attn_vulkan_launch_args *args);

/* ---- CUDA device memory (ATTN_TARGET_CUDA) ----------------------------------------------- */

/* A tensor in an engine's device memory on the kernel's GPU: `data` is the CUdeviceptr of element
 * [0, 0, 0, 0], strides as in attn_tensor. The tensor-core kernels (f16/bf16) need 16-byte
 * aligned rows: data a multiple of 16 and strides[0..2] multiples of 8. */
typedef struct attn_cuda_tensor {
  uint64_t data; /* CUdeviceptr */
  int64_t strides[4];
} attn_cuda_tensor;

typedef struct attn_cuda_launch_args {
  size_t struct_size; /* sizeof(attn_cuda_launch_args) */
  int64_t batch, seq_q, seq_kv;
  attn_cuda_tensor q, k, v, o;
  uint64_t lse;     /* f32 [B, Hq, Sq] CUdeviceptr; required iff the problem asked for LSE */
  uint64_t entropy; /* f32 [B, Hq, Sq]; required iff the problem asked for entropy */
  uint64_t seqlens_q, seqlens_kv; /* optional int32 [B], read on the device (clamped to
                                     [0, seq_q] / [0, seq_kv]); 0 = none */
  void *stream; /* CUstream the kernels are enqueued on (NULL = the legacy default stream) */
} attn_cuda_launch_args;

ATTN_API ATTN_NODISCARD attn_status attn_cuda_launch_args_init_sized(attn_cuda_launch_args *args,
                                                                     size_t struct_size);
static inline ATTN_NODISCARD attn_status attn_cuda_launch_args_init(attn_cuda_launch_args *args) {
  return attn_cuda_launch_args_init_sized(args, sizeof(attn_cuda_launch_args));
}

/* Enqueues a CUDA kernel on the engine's device memory and stream and returns without waiting
 * (the outputs are written when the stream reaches the kernels). The kernel's context must have
 * been created on the thread whose current CUDA context owns the memory (or on $ATTN_CUDA_DEVICE's
 * primary context). Split-KV workspace comes from the driver's stream-ordered allocator.
 * ATTN_STATUS_INVALID_ARGUMENT for a kernel of another target or bad arguments, as
 * attn_kernel_launch; a driver error is a status with the driver's message. */
ATTN_API ATTN_NODISCARD attn_status attn_kernel_launch_cuda(attn_kernel *kernel,
                                                            const attn_cuda_launch_args *args);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTN_RUNTIME_H */
