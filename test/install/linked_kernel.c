/*
 * linked_kernel.c - a kernel linked into the program (attnc --emit=obj --name=gqa --header=gqa.h):
 * the generated typed launcher, first called from several threads at once (its lazy set-up must
 * happen once), checked against the plain C reference for a prefill and a decode step.
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
  printf("linked kernel: prefill from %d threads max error %.2e, decode max error %.2e\n", THREADS,
         worst, decode);
  return worst < 1e-4 && decode < 1e-4 ? 0 : 1;
}
