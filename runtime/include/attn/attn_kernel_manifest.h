/*
 * attn_kernel_manifest.h - what a kernel's code was built for, carried by the code itself.
 *
 * Every kernel object attnc generates (JIT objects, bundle shared objects, linked objects) defines
 * one constant `attn_kernel_manifest` (prefixed `NAME_` for linked kernels): the problem the code
 * solves, in the runtime's normalized form, the tiles it was generated with and the attnc that
 * generated it. The runtime compares it with the problem it is asked to run and with whatever a
 * container (a bundle entry, a cache header, a caller) says about the code, and takes the tiles
 * from it: a header can be damaged or edited, the code cannot disagree with itself.
 *
 * Not for engines: the layout is private to attnc and the runtime of the same version. All fields
 * are naturally aligned, no padding; little-endian, as the code that carries it.
 */
#ifndef ATTN_KERNEL_MANIFEST_H
#define ATTN_KERNEL_MANIFEST_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ATTN_KERNEL_MANIFEST_SYMBOL "attn_kernel_manifest"
#define ATTN_KERNEL_MANIFEST_VERSION 7 /* 7: alibi, sinks */
/* cpu_features bits: instruction sets the code needs beyond its vector width's level. */
#define ATTN_KERNEL_MANIFEST_CPU_AMX                                                               \
  1u /* AMX-TILE + AMX-BF16, and Linux's tile-data permission                                      \
      */
#define ATTN_KERNEL_MANIFEST_CPU_AVX512BF16 2u /* AVX512-BF16 (VDPBF16PS) */
#define ATTN_KERNEL_MANIFEST_CPU_KNOWN                                                             \
  (ATTN_KERNEL_MANIFEST_CPU_AMX | ATTN_KERNEL_MANIFEST_CPU_AVX512BF16)

typedef struct attn_kernel_manifest {
  char magic[8];             /* "ATTNMNFT" */
  uint32_t manifest_version; /* ATTN_KERNEL_MANIFEST_VERSION */
  uint32_t manifest_size;    /* sizeof(attn_kernel_manifest) */
  uint32_t attnc_major, attnc_minor, attnc_patch;
  uint32_t vector_width; /* f32 lanes the code was generated for (CPU), the subgroup size (GPU) */
  /* The problem, as attn_problem after validation and normalization (attn_kernel_get_problem). */
  int32_t variant, dtype, causal, return_lse, return_entropy, feature_map, normalize;
  int32_t target; /* attn_target of the code (ATTN_TARGET_CPU is 0) */
  int64_t heads_q, heads_kv, head_dim, head_dim_v, window_left, window_right, global_tokens;
  double scale, softcap;
  /* The tiles: work-item shapes the runtime must split launches by (split_keys: keys per KV
   * split of a decode launch, at least). */
  int64_t block_q, block_k, decode_max_rows, split_keys;
  uint32_t cpu_features;  /* ATTN_KERNEL_MANIFEST_CPU_* bits */
  uint32_t config_source; /* how the tiles were chosen: attn_config_source (attn_runtime.h) */
  int64_t page_size;      /* the problem's: keys per page of a paged KV cache, 0 = none */
  int32_t alibi, sinks;   /* the problem's: per-head ALiBi slopes / sink logits at launch */
} attn_kernel_manifest;

#define ATTN_KERNEL_MANIFEST_MAGIC "ATTNMNFT"

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* ATTN_KERNEL_MANIFEST_H */
