/*
 * linked_kernel.c - a kernel linked into the program (attnc --emit=obj --name=gqa --header=gqa.h):
 * the generated typed launcher, first called from several threads at once (its lazy set-up must
 * happen once), checked against the plain C reference for a prefill and a decode step; then two
 * kernels of the same code created in the engine's own context (gqa_create), whose work runs on
 * the engine's parallel-for.
 */
#include "gqa.h"

#include "attn_reference.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { THREADS = 4 };

static float q[PROMPT * HQ * D], kcache[CACHE * HKV * D], vcache[CACHE * HKV * D];
static float out[THREADS][PROMPT * HQ * D], lse[THREADS][HQ * PROMPT];
static attn_status statuses[THREADS];
static long engineTasks; /* calls of the engine's parallel-for */

/* The engine's pool, here serial: the context runs every item range through it. */
static void engineParallelFor(void *user, int64_t n, attn_parallel_task_fn task, void *task_ctx) {
  (void)user;
  ++engineTasks;
  task(task_ctx, 0, n);
}

static void *prefill(void *arg) {
  long t = (long)arg;
  /* The cache rows are [CACHE, HKV, D]; a prefill reads the first PROMPT of them. */
  statuses[t] = gqa_launch(1, PROMPT, PROMPT, q, kcache, vcache, out[t], lse[t], NULL, NULL, NULL);
  return NULL;
}

int main(void) {
  static float expected[PROMPT * HQ * D], decodeOut[HQ * D], decodeLse[HQ];
  srand(11);
  for (int i = 0; i < PROMPT * HQ * D; ++i)
    q[i] = (float)rand() / RAND_MAX - 0.5f;
  for (int i = 0; i < CACHE * HKV * D; ++i) {
    kcache[i] = (float)rand() / RAND_MAX - 0.5f;
    vcache[i] = (float)rand() / RAND_MAX - 0.5f;
  }
  pthread_t threads[THREADS];
  for (long t = 0; t < THREADS; ++t)
    pthread_create(&threads[t], NULL, prefill, (void *)t);
  for (int t = 0; t < THREADS; ++t)
    pthread_join(threads[t], NULL);
  reference(q, kcache, vcache, expected, PROMPT, PROMPT);
  double worst = 0;
  for (int t = 0; t < THREADS; ++t) {
    if (statuses[t] != ATTN_STATUS_SUCCESS) {
      fprintf(stderr, "thread %d: %s\n", t, attn_status_string(statuses[t]));
      return 1;
    }
    double e = maxError(out[t], expected, PROMPT * HQ * D);
    worst = e > worst ? e : worst;
  }
  /* A decode step: the last prompt token against all CACHE rows of the cache. */
  const float *token = q + (PROMPT - 1) * HQ * D;
  attn_status s =
      gqa_launch(1, 1, CACHE, token, kcache, vcache, decodeOut, decodeLse, NULL, NULL, NULL);
  if (s != ATTN_STATUS_SUCCESS) {
    fprintf(stderr, "decode: %s (%s)\n", attn_status_string(s), attn_last_error());
    return 1;
  }
  reference(token, kcache, vcache, expected, 1, CACHE);
  double decode = maxError(decodeOut, expected, HQ * D);
  /* The engine's context: two layers' kernels of the same linked code share it. */
  attn_context_options options;
  attn_context *engine = NULL;
  attn_kernel *layers[2] = {NULL, NULL};
  if (attn_context_options_init(&options) != ATTN_STATUS_SUCCESS)
    return 1;
  options.num_threads = 2;
  options.parallel_for = engineParallelFor;
  if (attn_context_create(&options, &engine) != ATTN_STATUS_SUCCESS ||
      gqa_create(engine, &layers[0]) != ATTN_STATUS_SUCCESS ||
      gqa_create(engine, &layers[1]) != ATTN_STATUS_SUCCESS) {
    fprintf(stderr, "engine context: %s\n", attn_last_error());
    return 1;
  }
  double shared = 0;
  for (int layer = 0; layer < 2; ++layer) {
    attn_launch_args a;
    if (attn_launch_args_init(&a) != ATTN_STATUS_SUCCESS)
      return 1;
    a.batch = 1;
    a.seq_q = PROMPT;
    a.seq_kv = PROMPT;
    a.q.data = q;
    a.k.data = kcache;
    a.v.data = vcache;
    a.o.data = out[layer];
    a.lse = lse[layer];
    attn_tensor *views[] = {&a.q, &a.k, &a.v, &a.o};
    int64_t rows[] = {PROMPT, CACHE, CACHE, PROMPT}, heads[] = {HQ, HKV, HKV, HQ};
    for (int t = 0; t < 4; ++t) {
      views[t]->strides[0] = rows[t] * heads[t] * D;
      views[t]->strides[1] = heads[t] * D;
      views[t]->strides[2] = D;
      views[t]->strides[3] = 1;
    }
    long before = engineTasks;
    if (attn_kernel_launch(layers[layer], &a) != ATTN_STATUS_SUCCESS) {
      fprintf(stderr, "engine launch: %s\n", attn_last_error());
      return 1;
    }
    if (engineTasks == before) {
      fprintf(stderr, "the engine context's kernel did not run on the engine's parallel-for\n");
      return 1;
    }
    reference(q, kcache, vcache, expected, PROMPT, PROMPT);
    double e = maxError(out[layer], expected, PROMPT * HQ * D);
    shared = e > shared ? e : shared;
  }
  (void)attn_kernel_destroy(layers[0]);
  (void)attn_kernel_destroy(layers[1]);
  (void)attn_context_destroy(engine);
  printf("linked kernel: prefill from %d threads max error %.2e, decode max error %.2e, two "
         "kernels in the engine's context max error %.2e (%ld parallel-for calls)\n",
         THREADS, worst, decode, shared, engineTasks);
  return worst < 1e-4 && decode < 1e-4 && shared < 1e-4 ? 0 : 1;
}
