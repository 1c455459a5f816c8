"""Vulkan backend throughput beside a reference measured in the same run.

For each case: the Vulkan kernel's GFLOP/s (median of timed calls of a reused attn.Kernel, the
host-memory path: copies in and out included) and, as the reference, attnc's CPU kernel on the
same problem and threads; the line ends with ratio = vulkan / reference. On lavapipe (a CPU
driver) the ratio measures what the Vulkan path costs against native CPU code on the same cores;
on a GPU it is the GPU's speed-up over this host's CPU backend. --quick runs small shapes.
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=5)
    opts = parser.parse_args()
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
