"""What ALiBi slopes and sink logits cost: each kernel beside the same problem without them,
measured in the same run (best of several launches, the context's threads), as a ratio.

    PYTHONPATH=build/python python3 benchmarks/head_values_bench.py
"""

import time

import numpy as np

import attn


def best_seconds(kernel, args, kwargs, repeats=7):
    kernel(*args, **kwargs)  # warm: code paged in, workspace grown
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        kernel(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    return best


def main():
    rng = np.random.default_rng(0)
    print(f"{'case':34} {'plain ms':>9} {'alibi':>7} {'sinks':>7} {'both':>7}  (time / plain)")
    for name, dtype, B, Sq, Skv, Hq, Hkv, D, causal in (
            ("prefill causal f32 S=2048", "float32", 1, 2048, 2048, 8, 8, 64, True),
            ("prefill causal f16 S=2048", "float16", 1, 2048, 2048, 8, 8, 128, True),
            ("decode GQA 32/8 f32 KV=8192", "float32", 4, 1, 8192, 32, 8, 128, False)):
        q = rng.standard_normal((B, Sq, Hq, D)).astype(dtype)
        k = rng.standard_normal((B, Skv, Hkv, D)).astype(dtype)
        v = rng.standard_normal((B, Skv, Hkv, D)).astype(dtype)
        slopes = (2.0 ** -np.arange(1, Hq + 1)).astype(np.float32)
        sinks = rng.uniform(-1, 2, Hq).astype(np.float32)
        times = []
        for alibi, sink in ((False, False), (True, False), (False, True), (True, True)):
            kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype=dtype,
                                  causal=causal, return_lse=True, alibi=alibi, sinks=sink)
            kwargs = {}
            if alibi:
                kwargs["alibi_slopes"] = slopes
            if sink:
                kwargs["sinks"] = sinks
            times.append(best_seconds(kernel, (q, k, v), kwargs))
        plain = times[0]
        print(f"{name:34} {plain * 1e3:9.3f} " +
              " ".join(f"{t / plain:7.3f}" for t in times[1:]))


if __name__ == "__main__":
    main()
