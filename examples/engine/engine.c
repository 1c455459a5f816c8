/*
 * engine.c - a small C99 program standing in for an inference engine.
 *
 * It links only libattn_runtime (found with find_package(attn)), loads a kernel bundle built ahead
 * of time by attnc (no compiler at run time), and runs attention on its own buffers: a prefill of
 * a prompt and then one decode step against the KV cache, with grouped-query attention. Given a
 * second bundle built with --page-size=16, it also serves two sequences from a paged KV cache,
 * as vLLM-style engines keep it: the prompts written into pages taken from a shuffled free list,
 * one prefill of both prompts packed without padding (cu_seqlens_q, as flash_attn_varlen_func)
 * against the cache, then decode steps that append a token to each sequence (a new page when one
 * fills), their queries packed too. Each result is checked against a plain C loop. More paged
 * bundles (another target: a Vulkan one runs on the default Vulkan device) serve the same way;
 * one whose target this machine lacks is skipped (ATTN_STATUS_UNSUPPORTED), unless
 * ATTN_REQUIRE_VULKAN=1.
 *
 *   attnc --heads-q=8 --heads-kv=2 --head-dim=64 --causal --emit=bundle -o gqa.attnb
 *   attnc --heads-q=8 --heads-kv=2 --head-dim=64 --causal --page-size=16 --emit=bundle \
 *         -o paged.attnb
 *   attnc ... --page-size=16 --target=vulkan --vulkan-device=lavapipe --emit=bundle -o vk.attnb
 *   ./attn-engine-example gqa.attnb [paged.attnb [vk.attnb ...]]
 */
#include <attn/attn_runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- A paged KV cache: pages of PAGE keys, a block table per sequence ---------------- */

enum { PAGE = 16, SEQS = 2, NUM_PAGES = 24, MAX_PAGES = 12, STEPS = 5 };

static float kpages[NUM_PAGES * PAGE * HKV * D], vpages[NUM_PAGES * PAGE * HKV * D];
static int32_t table[SEQS * MAX_PAGES], lengths[SEQS], freePages[NUM_PAGES], freeCount;

static float random1(void) { return (float)rand() / RAND_MAX - 0.5f; }

/* Appends one token's K and V rows (HKV x D each) to sequence b, taking a page when needed. */
static int append(int b, const float *krow, const float *vrow) {
  int j = lengths[b];
  if (j == MAX_PAGES * PAGE || (j % PAGE == 0 && freeCount == 0))
    return 0;
  if (j % PAGE == 0)
    table[b * MAX_PAGES + j / PAGE] = freePages[--freeCount];
  size_t at = ((size_t)table[b * MAX_PAGES + j / PAGE] * PAGE + j % PAGE) * HKV * D;
  for (int i = 0; i < HKV * D; ++i) {
    kpages[at + i] = krow[i];
    vpages[at + i] = vrow[i];
  }
  lengths[b] = j + 1;
  return 1;
}

/* Sequence b's keys gathered in order (what the reference reads). */
static void gather(int b, float *k, float *v) {
  for (int j = 0; j < lengths[b]; ++j) {
    size_t at = ((size_t)table[b * MAX_PAGES + j / PAGE] * PAGE + j % PAGE) * HKV * D;
    for (int i = 0; i < HKV * D; ++i) {
      k[j * HKV * D + i] = kpages[at + i];
      v[j * HKV * D + i] = vpages[at + i];
    }
  }
}

/* One launch over both sequences: their queries packed, rows [rows, HQ, D] with sequence b's at
 * cu[b] .. cu[b + 1] - 1 (no padding between them). */
static int runPaged(attn_kernel *kernel, float *q, float *o, int rows, const int32_t *cu) {
  attn_launch_args args;
  if (!check(attn_launch_args_init(&args), "attn_launch_args_init"))
    return 0;
  args.batch = SEQS;
  args.seq_q = rows;
  args.seq_kv = 0; /* MAX_PAGES * PAGE */
  args.q = tensor(q, HQ, rows); /* strides[0] is not used for packed rows */
  args.o = tensor(o, HQ, rows);
  args.cu_seqlens_q = cu;
  args.k = tensor(kpages, HKV, PAGE); /* [NUM_PAGES, PAGE, HKV, D] */
  args.v = tensor(vpages, HKV, PAGE);
  args.block_table = table;
  args.max_pages = MAX_PAGES;
  args.num_pages = NUM_PAGES;
  args.seqlens_kv = lengths;
  return check(attn_kernel_launch(kernel, &args), "attn_kernel_launch (paged)");
}

/* Serves SEQS sequences from the paged cache; returns the largest error seen, -1 on a failure,
 * or -2 when the bundle's target is not on this machine (and may be skipped). */
static double servePaged(attn_context *context, const char *bundle) {
  static float q[SEQS * PROMPT * HQ * D], o[SEQS * PROMPT * HQ * D], expected[PROMPT * HQ * D];
  static float k[MAX_KEYS * HKV * D], v[MAX_KEYS * HKV * D], krow[HKV * D], vrow[HKV * D];
  attn_kernel *kernel = NULL;
  attn_status status = attn_kernel_load_bundle_file(context, bundle, &kernel);
  const char *require = getenv("ATTN_REQUIRE_VULKAN");
  if (status == ATTN_STATUS_UNSUPPORTED && !(require && strcmp(require, "1") == 0)) {
    printf("%s skipped: %s\n", bundle, attn_last_error());
    return -2;
  }
  if (!check(status, "attn_kernel_load_bundle"))
    return -1;
  attn_problem problem;
  problem.struct_size = sizeof(problem);
  if (!check(attn_kernel_get_problem(kernel, &problem), "attn_kernel_get_problem"))
    return -1;
  static const char *const targets[] = {"CPU", "CUDA", "Vulkan"}; /* by attn_target */
  printf("%s: a %s kernel\n", bundle, targets[problem.target]);
  /* A fresh cache for each bundle. */
  for (int b = 0; b < SEQS; ++b)
    lengths[b] = 0;
  /* The free list in a shuffled order, so that no sequence's pages are adjacent. */
  for (int i = 0; i < NUM_PAGES; ++i)
    freePages[i] = i;
  for (int i = NUM_PAGES - 1; i > 0; --i) {
    int r = rand() % (i + 1), t = freePages[i];
    freePages[i] = freePages[r];
    freePages[r] = t;
  }
  freeCount = NUM_PAGES;
  for (int i = 0; i < SEQS * MAX_PAGES; ++i)
    table[i] = -1; /* never read: past every sequence's last page */
  const int32_t prompts[SEQS] = {PROMPT, 20}, cu[SEQS + 1] = {0, PROMPT, PROMPT + 20};
  double worst = 0;
  /* Prefill: each prompt's K/V into the cache, then every prompt's queries packed, one launch. */
  for (int b = 0; b < SEQS; ++b)
    for (int j = 0; j < prompts[b]; ++j) {
      for (int i = 0; i < HKV * D; ++i) {
        krow[i] = random1();
        vrow[i] = random1();
      }
      if (!append(b, krow, vrow))
        return -1;
    }
  for (int i = 0; i < cu[SEQS] * HQ * D; ++i)
    q[i] = random1();
  if (!runPaged(kernel, q, o, cu[SEQS], cu))
    return -1;
  for (int b = 0; b < SEQS; ++b) {
    gather(b, k, v);
    reference(q + (size_t)cu[b] * HQ * D, k, v, expected, prompts[b], lengths[b]);
    double e = maxError(o + (size_t)cu[b] * HQ * D, expected, prompts[b] * HQ * D);
    worst = e > worst || e != e ? e : worst;
  }
  printf("paged cache (pages of %d keys): packed prefill of %d and %d tokens, max error %.2e\n",
         PAGE, prompts[0], prompts[1], worst);
  /* Decode steps: each sequence appends its new token's K/V, then one launch for both. */
  const int32_t steps[SEQS + 1] = {0, 1, 2}; /* one query row per sequence */
  for (int step = 0; step < STEPS; ++step) {
    for (int b = 0; b < SEQS; ++b) {
      for (int i = 0; i < HKV * D; ++i) {
        krow[i] = random1();
        vrow[i] = random1();
      }
      if (!append(b, krow, vrow))
        return -1;
    }
    for (int i = 0; i < SEQS * HQ * D; ++i)
      q[i] = random1();
    if (!runPaged(kernel, q, o, SEQS, steps))
      return -1;
    double stepWorst = 0;
    for (int b = 0; b < SEQS; ++b) {
      gather(b, k, v);
      reference(q + (size_t)b * HQ * D, k, v, expected, 1, lengths[b]);
      double e = maxError(o + (size_t)b * HQ * D, expected, HQ * D);
      stepWorst = e > stepWorst || e != e ? e : stepWorst;
    }
    printf("decode step %d: %d and %d keys, max error %.2e\n", step + 1, lengths[0], lengths[1],
           stepWorst);
    worst = stepWorst > worst || stepWorst != stepWorst ? stepWorst : worst;
  }
  (void)attn_kernel_destroy(kernel);
  return worst;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s BUNDLE [PAGED_BUNDLE...]\n", argv[0]);
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
  for (int i = 2; i < argc && ok; ++i) {
    double paged = servePaged(context, argv[i]);
    ok = paged == -2 || (paged >= 0 && paged < 1e-4);
  }
  (void)attn_context_destroy(context);
  if (!ok || !(prefill < 1e-4) || !(decode < 1e-4)) {
    fprintf(stderr, "FAILED\n");
    return 1;
  }
  printf("OK\n");
  return 0;
}
