"""Two kernel bundles of one problem (A: the heuristic's, B: the tuned one), loaded into one
process and launched alternately on the same random inputs: prints B/A, the ratio of their median
times. An independent re-measurement of what attnc tune chose, on any target a bundle holds
(the host-memory path on Vulkan: copies included, as in the tuner).

    python3 ab_bundles.py A.attnb B.attnb BATCH SEQ_Q SEQ_KV [REPS]
"""

import statistics
import sys
import time

import ml_dtypes
import numpy as np

import attn


def main():
    a_path, b_path = sys.argv[1:3]
    batch, seq_q, seq_kv = (int(x) for x in sys.argv[3:6])
    reps = int(sys.argv[6]) if len(sys.argv) > 6 else 9
    a, b = attn.load_bundle(a_path), attn.load_bundle(b_path)
    assert (a.heads_q, a.heads_kv, a.head_dim, a.dtype) == (b.heads_q, b.heads_kv, b.head_dim,
                                                           b.dtype), "bundles of two problems"
    np_dtype = ml_dtypes.bfloat16 if a.dtype == "bfloat16" else np.dtype(a.dtype)
    rng = np.random.default_rng(0)
    q = rng.standard_normal((batch, seq_q, a.heads_q, a.head_dim)).astype(np_dtype)
    k = rng.standard_normal((batch, seq_kv, a.heads_kv, a.head_dim)).astype(np_dtype)
    v = rng.standard_normal((batch, seq_kv, a.heads_kv, a.head_dim_v)).astype(np_dtype)
    times = {"A": [], "B": []}
    for kernel in (a, b):  # warm-up: pipelines, first-touch
        kernel(q, k, v)
    for i in range(reps):
        for name, kernel in (("A", a), ("B", b)) if i % 2 == 0 else (("B", b), ("A", a)):
            t0 = time.perf_counter()
            kernel(q, k, v)
            times[name].append(time.perf_counter() - t0)
    ma, mb = statistics.median(times["A"]), statistics.median(times["B"])
    print(f"A {a.config['text']}\nB {b.config['text']}\n"
          f"A {ma * 1e3:.2f} ms  B {mb * 1e3:.2f} ms  B/A = {mb / ma:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
