/* Interleaved A/B timing of two attention kernels built by attnc --emit=obj (benchmarks/ab/ab.sh).
 * Both must solve the same problem; they run alternately on the same inputs, so the drift of a
 * noisy machine hits both alike, and the medians are compared. Usage: ab_driver B SQ SKV REPS */
#include "ka.h"
#include "kb.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int ascending(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Uniform [-1, 1) in the problem's dtype. */
static void *randomTensor(size_t count, attn_dtype dtype, unsigned *seed) {
  size_t bytes = dtype == ATTN_DTYPE_F32 ? 4 : 2;
  unsigned char *data = malloc(count * bytes);
  for (size_t i = 0; data && i < count; ++i) {
    float x = (float)rand_r(seed) / (float)RAND_MAX * 2.0f - 1.0f;
    unsigned bits;
    memcpy(&bits, &x, 4);
    if (dtype == ATTN_DTYPE_F32) {
      memcpy(data + 4 * i, &x, 4);
    } else {
      unsigned short h = 0;
      if (dtype == ATTN_DTYPE_BF16) {
        h = (unsigned short)(bits >> 16);
      } else { /* f16, |x| < 1: normal or zero */
        int exponent = (int)((bits >> 23) & 0xff) - 127 + 15;
        h = (unsigned short)((bits >> 16) & 0x8000);
        if (exponent > 0)
          h |= (unsigned short)((exponent << 10) | ((bits >> 13) & 0x3ff));
      }
      memcpy(data + 2 * i, &h, 2);
    }
  }
  return data;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: %s BATCH SEQ_Q SEQ_KV REPS\n", argv[0]);
    return 2;
  }
  long B = atol(argv[1]), Sq = atol(argv[2]), Skv = atol(argv[3]);
  int reps = atoi(argv[4]);
  attn_problem pa, pb;
  if (ka_problem(&pa) != ATTN_STATUS_SUCCESS || kb_problem(&pb) != ATTN_STATUS_SUCCESS ||
      memcmp(&pa, &pb, sizeof pa) != 0) {
    fprintf(stderr, "A and B must be built for the same problem\n");
    return 2;
  }
  if (B < 1 || Sq < 1 || Skv < 1 || reps < 1 || reps > 1000) {
    fprintf(stderr, "bad sizes\n");
    return 2;
  }
  unsigned seed = 1;
  size_t nq = (size_t)B * Sq * pa.heads_q, nkv = (size_t)B * Skv * pa.heads_kv;
  void *q = randomTensor(nq * pa.head_dim, pa.dtype, &seed);
  void *k = randomTensor(nkv * pa.head_dim, pa.dtype, &seed);
  void *v = randomTensor(nkv * pa.head_dim_v, pa.dtype, &seed);
  void *o = randomTensor(nq * pa.head_dim_v, pa.dtype, &seed);
  float *lse = malloc(nq * sizeof(float)), *ent = malloc(nq * sizeof(float));
  double *ta = malloc(reps * sizeof(double)), *tb = malloc(reps * sizeof(double));
  if (!q || !k || !v || !o || !lse || !ent || !ta || !tb) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  float *l = pa.return_lse ? lse : NULL, *e = pa.return_entropy ? ent : NULL;
  if (ka_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL) != ATTN_STATUS_SUCCESS ||
      kb_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL) != ATTN_STATUS_SUCCESS) {
    fprintf(stderr, "launch failed: %s\n", attn_last_error());
    return 1;
  }
  for (int r = 0; r < reps; ++r) { /* A B, then B A: neither always runs second */
    double t0 = now();
    if (r % 2 == 0) {
      ka_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL);
      double t1 = now();
      kb_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL);
      ta[r] = t1 - t0;
      tb[r] = now() - t1;
    } else {
      kb_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL);
      double t1 = now();
      ka_launch(B, Sq, Skv, q, k, v, o, l, e, NULL, NULL);
      tb[r] = t1 - t0;
      ta[r] = now() - t1;
    }
  }
  qsort(ta, reps, sizeof(double), ascending);
  qsort(tb, reps, sizeof(double), ascending);
  double ma = ta[reps / 2], mb = tb[reps / 2];
  printf("A median %.3f ms (min %.3f)  B median %.3f ms (min %.3f)  B speed / A speed %.3f\n",
         ma * 1e3, ta[0] * 1e3, mb * 1e3, tb[0] * 1e3, ma / mb);
  return 0;
}
