/*
 * attn_reference.h - plain C causal grouped-query attention, the check the engine example and
 * the linked-kernel test compare attnc's kernels against.
 */
#ifndef ATTN_EXAMPLE_REFERENCE_H
#define ATTN_EXAMPLE_REFERENCE_H

#include <math.h>

enum { HQ = 8, HKV = 2, D = 64, PROMPT = 48, CACHE = PROMPT + 1, MAX_KEYS = 256 };

/* Plain causal GQA attention (bottom-right aligned), double accumulation, BSHD with B = 1;
 * skv <= MAX_KEYS. */
static void reference(const float *q, const float *k, const float *v, float *o, int sq, int skv) {
  const double scale = 1.0 / sqrt((double)D);
  for (int i = 0; i < sq; ++i) {
    int last = i + skv - sq; /* the last key row i may see */
    for (int h = 0; h < HQ; ++h) {
      int g = h / (HQ / HKV);
      double m = -INFINITY, sum = 0, acc[D] = {0};
      double scores[MAX_KEYS];
      for (int j = 0; j <= last; ++j) {
        double s = 0;
        for (int d = 0; d < D; ++d)
          s += (double)q[(i * HQ + h) * D + d] * k[(j * HKV + g) * D + d];
        scores[j] = s * scale;
        if (scores[j] > m)
          m = scores[j];
      }
      for (int j = 0; j <= last; ++j) {
        double p = exp(scores[j] - m);
        sum += p;
        for (int d = 0; d < D; ++d)
          acc[d] += p * v[(j * HKV + g) * D + d];
      }
      for (int d = 0; d < D; ++d)
        o[(i * HQ + h) * D + d] = (float)(acc[d] / sum);
    }
  }
}

static double maxError(const float *a, const float *b, int n) {
  double worst = 0;
  for (int i = 0; i < n; ++i) {
    double e = fabs((double)a[i] - b[i]);
    if (!(e <= worst)) /* NaN counts as worst */
      worst = isnan(e) ? INFINITY : e;
  }
  return worst;
}

#endif /* ATTN_EXAMPLE_REFERENCE_H */
