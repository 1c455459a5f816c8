#!/usr/bin/env python3
"""attnc beside torch's CPU attention, same shapes, same threads, same run (benchmarks/cpu.sh).

For each case: attnc through its Python API and torch's scaled_dot_product_attention (for the
sliding window, FlexAttention compiled with a sliding-window block mask, the kernel torch users
reach for), interleaved launch by launch after a warm-up; the figure is the median of the
repetitions. Prints `case attnc_gflops=.. torch_gflops=.. ratio=..` (GB/s for decode).
Run with a Python that has torch (benchmarks/torch-venv.sh makes one) and PYTHONPATH at the
attn package (build/python).
"""
import argparse
import math
import os
import statistics
import sys
import time

import numpy as np

# torch's OpenMP threads otherwise spin after each call and steal the cores from attnc's pool.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

import attn  # noqa: E402

try:
    import ml_dtypes
except ImportError:  # attnc's bf16 numpy arrays need it
    ml_dtypes = None


def as_numpy(t):
    if t.dtype == torch.bfloat16:
        return t.contiguous().view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.contiguous().numpy()


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def run_case(name, unit, work, attnc_fn, torch_fn, reps):
    attnc_fn()
    torch_fn()
    a, t = [], []
    for _ in range(reps):  # interleaved in pairs, so drift hits both alike
        a += [timed(attnc_fn), timed(attnc_fn)]
        t += [timed(torch_fn), timed(torch_fn)]
    ma, mt = statistics.median(a), statistics.median(t)
    fa, ft = work / ma / 1e9, work / mt / 1e9
    key = "gbps" if unit == "GB/s" else "gflops"
    print(f"{name} attnc_{key}={fa:.1f} torch_{key}={ft:.1f} ratio={fa / ft:.2f} "
          f"attnc_ms={ma * 1e3:.1f} torch_ms={mt * 1e3:.1f}", flush=True)


def prefill(name, dtype, s, hq, hkv, d, causal, reps, window=None, flex=None):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(1, s, hq, d, generator=g).to(dtype)
    k = torch.randn(1, s, hkv, d, generator=g).to(dtype)
    v = torch.randn(1, s, hkv, d, generator=g).to(dtype)
    qn, kn, vn = as_numpy(q), as_numpy(k), as_numpy(v)
    kernel = attn.compile(heads_q=hq, heads_kv=hkv, head_dim=d, dtype=str(dtype).split(".")[1],
                          causal=causal, window=(window, 0) if window else (-1, -1))
    # torch's own layout, BHSD contiguous (its fastest), holding the same values.
    qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
    if window:
        pairs = sum(min(i, window) + 1 for i in range(s))
        work = 4.0 * hq * d * pairs
        torch_fn = flex(qt, kt, vt, s, window)
    else:
        work = 4.0 * hq * s * s * d / (2 if causal else 1)

        def torch_fn():
            torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, is_causal=causal,
                                                             enable_gqa=hq != hkv)
    run_case(name, "GFLOP/s", work, lambda: kernel(qn, kn, vn), torch_fn, reps)


def decode(name, dtype, batch, skv, hq, hkv, d, reps):
    g = torch.Generator().manual_seed(0)
    q = torch.randn(batch, 1, hq, d, generator=g).to(dtype)
    k = torch.randn(batch, skv, hkv, d, generator=g).to(dtype)
    v = torch.randn(batch, skv, hkv, d, generator=g).to(dtype)
    qn, kn, vn = as_numpy(q), as_numpy(k), as_numpy(v)
    kernel = attn.compile(heads_q=hq, heads_kv=hkv, head_dim=d, dtype=str(dtype).split(".")[1])
    qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
    work = float(k.numel() + v.numel() + 2 * q.numel()) * k.element_size()

    def torch_fn():
        torch.nn.functional.scaled_dot_product_attention(qt, kt, vt, enable_gqa=True)
    run_case(name, "GB/s", work, lambda: kernel(qn, kn, vn), torch_fn, reps)


def flex_factory():
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    compiled = torch.compile(flex_attention, dynamic=False)

    def make(q, k, v, s, window):
        def sliding(b, h, qi, ki):
            return (qi >= ki) & (qi - ki <= window)
        mask = create_block_mask(sliding, None, None, s, s, device="cpu")
        return lambda: compiled(q, k, v, block_mask=mask, enable_gqa=q.shape[1] != k.shape[1])
    return make


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="S = 2048 cases only")
    parser.add_argument("--no-flex", action="store_true", help="skip FlexAttention (compiles ~1 min)")
    args = parser.parse_args()
    if ml_dtypes is None:
        sys.exit("torch_compare.py: bf16 arrays need ml_dtypes (pip install ml_dtypes)")
    threads = os.cpu_count()
    torch.set_num_threads(threads)
    print(f"# torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()}), "
          f"{threads} threads; attnc {attn.__version__ if hasattr(attn, '__version__') else ''}")
    bf16, f32 = torch.bfloat16, torch.float32
    prefill("dense_bf16_S2048", bf16, 2048, 8, 8, 128, False, args.reps)
    prefill("dense_causal_bf16_S2048", bf16, 2048, 8, 8, 128, True, args.reps)
    prefill("gqa32_8_causal_bf16_S2048", bf16, 2048, 32, 8, 128, True, args.reps)
    prefill("dense_f32_S2048", f32, 2048, 8, 8, 128, False, args.reps)
    if not args.quick:
        prefill("dense_causal_bf16_S8192", bf16, 8192, 8, 8, 128, True, max(3, args.reps // 2))
        prefill("dense_causal_f32_S8192", f32, 8192, 8, 8, 128, True, max(3, args.reps // 2))
    if not args.no_flex:
        try:
            flex = flex_factory()
            s = 4096 if args.quick else 16384
            prefill(f"window512_bf16_S{s}_vs_flex", bf16, s, 8, 8, 128, True,
                    max(3, args.reps // 2), window=511, flex=flex)
        except Exception as error:  # FlexAttention needs torch.compile's C++ toolchain
            print(f"window512_bf16 vs FlexAttention: n/a ({type(error).__name__}: "
                  f"{str(error).splitlines()[0] if str(error) else ''})")
    decode("gqa_decode32_8_f32_B4_KV16384", f32, 4, 16384, 32, 8, 128, args.reps * 4)
    decode("gqa_decode32_8_bf16_B4_KV16384", bf16, 4, 16384, 32, 8, 128, args.reps * 4)


if __name__ == "__main__":
    main()
