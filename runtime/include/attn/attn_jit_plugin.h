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

#define ATTN_JIT_ABI_VERSION 4

typedef struct attn_memref1 {
  void *allocated, *aligned;
  int64_t offset, sizes[1], strides[1];
} attn_memref1;
typedef struct attn_memref3 {
  void *allocated, *aligned;
  int64_t offset, sizes[3], strides[3];
} attn_memref3;
typedef struct attn_memref4 {
  void *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
} attn_memref4;

/* params (i64 [5]): item_begin, item_end, has_seqlens_q, has_seqlens_kv, num_splits. */
enum {
  ATTN_PARAM_ITEM_BEGIN = 0,
  ATTN_PARAM_ITEM_END = 1,
  ATTN_PARAM_HAS_SEQLENS_Q = 2,
  ATTN_PARAM_HAS_SEQLENS_KV = 3,
  ATTN_PARAM_NUM_SPLITS = 4,
  ATTN_PARAM_COUNT = 5
};

/* Softmax attention over work items [item_begin, item_end) (num_splits is 1):
 * items = B * Hkv * ceil(Sq / block_q); item = (b * Hkv + g) * nqb + qb. O has the problem's
 * dtype; LSE/entropy are written when the problem asked for them. */
typedef void (*attn_softmax_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                                attn_memref3 *lse, attn_memref3 *entropy, attn_memref1 *seqlens_q,
                                attn_memref1 *seqlens_kv, attn_memref1 *params);

/* Split-KV decode (flash-decoding), for launches with few query rows: Sq * Hq must be at most
 * decode_max_rows. items = num_splits * B; item = s * B + b: every query row of every head
 * against split s of batch b's keys, [s * c, min(Lkv, (s + 1) * c)) with c = ceil(Lkv /
 * num_splits) rounded up to block_k. Writes f32 partial results for rows i < Lq: O to o_parts
 * [num_splits * B, Sq, Hq, Dv] and LSE to lse_parts [num_splits * B, Hq, Sq] (batch index
 * s * B + b; an empty split writes O = 0, LSE = -inf). Entropy is not computed: a problem asking
 * for entropy launches softmax_main. */
typedef void (*attn_decode_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v,
                               attn_memref4 *o_parts, attn_memref3 *lse_parts,
                               attn_memref1 *seqlens_q, attn_memref1 *seqlens_kv,
                               attn_memref1 *params);

/* Merges the partial results (attn.merge): items = B * Sq; item = b * Sq + i (all heads of row i).
 * o_parts f32 [num_splits * B, Sq, Hq, Dv], lse_parts f32 [num_splits * B, Hq, Sq]; writes O (the
 * problem's dtype) and, when the problem asked for it, LSE. Rows i >= Lq are skipped. */
typedef void (*attn_merge_fn)(attn_memref4 *o_parts, attn_memref3 *lse_parts, attn_memref4 *o,
                              attn_memref3 *lse, attn_memref1 *seqlens_q, attn_memref1 *params);

/* Linear attention: items = B * Hkv; item = b * Hkv + g (all query heads of kv head g). */
typedef void (*attn_linear_fn)(attn_memref4 *q, attn_memref4 *k, attn_memref4 *v, attn_memref4 *o,
                               attn_memref1 *seqlens_q, attn_memref1 *seqlens_kv,
                               attn_memref1 *params);

typedef struct attn_jit_request {
  size_t struct_size;
  const attn_problem *problem; /* already validated by the runtime */
  const char *cache_dir;       /* on-disk cache directory; NULL = no disk cache */
  int64_t cache_max_bytes;     /* the disk cache's size bound (least recently used entries go) */
  const char *cpu_target;      /* the CPU to compile for: "host", "x86-64-v3" or "x86-64-v4" */
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
