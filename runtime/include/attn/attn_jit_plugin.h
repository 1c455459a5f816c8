/*
 * attn_jit_plugin.h - the interface between libattn_runtime and the compiler plugin
 * (libattn_jit.so) that the runtime dlopens when it must compile a kernel.
 *
 * Not for engines: this is how the runtime stays free of LLVM/MLIR. The plugin JIT-compiles a
 * problem into kernel entry points that follow MLIR's C interface for memrefs
 * (`llvm.emit_c_interface`): each memref argument is a pointer to a descriptor
 * {allocated, aligned, offset, sizes[N], strides[N]}.
 */
#ifndef ATTN_JIT_PLUGIN_H
#define ATTN_JIT_PLUGIN_H

#include "attn/attn_kernel_manifest.h"
#include "attn/attn_runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_JIT_ABI_VERSION 12

typedef struct attn_memref1 {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} attn_memref1;
typedef struct attn_memref2 {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
} attn_memref2;
typedef struct attn_memref3 {
  void *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
} attn_memref3;
typedef struct attn_memref4 {
  void *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
} attn_memref4;

/* params (i64 [6]): item_begin, item_end, has_seqlens_q, has_seqlens_kv, num_splits, and the
 * launch's scale (softmax: of q·k; linear: of q) as the bits of an f32 in the low 32 bits: the
 * problem's, or attn_launch_args.scale. */
enum {
  ATTN_PARAM_ITEM_BEGIN = 0,
  ATTN_PARAM_ITEM_END = 1,
  ATTN_PARAM_HAS_SEQLENS_Q = 2,
  ATTN_PARAM_HAS_SEQLENS_KV = 3,
  ATTN_PARAM_NUM_SPLITS = 4,
  ATTN_PARAM_SCALE = 5,
  ATTN_PARAM_COUNT = 6
};

/* block_table (softmax_main, softmax_decode): int32 [B, max_pages] for a problem with a paged KV
 * cache (page_size P > 0; k and v are then [num_pages, P, Hkv, D|Dv] and the key capacity is
 * max_pages * P), where the runtime has checked every entry a launch reads; a one-element dummy
 * otherwise, never read. */
/* alibi_slopes, sinks (softmax_main, softmax_decode): f32 [Hq] per-head values for a problem with
 * alibi / sinks (attn_launch_args' own arrays); a one-element dummy otherwise, never read.
 * softmax_decode folds the sinks into split 0's partial result only, so that merging the splits
 * counts each sink once. */
/* Softmax attention over work items [item_begin, item_end) (num_splits is 1):
 * items = B * Hkv * ceil(Sq / block_q); item = (b * Hkv + g) * nqb + qb. O has the problem's
 * dtype; LSE/entropy are written when the problem asked for them. */
typedef void (*attn_softmax_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                                attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *seqlens_q,
                                attn_memref1 *seqlens_kv, attn_memref2 *block_table,
                                attn_memref1 *alibi_slopes, attn_memref1 *sinks,
                                attn_memref1 *params);

/* Split-KV decode (flash-decoding), for launches with few query rows: Sq * Hq must be at most
 * decode_max_rows. items = num_splits * B; item = s * B + b: every query row of every head
 * against split s of batch b's keys, [s * c, min(Lkv, (s + 1) * c)) with c = ceil(Lkv /
 * num_splits) rounded up to block_k. Writes f32 partial results for rows i < Lq: O to o_parts
 * [num_splits * B, Sq, Hq, Dv] and LSE to lse_parts [num_splits * B, Hq, Sq] (batch index
 * s * B + b; an empty split writes O = 0, LSE = -inf, split 0 with sinks LSE = sink). Entropy is
 * not computed: a problem asking for entropy launches softmax_main. */
typedef void (*attn_decode_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v,
                               attn_memref4 *o_parts, attn_memref3 *lse_parts,
                               attn_memref1 *seqlens_q, attn_memref1 *seqlens_kv,
                               attn_memref2 *block_table, attn_memref1 *alibi_slopes,
                               attn_memref1 *sinks, attn_memref1 *params);

/* Merges the partial results (attn.merge): items = B * Sq; item = b * Sq + i (all heads of row i).
 * o_parts f32 [num_splits * B, Sq, Hq, Dv], lse_parts f32 [num_splits * B, Hq, Sq]; writes O (the
 * problem's dtype) and, when the problem asked for it, LSE. Rows i >= Lq are skipped. */
typedef void (*attn_merge_fn)(attn_memref4 *o_parts, attn_memref3 *lse_parts, attn_memref4 *o,
                              attn_memref3 *lse, attn_memref1 *seqlens_q, attn_memref1 *params);

/* Vulkan kernels (SPIR-V, ATTN_IMAGE_SPIRV): every argument is a storage buffer of descriptor set
 * 0, bound in the order below, the last one a buffer of int32 launch parameters (ATTN_GPU_PARAM_*).
 * Tensors are addressed as offset + b * stride_b + s * stride_s + h * stride_h + d (elements);
 * bf16 is stored as 16-bit integers. Every element offset must fit in int32. Per-batch lengths
 * are read on the device and clamped to [0, Sq] / [0, Skv]. (CUDA kernels take the same
 * parameters by value: see below.)
 *   attn_main   (q, k, v, o, lse, entropy, seqlens_q, seqlens_kv, alibi_slopes, sinks,
 *               block_table, params): workgroups
 *               (min(ceil(Sq / block_q), 65535), Hkv * head_chunks, B); a workgroup loops over
 *               query blocks block_id.x, + grid x, ...
 *   attn_decode (q, k, v, o_parts, lse_parts, seqlens_q, seqlens_kv, alibi_slopes, sinks,
 *               block_table, params): the same with
 *               workgroups z = num_splits * B (z = s * B + b), keys [s * c, (s + 1) * c) with
 *               c = params[SPLIT_KEYS]; f32 partials laid out as for attn_decode_fn above
 *               (split 0's with the sinks folded in).
 *   attn_merge  (o_parts, lse_parts, o, lse, seqlens_q, params): workgroups
 *               (min(ceil(Sq * Hq / teams), 65535), 1, B).
 *   attn_linear (q, k, v, o, seqlens_q, seqlens_kv, params): workgroups
 *               (ceil(Dv / workgroup size), Hq, B).
 * alibi_slopes / sinks: f32 [Hq] per-head values (a problem with alibi / sinks), at element
 * offsets params[ALIBI] / params[SINKS]. block_table: int32, for a problem with a paged KV cache
 * of page_size P (attn_main, attn_decode): K and V are pages [num_pages, P, Hkv, D|Dv] (their
 * strides 0 and 1 step pages and slots) and key j of batch b is slot j % P of page
 * block_table[params[BLOCK_TABLE] + b * params[BLOCK_TABLE_STRIDE] + j / P], clamped to
 * [0, params[NUM_PAGES]) (the table may be device data the runtime cannot check). Unused buffers
 * (lse without return_lse, seqlens without has_seqlens, alibi_slopes / sinks / block_table
 * without them) are bound to any buffer. */
enum {
  ATTN_GPU_PARAM_BATCH = 0,
  ATTN_GPU_PARAM_SEQ_Q = 1,
  ATTN_GPU_PARAM_SEQ_KV = 2,
  ATTN_GPU_PARAM_HAS_SEQLENS_Q = 3,
  ATTN_GPU_PARAM_HAS_SEQLENS_KV = 4,
  ATTN_GPU_PARAM_NUM_SPLITS = 5,
  ATTN_GPU_PARAM_SPLIT_KEYS = 6,
  ATTN_GPU_PARAM_Q = 7, /* offset, then the strides of dims 0..2 */
  ATTN_GPU_PARAM_K = 11,
  ATTN_GPU_PARAM_V = 15,
  ATTN_GPU_PARAM_O = 19,
  ATTN_GPU_PARAM_LSE = 23, /* element offsets of LSE, entropy and the seqlens arrays */
  ATTN_GPU_PARAM_ENTROPY = 24,
  ATTN_GPU_PARAM_SEQLENS_Q = 25,
  ATTN_GPU_PARAM_SEQLENS_KV = 26,
  ATTN_GPU_PARAM_SCALE = 27, /* the launch's scale, the bits of an f32 (as ATTN_PARAM_SCALE) */
  ATTN_GPU_PARAM_ALIBI = 28, /* element offsets of the alibi_slopes and sinks arrays */
  ATTN_GPU_PARAM_SINKS = 29,
  ATTN_GPU_PARAM_BLOCK_TABLE = 30, /* a paged KV cache: the table's element offset, its row */
  ATTN_GPU_PARAM_BLOCK_TABLE_STRIDE = 31, /* stride and the pages K and V hold */
  ATTN_GPU_PARAM_NUM_PAGES = 32,
  ATTN_GPU_PARAM_COUNT = 33
};
enum {
  ATTN_VK_MAIN_BINDINGS = 12,
  ATTN_VK_DECODE_BINDINGS = 11,
  ATTN_VK_MERGE_BINDINGS = 6,
  ATTN_VK_LINEAR_BINDINGS = 7
};

/* CUDA kernels (PTX or cubin, ATTN_IMAGE_PTX / ATTN_IMAGE_CUBIN): the same entry points and
 * buffers in the same order as the Vulkan ABI above, each buffer one CUdeviceptr parameter (the
 * bare-pointer convention), followed by ATTN_GPU_PARAM_COUNT int64 parameters (ATTN_GPU_PARAM_*,
 * by value) instead of the parameter buffer; bf16 is stored as 16-bit integers. Kernels take
 * gpu_entries[i].shared_bytes of dynamic shared memory (opted into past 48 KiB with
 * CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) and CTAs of gpu_entries[i].workgroup_size[0]
 * threads. With gpu_layout ATTN_GPU_LAYOUT_PACKED_ROWS (the tensor-core kernels) attn_main and
 * attn_decode own 16 rows per warp of the packed axis r = i * G + h (query row i, head h of kv
 * head y's group of G): grid (ceil(Sq * G / rows), Hkv, B) and (..., Hkv, num_splits * B); Q, K,
 * V rows must be 16-byte aligned (element offsets and strides multiples of 8). With
 * ATTN_GPU_LAYOUT_TEAMS they are laid out as on Vulkan (gpu_teams, gpu_head_chunks). */
typedef enum attn_gpu_layout {
  ATTN_GPU_LAYOUT_TEAMS = 0,
  ATTN_GPU_LAYOUT_PACKED_ROWS = 1
} attn_gpu_layout;
enum { ATTN_CUDA_ROWS_PER_WARP = 16, ATTN_CUDA_WARP_SIZE = 32 };

/* A CUDA GPU, as the runtime found it: what the compiler builds and caches code for. */
typedef struct attn_jit_cuda_device {
  const char *name;
  int32_t compute_capability; /* major * 10 + minor */
  int32_t driver_version;     /* cuDriverGetVersion */
  int32_t max_shared_bytes;   /* opt-in dynamic shared memory per CTA */
  int32_t multiprocessors;
} attn_jit_cuda_device;

/* Linear attention: items = B * Hkv; item = b * Hkv + g (all query heads of kv head g). */
typedef void (*attn_linear_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                               attn_memref1 *seqlens_q, attn_memref1 *seqlens_kv,
                               attn_memref1 *params);

/* A Vulkan device, as the runtime opened it: what the compiler builds and caches code for. */
typedef struct attn_jit_vulkan_device {
  const char *name;
  uint32_t vendor_id, device_id, driver_version;
  int32_t subgroup_size, max_shared_bytes, max_workgroup_size;
  int32_t float16, int16, storage16, cooperative_matrix;
} attn_jit_vulkan_device;

/* What a kernel image holds: host code (the entry points below are function pointers) or a
 * device module whose entry points are named in gpu_entries. */
typedef enum attn_image_kind {
  ATTN_IMAGE_HOST = 0,
  ATTN_IMAGE_SPIRV = 1, /* SPIR-V words, the Vulkan ABI above */
  ATTN_IMAGE_PTX = 2,
  ATTN_IMAGE_CUBIN = 3
} attn_image_kind;

/* A device entry point: its name in the image, workgroup (block) size, static shared memory and
 * storage-buffer bindings. name == NULL: the image lacks it. */
typedef struct attn_jit_gpu_entry {
  const char *name;
  int32_t workgroup_size[3];
  int32_t shared_bytes;
  int32_t num_bindings;
} attn_jit_gpu_entry;
enum {
  ATTN_GPU_ENTRY_MAIN = 0,
  ATTN_GPU_ENTRY_DECODE = 1,
  ATTN_GPU_ENTRY_MERGE = 2,
  ATTN_GPU_ENTRY_LINEAR = 3
};
#define ATTN_GPU_ENTRY_COUNT 4

typedef struct attn_jit_request {
  size_t struct_size;
  const attn_problem *problem; /* already validated by the runtime */
  const char *cache_dir;       /* on-disk cache directory; NULL = no disk cache */
  int64_t cache_max_bytes;     /* the disk cache's size bound (least recently used entries go) */
  const char *cpu_target;      /* the CPU to compile for: "host", "x86-64-v3" or "x86-64-v4" */
  const attn_jit_vulkan_device *vulkan_device; /* for ATTN_TARGET_VULKAN problems */
  const attn_jit_cuda_device *cuda_device;     /* for ATTN_TARGET_CUDA problems */
  const char *tuning_db; /* a tuning database to take the configuration from; NULL = none */
  int32_t num_threads;   /* the threads the kernel's launches run on (part of the device a tuned
                            entry is for) */
} attn_jit_request;

typedef struct attn_jit_kernel {
  size_t struct_size;
  void *handle;                  /* owned by the plugin; released with attn_jit_release */
  attn_softmax_fn softmax_main;  /* softmax variant */
  attn_decode_fn softmax_decode; /* softmax variant */
  attn_merge_fn merge;           /* softmax variant */
  attn_linear_fn linear;         /* linear variant */
  int64_t block_q;               /* query rows per softmax_main work item */
  int64_t block_k;               /* keys per KV tile */
  int64_t decode_max_rows;       /* softmax_decode handles Sq * Hq <= this */
  int32_t from_disk_cache;       /* 1 when loaded from the disk cache */
  int32_t disk_cache_rejected;   /* 1 when a corrupt/stale disk entry was found and rebuilt */
  double compile_seconds;
  /* The code's own manifest (attn_kernel_manifest.h): the runtime checks it against the problem
   * and against the tiles above, which must be the manifest's. */
  const attn_kernel_manifest *manifest;
  int64_t split_keys; /* keys per KV split of a decode launch, at least (the manifest's) */
  /* Device code (image_kind != ATTN_IMAGE_HOST): the image, owned by the plugin like the handle,
   * its entry points, and how a softmax workgroup is laid out: gpu_teams subgroups, covering
   * block_q rows of each of the heads of one of gpu_head_chunks chunks of a GQA group. */
  int32_t image_kind;
  const void *image;
  size_t image_size;
  attn_jit_gpu_entry gpu_entries[ATTN_GPU_ENTRY_COUNT];
  int64_t gpu_teams, gpu_head_chunks;
  int32_t gpu_layout; /* attn_gpu_layout of attn_main / attn_decode */
  /* Host code of a softmax problem: the merge of parts in the problem's own dtype
   * (attn_kernel_merge): `merge` itself for f32 problems, attn_merge_parts for f16/bf16; NULL
   * where the code lacks it. */
  attn_merge_fn merge_parts;
} attn_jit_kernel;

/* Exported by the plugin. */
typedef int32_t (*attn_jit_abi_version_fn)(void);
/* Returns a status; on failure writes a message to error[error_size]. Thread-safe. */
typedef attn_status (*attn_jit_compile_fn)(const attn_jit_request *request,
                                           attn_jit_kernel *out_kernel, char *error,
                                           size_t error_size);
typedef void (*attn_jit_release_fn)(void *handle);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTN_JIT_PLUGIN_H */
