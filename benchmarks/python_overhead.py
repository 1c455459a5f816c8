"""What a reused Kernel call costs in Python over the C launch (issue 14: within 5 us).

A tiny decode-shaped problem (B=1, Sq=1, Skv=16, Hq=Hkv=1, D=32), so that the kernel's own work
is small next to the call: the same kernel called three ways in one process, each the median of
many calls -
  native   the extension's launch (attn_kernel_launch through nanobind, buffers prepared);
  out=     kernel(q, k, v, out=o): argument checks, no allocation;
  default  kernel(q, k, v): argument checks and a fresh output array.
Prints each and the Python overhead over native in microseconds.

    PYTHONPATH=build/python python3 benchmarks/python_overhead.py
"""
import statistics
import time

import numpy as np

import attn


def median_us(fn, calls=20000, rounds=5):
    for _ in range(1000):
        fn()
    best = []
    for _ in range(rounds):
        samples = []
        for _ in range(calls // rounds):
            t0 = time.perf_counter_ns()
            fn()
            samples.append(time.perf_counter_ns() - t0)
        best.append(statistics.median(samples))
    return min(best) / 1000.0


def main():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((1, 1, 1, 32), dtype=np.float32)
    k = rng.standard_normal((1, 16, 1, 32), dtype=np.float32)
    v = rng.standard_normal((1, 16, 1, 32), dtype=np.float32)
    o = np.empty_like(q)
    kernel = attn.compile(heads_q=1, head_dim=32)
    native = kernel._kernel
    t_native = median_us(lambda: native.launch(q, k, v, o, None, None, None, None, None))
    t_out = median_us(lambda: kernel(q, k, v, out=o))
    t_default = median_us(lambda: kernel(q, k, v))
    print(f"native_us={t_native:.2f} out_us={t_out:.2f} default_us={t_default:.2f} "
          f"overhead_out_us={t_out - t_native:.2f} overhead_default_us={t_default - t_native:.2f}")


if __name__ == "__main__":
    main()
