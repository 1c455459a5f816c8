/*
 * engine.c - a small C99 program standing in for an inference engine.
 *
 * It links only libattn_runtime (found with find_package(attn)), loads a kernel bundle built ahead
 * of time by attnc (no compiler at run time), and runs attention on its own buffers: a prefill of
 * a prompt and then one decode step against the KV cache, with grouped-query attention. Each
 * result is checked against a plain C loop.
 *
 *   attnc --heads-q=8 --heads-kv=2 --head-dim=64 --causal --emit=bundle -o gqa.attnb
 *   ./attn-engine-example gqa.attnb
 */
#include <attn/attn_runtime.h>

#include <stdio.h>
#include <stdlib.h>

#include "attn_reference.h"

static int check(attn_status status, const char *what) {
  if (status == ATTN_STATUS_SUCCESS)
    return 1;
  fprintf(stderr, "%s: %s (%s)\n", what, attn_status_string(status), attn_last_error());
  return 0;
}

static attn_tensor tensor(float *data, int heads, int seq) {
  attn_tensor t;
  t.data = data;
  t.strides[0] = (int64_t)seq * heads * D;
  t.strides[1] = (int64_t)heads * D;
  t.strides[2] = D;
  t.strides[3] = 1;
  return t;
}

/* One launch of `kernel` on the first sq queries against the first skv cache rows. */
static int run(attn_kernel *kernel, float *q, float *kcache, float *vcache, float *o, int sq,
               int skv) {
  attn_launch_args args;
  if (!check(attn_launch_args_init(&args), "attn_launch_args_init"))
    return 0;
  args.batch = 1;
  args.seq_q = sq;
  args.seq_kv = skv;
  args.q = tensor(q, HQ, sq);
  args.k = tensor(kcache, HKV, CACHE);
  args.v = tensor(vcache, HKV, CACHE);
  args.o = tensor(o, HQ, sq);
  return check(attn_kernel_launch(kernel, &args), "attn_kernel_launch");
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s BUNDLE\n", argv[0]);
    return 2;
  }
  static float q[PROMPT * HQ * D], kcache[CACHE * HKV * D], vcache[CACHE * HKV * D];
  static float o[PROMPT * HQ * D], expected[PROMPT * HQ * D];
  srand(7);
  for (int i = 0; i < PROMPT * HQ * D; ++i)
    q[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < CACHE * HKV * D; ++i) {
    kcache[i] = (float)rand() / RAND_MAX - 0.5f;
    vcache[i] = (float)rand() / RAND_MAX - 0.5f;
  }

  int32_t major, minor, patch;
  attn_context *context = NULL;
  attn_kernel *kernel = NULL;
  if (!check(attn_get_version(&major, &minor, &patch), "attn_get_version") ||
      !check(attn_context_create(NULL, &context), "attn_context_create") ||
      !check(attn_kernel_load_bundle_file(context, argv[1], &kernel), "attn_kernel_load_bundle"))
    return 1;
  printf("libattn_runtime %d.%d.%d, kernel loaded from %s\n", major, minor, patch, argv[1]);

  int ok = 1;
  /* Prefill: the prompt's PROMPT queries against its own PROMPT keys (the cache's first rows). */
  ok = ok && run(kernel, q, kcache, vcache, o, PROMPT, PROMPT);
  reference(q, kcache, vcache, expected, PROMPT, PROMPT);
  double prefill = maxError(o, expected, PROMPT * HQ * D);
  /* Decode: one new token (its K/V appended to the cache) attends to all CACHE rows. */
  float *token = q + (PROMPT - 1) * HQ * D;
  ok = ok && run(kernel, token, kcache, vcache, o, 1, CACHE);
  reference(token, kcache, vcache, expected, 1, CACHE);
  double decode = maxError(o, expected, HQ * D);
  printf("prefill %d tokens: max error %.2e\ndecode 1 token against %d: max error %.2e\n", PROMPT,
         prefill, CACHE, decode);

  (void)attn_kernel_destroy(kernel);
  (void)attn_context_destroy(context);
  if (!ok || !(prefill < 1e-4) || !(decode < 1e-4)) {
    fprintf(stderr, "FAILED\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}
