"""Vulkan backend throughput beside a reference measured in the same run.

For each case: the Vulkan kernel's GFLOP/s (median of timed calls of a reused attn.Kernel, the
host-memory path: copies in and out included) and, as the reference, attnc's CPU kernel on the
same problem and threads; the line ends with ratio = vulkan / reference. On lavapipe (a CPU
driver) the ratio measures what the Vulkan path costs against native CPU code on the same cores;
on a GPU it is the GPU's speed-up over this host's CPU backend. --quick runs small shapes.

--paged compares a paged KV cache with the contiguous one instead: the same keys as pages at
shuffled indices, both Vulkan kernels' calls alternating in one process; ratio = paged time /
contiguous time (the goal of issue 14: within 1.10).
"""

import argparse
import statistics
import sys
import time

import ml_dtypes
import numpy as np

import attn


def flops(B, Sq, Skv, Hq, D, Dv, causal):
    pairs = Sq * Skv
    if causal:  # bottom-right aligned: row i sees min(Skv, i + Skv - Sq + 1) keys
        pairs = sum(max(0, min(Skv, i + Skv - Sq + 1)) for i in range(Sq))
    return 2.0 * B * Hq * pairs * (D + Dv)


def timed(kernel, args, reps):
    kernel(*args)  # warm-up: the first dispatch compiles the pipeline
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        kernel(*args)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def as_pages(rng, k, v, page):
    """K/V [B, S, H, D] as pages at shuffled indices (two spare) and the block table."""
    B, S = k.shape[:2]
    max_pages = -(-S // page)
    num_pages = B * max_pages + 2
    order = rng.permutation(num_pages).astype(np.int32)
    table = order[:B * max_pages].reshape(B, max_pages)
    kp = np.zeros((num_pages, page) + k.shape[2:], k.dtype)
    vp = np.zeros((num_pages, page) + v.shape[2:], v.dtype)
    for b in range(B):
        for i in range(max_pages):
            rows = slice(i * page, min(S, (i + 1) * page))
            n = rows.stop - rows.start
            kp[table[b, i], :n] = k[b, rows]
            vp[table[b, i], :n] = v[b, rows]
    return kp, vp, table


def paged(opts):
    S = 1024 if opts.quick else 4096
    cases = [
        ("decode_gqa_f32", dict(B=4, Sq=1, Hq=32, Hkv=8, dtype="float32", causal=False)),
        ("decode_gqa_f16", dict(B=4, Sq=1, Hq=32, Hkv=8, dtype="float16", causal=False)),
        ("chunked_prefill_causal_f16", dict(B=1, Sq=16, Hq=32, Hkv=8, dtype="float16",
                                            causal=True)),  # lavapipe: ~35 s a call at Sq=128
    ]
    rng = np.random.default_rng(0)
    D = 128
    for name, c in cases:
        B, Sq, Hq, Hkv = c["B"], c["Sq"], c["Hq"], c["Hkv"]
        q = rng.standard_normal((B, Sq, Hq, D)).astype(c["dtype"])
        k = rng.standard_normal((B, S, Hkv, D)).astype(c["dtype"])
        v = rng.standard_normal((B, S, Hkv, D)).astype(c["dtype"])
        common = dict(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype=c["dtype"],
                      causal=c["causal"], target="vulkan")
        flat = attn.compile(**common)
        for page in (1, 16, 256):
            kp, vp, table = as_pages(rng, k, v, page)
            lens = np.full(B, S, np.int32)
            kernel = attn.compile(page_size=page, **common)
            contiguous_args, paged_args = (q, k, v), (q, kp, vp)
            flat(*contiguous_args)
            kernel(*paged_args, block_table=table, seqlens_kv=lens)
            t_flat, t_paged = [], []
            for _ in range(opts.reps):
                t0 = time.perf_counter()
                flat(*contiguous_args)
                t_flat.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                kernel(*paged_args, block_table=table, seqlens_kv=lens)
                t_paged.append(time.perf_counter() - t0)
            a, b = min(t_paged), min(t_flat)
            print(f"{name}_B{B}_H{Hq}/{Hkv}_Sq{Sq}_Skv{S}_D{D}_page{page} paged_ms={a * 1e3:.2f} "
                  f"contiguous_ms={b * 1e3:.2f} ratio={a / b:.3f}", flush=True)
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--paged", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    opts = parser.parse_args()
    if opts.paged:
        return paged(opts)
    S = 256 if opts.quick else 1024
    cases = [
        ("dense_f32", dict(B=1, Sq=S, Skv=S, Hq=8, Hkv=8, D=64, dtype="float32", causal=False)),
        ("causal_f16", dict(B=1, Sq=S, Skv=S, Hq=8, Hkv=8, D=64, dtype="float16", causal=True)),
        ("gqa_bf16", dict(B=1, Sq=S, Skv=S, Hq=8, Hkv=2, D=128, dtype="bfloat16", causal=True)),
        ("decode_f32", dict(B=2, Sq=1, Skv=8 * S, Hq=8, Hkv=2, D=128, dtype="float32",
                            causal=False)),
    ]
    rng = np.random.default_rng(0)
    for name, c in cases:
        dtype = c["dtype"]
        np_dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
        q = rng.standard_normal((c["B"], c["Sq"], c["Hq"], c["D"])).astype(np_dtype)
        k = rng.standard_normal((c["B"], c["Skv"], c["Hkv"], c["D"])).astype(np_dtype)
        v = rng.standard_normal((c["B"], c["Skv"], c["Hkv"], c["D"])).astype(np_dtype)
        seconds = {}
        for target in ("vulkan", "cpu"):
            kernel = attn.compile(heads_q=c["Hq"], heads_kv=c["Hkv"], head_dim=c["D"],
                                  dtype=dtype, causal=c["causal"], target=target)
            seconds[target] = timed(kernel, (q, k, v), opts.reps)
        f = flops(c["B"], c["Sq"], c["Skv"], c["Hq"], c["D"], c["D"], c["causal"])
        g, r = f / seconds["vulkan"] / 1e9, f / seconds["cpu"] / 1e9
        print(f"{name}_B{c['B']}_H{c['Hq']}_Sq{c['Sq']}_Skv{c['Skv']}_D{c['D']} "
              f"gflops={g:.2f} cpu_backend_gflops={r:.2f} ratio={g / r:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
