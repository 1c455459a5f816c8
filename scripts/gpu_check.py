#!/usr/bin/env python3
"""The GPU check of the CUDA backend, in two halves (scripts/gpu-check.sh drives them).

prepare DIR: on a machine with the compiler (LLVM/MLIR), compiles every problem of the check
  ahead of time into attnc bundles (attnc --target=cuda --arch=ARCH --emit=bundle), and puts
  beside them this script, libattn_runtime.so (which links no LLVM) and the runtime's sources
  with a standalone CMakeLists.txt, in case the carried library does not load there.

run DIR: on the GPU machine (Python, torch with CUDA; no LLVM), loads the runtime with ctypes and
  each bundle with attn_kernel_load_bundle_file, then
  - conformance: fresh random inputs, outputs poisoned with NaN, the kernels enqueued on torch's
    current stream through attn_kernel_launch_cuda, checked against a float64 reference computed
    with torch on the GPU, with SPEC section 4's tolerances;
  - benchmarks: TFLOP/s of dense, causal and sliding-window prefill beside torch's SDPA (flash
    and cuDNN backends) and FlexAttention measured in the same run, and GQA decode bandwidth
    beside a device-to-device copy, each printed as a ratio.
  Results go to OUT/gpu-check.json; the exit status is non-zero when a case fails.
"""

import argparse
import ctypes
import json
import math
import os
import shutil
import subprocess
import sys
import time

# ---- the problems --------------------------------------------------------------------------

# name -> (problem, launch shapes). Problem keys follow attnc's options; shapes: B, Sq, Skv and
# optional per-batch lengths.
CONFORMANCE = {}


def _case(name, shapes, **problem):
    problem.setdefault("dtype", "bf16")
    problem.setdefault("variant", "softmax")
    CONFORMANCE[name] = {"problem": problem, "shapes": shapes}


for _dt in ("f16", "bf16"):
    for _d in (32, 64, 80, 96, 128, 192, 256):
        _case(f"dense_{_dt}_d{_d}", [{"B": 2, "Sq": 77, "Skv": 300}], dtype=_dt, heads_q=8,
              heads_kv=2, head_dim=_d, lse=True)
_case("causal_f16_entropy", [{"B": 2, "Sq": 190, "Skv": 190}, {"B": 1, "Sq": 7, "Skv": 500}],
      dtype="f16", heads_q=8, heads_kv=8, head_dim=128, causal=True, lse=True, entropy=True)
_case("causal_sq_gt_skv", [{"B": 1, "Sq": 300, "Skv": 100}], heads_q=4, heads_kv=4, head_dim=64,
      causal=True, lse=True)
_case("window_globals_bf16", [{"B": 2, "Sq": 333, "Skv": 1000}], heads_q=8, heads_kv=2,
      head_dim=64, causal=True, window=(128, -1), global_tokens=4, lse=True)
_case("band_bf16", [{"B": 1, "Sq": 200, "Skv": 200}], heads_q=4, heads_kv=4, head_dim=128,
      window=(20, 30))
_case("softcap_bf16", [{"B": 2, "Sq": 100, "Skv": 257}], heads_q=8, heads_kv=1, head_dim=128,
      softcap=30.0, scale=0.5, lse=True)
_case("dv_ne_d_bf16", [{"B": 2, "Sq": 65, "Skv": 129}], heads_q=4, heads_kv=2, head_dim=128,
      head_dim_v=64, causal=True, lse=True)
_case("varlen_bf16", [{"B": 3, "Sq": 120, "Skv": 400, "seqlens_q": [120, 1, 60],
                       "seqlens_kv": [400, 0, 77]}], heads_q=8, heads_kv=2, head_dim=128,
      causal=True, lse=True)
_case("gqa_wide_f16", [{"B": 1, "Sq": 33, "Skv": 90}], dtype="f16", heads_q=32, heads_kv=1,
      head_dim=64, lse=True)
_case("f32_simt", [{"B": 2, "Sq": 70, "Skv": 150}], dtype="f32", heads_q=4, heads_kv=2,
      head_dim=64, causal=True, lse=True, entropy=True)
_case("decode_mqa_bf16", [{"B": 2, "Sq": 1, "Skv": 5000},
                          {"B": 2, "Sq": 4, "Skv": 3000, "seqlens_kv": [3000, 700]}],
      heads_q=8, heads_kv=1, head_dim=128, lse=True)
_case("decode_window_f16", [{"B": 1, "Sq": 3, "Skv": 4000}], dtype="f16", heads_q=8, heads_kv=2,
      head_dim=64, causal=True, window=(1500, -1), global_tokens=4)
_case("linear_causal_f16", [{"B": 2, "Sq": 130, "Skv": 130}], dtype="f16", variant="linear",
      heads_q=4, heads_kv=2, head_dim=64, causal=True)
_case("linear_f32", [{"B": 1, "Sq": 50, "Skv": 90}], dtype="f32", variant="linear", heads_q=2,
      heads_kv=2, head_dim=32)

BENCH = {}
for _dt in ("bf16", "f16"):
    for _d in (64, 128):
        BENCH[f"dense_{_dt}_d{_d}"] = {"dtype": _dt, "heads_q": 16, "heads_kv": 16,
                                       "head_dim": _d}
        BENCH[f"causal_{_dt}_d{_d}"] = {"dtype": _dt, "heads_q": 16, "heads_kv": 16,
                                        "head_dim": _d, "causal": True}
BENCH["window512_bf16_d128"] = {"dtype": "bf16", "heads_q": 16, "heads_kv": 16, "head_dim": 128,
                                "causal": True, "window": (512, 0)}
BENCH["decode_gqa_bf16_d128"] = {"dtype": "bf16", "heads_q": 32, "heads_kv": 8, "head_dim": 128}
for _p in BENCH.values():
    _p.setdefault("variant", "softmax")

# Tile configurations of the tensor-core prefill timed against the heuristic's in the same run
# (dense and causal bf16, D = 128, S = 8k), so that one lent GPU run says which to default to:
# (warps, block_n, stages).
SWEEP_CONFIGS = [(4, 64, 2), (4, 32, 2), (4, 64, 3), (4, 128, 2), (8, 64, 2), (8, 32, 3),
                 (2, 64, 2)]
SWEEP_PROBLEMS = {"dense": False, "causal": True}


def sweep_name(kind, config):
    return f"sweep_{kind}_w{config[0]}_n{config[1]}_s{config[2]}"


def sweep_mlir(causal, config):
    t = "tensor<?x?x16x128xbf16>"
    attrs = ("causal, " if causal else "") + (
        f"attn.cuda_config = #attn.cuda_config<warps = {config[0]}, block_n = {config[1]}, "
        f"stages = {config[2]}>")
    return (f"func.func @attn(%q: {t}, %k: {t}, %v: {t}) -> {t} {{\n"
            f"  %o = attn.attention %q, %k, %v {{{attrs}}} : {t}, {t}, {t} -> {t}\n"
            f"  return %o : {t}\n}}\n")


def attnc_args(p):
    args = [f"--variant={p['variant']}", f"--dtype={p['dtype']}", f"--heads-q={p['heads_q']}",
            f"--heads-kv={p['heads_kv']}", f"--head-dim={p['head_dim']}"]
    if "head_dim_v" in p:
        args.append(f"--head-dim-v={p['head_dim_v']}")
    if p.get("causal"):
        args.append("--causal")
    if "window" in p:
        args.append(f"--window={p['window'][0]},{p['window'][1]}")
    if p.get("global_tokens"):
        args.append(f"--global-tokens={p['global_tokens']}")
    if p.get("softcap"):
        args.append(f"--softcap={p['softcap']}")
    if "scale" in p:
        args.append(f"--scale={p['scale']}")
    if p.get("lse"):
        args.append("--lse")
    if p.get("entropy"):
        args.append("--entropy")
    return args


def prepare(args):
    out = os.path.abspath(args.dir)
    bundles = os.path.join(out, "bundles")
    os.makedirs(bundles, exist_ok=True)
    problems = {name: c["problem"] for name, c in CONFORMANCE.items()}
    problems.update({"bench_" + name: p for name, p in BENCH.items()})
    for i, (name, p) in enumerate(sorted(problems.items())):
        path = os.path.join(bundles, name + ".attnb")
        cmd = [args.attnc, "--target=cuda", f"--arch={args.arch}", "--emit=bundle", "-o", path]
        subprocess.run(cmd + attnc_args(p), check=True)
        print(f"[{i + 1}/{len(problems)}] {name}: {os.path.getsize(path)} bytes", flush=True)
    for kind, causal in SWEEP_PROBLEMS.items():
        for config in SWEEP_CONFIGS:
            name = sweep_name(kind, config)
            source = os.path.join(bundles, name + ".mlir")
            with open(source, "w") as f:
                f.write(sweep_mlir(causal, config))
            path = os.path.join(bundles, name + ".attnb")
            subprocess.run([args.attnc, source, "--target=cuda", f"--arch={args.arch}",
                            "--emit=bundle", "-o", path], check=True)
            os.remove(source)
    print(f"{len(SWEEP_PROBLEMS) * len(SWEEP_CONFIGS)} tile configurations for the sweep")
    shutil.copy(os.path.abspath(__file__), os.path.join(out, "gpu_check.py"))
    shutil.copy(args.runtime, os.path.join(out, "libattn_runtime.so"))
    src = os.path.join(out, "runtime-src")
    if os.path.exists(src):
        shutil.rmtree(src)
    shutil.copytree(args.runtime_source, os.path.join(src, "runtime"),
                    ignore=shutil.ignore_patterns("vulkan"))
    with open(os.path.join(src, "CMakeLists.txt"), "w") as f:
        f.write("cmake_minimum_required(VERSION 3.20)\n"
                "project(attn_runtime_only C CXX)\n"
                "set(CMAKE_CXX_STANDARD 17)\nset(CMAKE_BUILD_TYPE Release)\n"
                "set(ATTN_ENABLE_CUDA ON)\nset(ATTN_ENABLE_VULKAN OFF)\n"
                "add_subdirectory(runtime)\n")
    print(f"prepared {out}")


# ---- the GPU side ----------------------------------------------------------------------------

class CudaTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_uint64), ("strides", ctypes.c_int64 * 4)]


class CudaLaunchArgs(ctypes.Structure):
    _fields_ = [("struct_size", ctypes.c_size_t), ("batch", ctypes.c_int64),
                ("seq_q", ctypes.c_int64), ("seq_kv", ctypes.c_int64), ("q", CudaTensor),
                ("k", CudaTensor), ("v", CudaTensor), ("o", CudaTensor),
                ("lse", ctypes.c_uint64), ("entropy", ctypes.c_uint64),
                ("seqlens_q", ctypes.c_uint64), ("seqlens_kv", ctypes.c_uint64),
                ("stream", ctypes.c_void_p)]


class Runtime:
    def __init__(self, path):
        self.lib = ctypes.CDLL(path)
        L = self.lib
        L.attn_last_error.restype = ctypes.c_char_p
        L.attn_context_create.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)]
        L.attn_kernel_load_bundle_file.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                                   ctypes.POINTER(ctypes.c_void_p)]
        L.attn_kernel_destroy.argtypes = [ctypes.c_void_p]
        L.attn_kernel_launch_cuda.argtypes = [ctypes.c_void_p, ctypes.POINTER(CudaLaunchArgs)]
        L.attn_cuda_launch_args_init_sized.argtypes = [ctypes.POINTER(CudaLaunchArgs),
                                                       ctypes.c_size_t]
        self.context = ctypes.c_void_p()
        self.check(L.attn_context_create(None, ctypes.byref(self.context)), "context")

    def check(self, status, what):
        if status != 0:
            raise RuntimeError(f"{what}: status {status}: {self.lib.attn_last_error().decode()}")

    def load(self, path):
        kernel = ctypes.c_void_p()
        self.check(self.lib.attn_kernel_load_bundle_file(self.context, path.encode(),
                                                         ctypes.byref(kernel)), path)
        return kernel

    def launch(self, kernel, q, k, v, o, lse=None, entropy=None, seqlens_q=None,
               seqlens_kv=None, stream=None):
        import torch
        a = CudaLaunchArgs()
        self.check(self.lib.attn_cuda_launch_args_init_sized(ctypes.byref(a), ctypes.sizeof(a)),
                   "init")
        a.batch, a.seq_q, a.seq_kv = q.shape[0], q.shape[1], k.shape[1]
        for field, t in (("q", q), ("k", k), ("v", v), ("o", o)):
            ct = getattr(a, field)
            ct.data = t.data_ptr()
            for i, s in enumerate(t.stride()):
                ct.strides[i] = s
        ptr = lambda t: 0 if t is None else t.data_ptr()  # noqa: E731
        a.lse, a.entropy = ptr(lse), ptr(entropy)
        a.seqlens_q, a.seqlens_kv = ptr(seqlens_q), ptr(seqlens_kv)
        s = stream if stream is not None else torch.cuda.current_stream().cuda_stream
        a.stream = ctypes.c_void_p(s)
        self.check(self.lib.attn_kernel_launch_cuda(kernel, ctypes.byref(a)), "launch")


TOLERANCE = {"f32": 1e-5, "f16": 2e-3, "bf16": 1e-2}
STAT_TOLERANCE = {"f32": 1e-4, "f16": 1e-3, "bf16": 1e-3}


def torch_dtype(name):
    import torch
    return {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[name]


def reference(p, q, k, v, lens_q, lens_kv):
    """SPEC section 3 in float64 on the GPU: (o, lse, entropy); rows past Lq are 0 / -inf / 0."""
    import torch
    q, k, v = q.double(), k.double(), v.double()
    B, Sq, Hq, D = q.shape
    Skv, Hkv, Dv = k.shape[1], k.shape[2], v.shape[3]
    G = Hq // Hkv
    o = torch.zeros((B, Sq, Hq, Dv), dtype=torch.float64, device=q.device)
    lse = torch.full((B, Hq, Sq), -math.inf, dtype=torch.float64, device=q.device)
    ent = torch.zeros((B, Hq, Sq), dtype=torch.float64, device=q.device)
    for b in range(B):
        lq = Sq if lens_q is None else lens_q[b]
        lkv = Skv if lens_kv is None else lens_kv[b]
        if lq == 0 or lkv == 0:
            continue
        kk = k[b, :lkv].repeat_interleave(G, dim=1)  # [lkv, Hq, D]
        vv = v[b, :lkv].repeat_interleave(G, dim=1)
        qq = q[b, :lq]
        if p["variant"] == "linear":
            def phi(x):
                return torch.where(x > 0, x + 1, torch.exp(torch.clamp(x, max=0)))
            w = torch.einsum("ihd,jhd->hij", phi(qq * p.get("scale", 1.0)), phi(kk))
            if p.get("causal"):
                i = torch.arange(lq, device=q.device)[:, None] + (lkv - lq)
                j = torch.arange(lkv, device=q.device)[None, :]
                w = torch.where(j <= i, w, torch.zeros_like(w))
            numer = torch.einsum("hij,jhd->ihd", w, vv)
            o[b, :lq] = numer / (w.sum(-1).transpose(0, 1)[..., None] + 1e-6)
            continue
        scale = p.get("scale", 1.0 / math.sqrt(D))
        s = torch.einsum("ihd,jhd->hij", qq, kk) * scale
        if p.get("softcap"):
            s = p["softcap"] * torch.tanh(s / p["softcap"])
        i = torch.arange(lq, device=q.device)[:, None]
        j = torch.arange(lkv, device=q.device)[None, :]
        pos = i + (lkv - lq)
        left, right = p.get("window", (-1, -1))
        vis = torch.ones((lq, lkv), dtype=torch.bool, device=q.device)
        if left >= 0:
            vis &= (pos - j) <= left
        if right >= 0:
            vis &= (j - pos) <= right
        g = p.get("global_tokens", 0)
        vis = vis | (j < g) | (pos < g)
        if p.get("causal"):
            vis &= j <= pos
        s = s.masked_fill(~vis, -math.inf)
        has = vis.any(-1)  # [lq]
        m = torch.where(has, s.max(-1).values, torch.zeros_like(s[..., 0]))
        e = torch.where(vis, torch.exp(s - m[..., None]), torch.zeros_like(s))
        z = e.sum(-1)
        prob = e / torch.where(has, z, torch.ones_like(z))[..., None]
        o[b, :lq] = torch.einsum("hij,jhd->ihd", prob, vv)
        lse[b, :, :lq] = torch.where(has, m + torch.log(torch.where(has, z, torch.ones_like(z))),
                                     torch.full_like(z, -math.inf))
        plogp = torch.where(prob > 0, prob * torch.log(torch.where(prob > 0, prob,
                                                                   torch.ones_like(prob))),
                            torch.zeros_like(prob))
        ent[b, :, :lq] = -plogp.sum(-1)
    return o, lse, ent


def conformance(rt, bundles, results):
    import torch
    failures = 0
    for name, case in sorted(CONFORMANCE.items()):
        p = case["problem"]
        kernel = rt.load(os.path.join(bundles, name + ".attnb"))
        dt = torch_dtype(p["dtype"])
        dv = p.get("head_dim_v", p["head_dim"])
        for n, shape in enumerate(case["shapes"]):
            for seed in (7, 2027):
                g = torch.Generator(device="cuda").manual_seed(seed + 31 * n)
                B, Sq, Skv = shape["B"], shape["Sq"], shape["Skv"]
                q = torch.randn((B, Sq, p["heads_q"], p["head_dim"]), generator=g,
                                device="cuda").to(dt)
                k = torch.randn((B, Skv, p["heads_kv"], p["head_dim"]), generator=g,
                                device="cuda").to(dt)
                v = torch.randn((B, Skv, p["heads_kv"], dv), generator=g, device="cuda").to(dt)
                o = torch.full((B, Sq, p["heads_q"], dv), float("nan"), device="cuda", dtype=dt)
                stats = (B, p["heads_q"], Sq)
                lse = torch.full(stats, float("nan"), device="cuda") if p.get("lse") else None
                ent = torch.full(stats, float("nan"), device="cuda") if p.get("entropy") else None
                lens_q, lens_kv = shape.get("seqlens_q"), shape.get("seqlens_kv")
                as_dev = lambda x: None if x is None else torch.tensor(  # noqa: E731
                    x, dtype=torch.int32, device="cuda")
                message = "ok"
                try:
                    rt.launch(kernel, q, k, v, o, lse, ent, as_dev(lens_q), as_dev(lens_kv))
                    torch.cuda.synchronize()
                    want_o, want_lse, want_ent = reference(p, q, k, v, lens_q, lens_kv)
                    rows = torch.ones((B, Sq), dtype=torch.bool, device="cuda")
                    if lens_q is not None:
                        for b, lq in enumerate(lens_q):
                            rows[b, lq:] = False
                    got = torch.where(rows[..., None, None], o.double(), want_o)
                    assert torch.isfinite(got).all(), "O has NaN/Inf (poison left?)"
                    err = ((got - want_o).norm() / max(want_o.norm().item(), 1e-30)).item()
                    assert err <= TOLERANCE[p["dtype"]], f"relative error {err:.3g}"
                    for stat, want in ((lse, want_lse), (ent, want_ent)):
                        if stat is None:
                            continue
                        mask = rows[:, None, :].expand_as(want)
                        got_s, want_s = stat.double()[mask], want[mask]
                        inf = torch.isneginf(want_s)
                        assert torch.equal(torch.isneginf(got_s), inf), "-inf rows differ"
                        diff = (got_s[~inf] - want_s[~inf]).abs()
                        tol = STAT_TOLERANCE[p["dtype"]] * (1 + want_s[~inf].abs())
                        assert bool((diff <= tol).all()), f"stat error {diff.max().item():.3g}"
                    message = f"ok (relative error {err:.2e})"
                except (AssertionError, RuntimeError) as error:
                    failures += 1
                    message = f"FAIL: {error}"
                label = f"{name} B={B} Sq={Sq} Skv={Skv} seed={seed}"
                print(f"  {label}: {message}", flush=True)
                results["conformance"].append({"case": label, "result": message})
        rt.lib.attn_kernel_destroy(kernel)
    return failures


def timed(fn, reps=20, warmup=3, inner=1):
    """Median milliseconds of fn over reps, CUDA-event timed (each sample `inner` calls in a row,
    so that short kernels are not timed as launch overhead)."""
    import torch
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(inner):
            fn()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / inner)
    times.sort()
    return times[len(times) // 2]


def benchmarks(rt, bundles, results, seqs, flex_all=False):
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    try:
        from torch.nn.attention.flex_attention import create_block_mask, flex_attention
        flex = torch.compile(flex_attention)
    except Exception as error:  # pragma: no cover - older torch
        flex, create_block_mask = None, None
        print(f"  (no FlexAttention: {error})")
    for name, p in sorted(BENCH.items()):
        kernel = rt.load(os.path.join(bundles, "bench_" + name + ".attnb"))
        dt = torch_dtype(p["dtype"])
        H, Hkv, D = p["heads_q"], p["heads_kv"], p["head_dim"]
        if name.startswith("decode"):
            for kv in (4096, 16384, 65536):
                B = 8
                q = torch.randn((B, 1, H, D), device="cuda", dtype=dt)
                k = torch.randn((B, kv, Hkv, D), device="cuda", dtype=dt)
                v = torch.randn((B, kv, Hkv, D), device="cuda", dtype=dt)
                o = torch.empty_like(q)
                ms = timed(lambda: rt.launch(kernel, q, k, v, o), inner=10)
                buf = torch.empty(2 * k.numel(), device="cuda", dtype=dt)
                dst = torch.empty_like(buf)
                copy_ms = timed(lambda: dst.copy_(buf), inner=10)
                nbytes = 2 * k.numel() * k.element_size()
                gbs, copy_gbs = nbytes / ms / 1e6, 2 * nbytes / copy_ms / 1e6  # copy reads+writes
                line = (f"{name} B={B} KV={kv}: {gbs:.0f} GB/s read of K/V; device copy "
                        f"{copy_gbs:.0f} GB/s (read+write); ratio {gbs / copy_gbs:.2f}")
                print("  " + line, flush=True)
                results["bench"].append({"case": f"{name} KV={kv}", "attnc_GBps": gbs,
                                         "copy_GBps": copy_gbs, "ratio": gbs / copy_gbs})
            continue
        for S in seqs:
            B = max(1, 16384 // S)
            q = torch.randn((B, S, H, D), device="cuda", dtype=dt)
            k = torch.randn((B, S, Hkv, D), device="cuda", dtype=dt)
            v = torch.randn((B, S, Hkv, D), device="cuda", dtype=dt)
            o = torch.empty_like(q)
            causal, window = p.get("causal", False), p.get("window")
            if window:
                pairs = sum(min(i, window[0]) + 1 for i in range(S))
            else:
                pairs = S * (S + 1) / 2 if causal else S * S
            flops = 4 * B * H * D * pairs
            ms = timed(lambda: rt.launch(kernel, q, k, v, o))
            row = {"case": f"{name} S={S}", "attnc_TFLOPs": flops / ms / 1e9}
            qt, kt, vt = (x.transpose(1, 2) for x in (q, k, v))
            refs = {}
            if not window:
                for backend, label in ((SDPBackend.FLASH_ATTENTION, "sdpa_flash"),
                                       (SDPBackend.CUDNN_ATTENTION, "sdpa_cudnn")):
                    try:
                        with sdpa_kernel(backend):
                            refs[label] = timed(lambda: F.scaled_dot_product_attention(
                                qt, kt, vt, is_causal=causal))
                    except Exception as error:
                        print(f"  ({label} unavailable: {str(error).splitlines()[0][:80]})")
            # FlexAttention compiles per shape (tens of seconds each): the window at every length,
            # the headline cases at 8k, unless --flex=all.
            headline = name in ("dense_bf16_d128", "causal_bf16_d128") and S == 8192
            if flex is not None and (window or headline or flex_all):
                try:
                    def mask(b, h, qi, kv):
                        ok = qi >= kv if causal else qi >= 0
                        return ok & (qi - kv <= window[0]) if window else ok
                    block = create_block_mask(mask, None, None, S, S, device="cuda")
                    refs["flex"] = timed(lambda: flex(qt, kt, vt, block_mask=block))
                except Exception as error:
                    print(f"  (FlexAttention failed: {str(error).splitlines()[0][:80]})")
            text = [f"attnc {row['attnc_TFLOPs']:.0f} TFLOP/s"]
            for label, ref_ms in refs.items():
                row[label + "_TFLOPs"] = flops / ref_ms / 1e9
                text.append(f"{label} {flops / ref_ms / 1e9:.0f} (ratio {ref_ms / ms:.2f})")
            if refs:
                row["ratio_vs_best"] = min(refs.values()) / ms
            print(f"  {name} S={S} B={B}: " + ", ".join(text), flush=True)
            results["bench"].append(row)
        rt.lib.attn_kernel_destroy(kernel)


def sweep(rt, bundles, results):
    """The tensor-core prefill's tile configurations against the heuristic's (the first)."""
    import torch
    S, B, H, D = 8192, 2, 16, 128
    q, k, v = (torch.randn((B, S, H, D), device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.empty_like(q)
    for kind, causal in SWEEP_PROBLEMS.items():
        flops = 4 * B * H * D * (S * (S + 1) / 2 if causal else S * S)
        base = None
        for config in SWEEP_CONFIGS:
            kernel = rt.load(os.path.join(bundles, sweep_name(kind, config) + ".attnb"))
            try:
                ms = timed(lambda: rt.launch(kernel, q, k, v, o))
            except RuntimeError as error:
                print(f"  {kind} {config}: {error}")
                continue
            finally:
                rt.lib.attn_kernel_destroy(kernel)
            base = base or ms
            tf = flops / ms / 1e9
            print(f"  {kind} bf16 D=128 S=8k (warps, block_n, stages) = {config}: {tf:.0f} "
                  f"TFLOP/s, {base / ms:.2f} of the heuristic's", flush=True)
            results["sweep"].append({"case": kind, "config": config, "TFLOPs": tf,
                                     "vs_heuristic": base / ms})


def run(args):
    import torch
    here = os.path.abspath(args.dir)
    runtime = os.path.join(here, "libattn_runtime.so")
    try:
        rt = Runtime(runtime)
    except OSError as error:
        print(f"the carried runtime does not load ({error}); building it here")
        build = os.path.join(args.out or here, "runtime-build")
        subprocess.run(["cmake", "-S", os.path.join(here, "runtime-src"), "-B", build, "-G",
                        "Ninja"], check=True)
        subprocess.run(["cmake", "--build", build, "--target", "attn_runtime"], check=True)
        rt = Runtime(os.path.join(build, "lib", "libattn_runtime.so"))
    props = torch.cuda.get_device_properties(0)
    print(f"GPU: {props.name}, sm_{props.major}{props.minor}, torch {torch.__version__}")
    results = {"gpu": props.name, "torch": torch.__version__, "conformance": [], "bench": [],
               "sweep": []}
    bundles = os.path.join(here, "bundles")
    failures = 0
    if not args.bench_only:
        print("conformance (float64 reference, poisoned outputs, fresh inputs):")
        failures = conformance(rt, bundles, results)
        print(f"conformance: {failures} failure(s)")
    if not args.conformance_only:
        print("benchmarks (median of 20, CUDA events; ratios against references in this run):")
        try:
            benchmarks(rt, bundles, results, [int(s) for s in args.seqs.split(",")],
                       flex_all=args.flex == "all")
            print("tile configurations (same run):")
            sweep(rt, bundles, results)
        except RuntimeError as error:
            print(f"benchmarks stopped: {error}")
            failures += 1
    out = args.out or here
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "gpu-check.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 1 if failures else 0


def selftest(args):
    """Here, without a GPU: the ctypes layouts are the C API's, and a bundle of the check loads up
    to the missing driver (ATTN_STATUS_UNSUPPORTED naming it) or, with a GPU, loads."""
    import tempfile
    rt = Runtime(args.runtime)
    a = CudaLaunchArgs()
    rt.check(rt.lib.attn_cuda_launch_args_init_sized(ctypes.byref(a), ctypes.sizeof(a)), "init")
    assert a.struct_size == ctypes.sizeof(a), (a.struct_size, ctypes.sizeof(a))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "k.attnb")
        p = CONFORMANCE["dense_bf16_d128"]["problem"]
        subprocess.run([args.attnc, "--target=cuda", "--arch=sm_90a", "--emit=bundle", "-o", path]
                       + attnc_args(p), check=True)
        try:
            kernel = rt.load(path)
            rt.lib.attn_kernel_destroy(kernel)
            print("selftest: the bundle loaded (a CUDA GPU is here)")
        except RuntimeError as error:
            assert "status 2" in str(error) and "CUDA" in str(error), str(error)
            print(f"selftest: the bundle stops at the missing driver: {error}")
    print(f"selftest: ok ({len(CONFORMANCE)} conformance problems, {len(BENCH)} benchmarks)")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare")
    prep.add_argument("dir")
    prep.add_argument("--arch", default="sm_90a")
    prep.add_argument("--attnc", required=True)
    prep.add_argument("--runtime", required=True, help="libattn_runtime.so to carry")
    prep.add_argument("--runtime-source", required=True, help="the runtime/ directory")
    test = sub.add_parser("selftest")
    test.add_argument("--attnc", required=True)
    test.add_argument("--runtime", required=True)
    go = sub.add_parser("run")
    go.add_argument("dir")
    go.add_argument("--out", default=None)
    go.add_argument("--seqs", default="1024,2048,4096,8192,16384")
    go.add_argument("--flex", choices=("some", "all"), default="some",
                    help="FlexAttention beside every case (all), or the window and the 8k "
                         "headline cases only (some: each shape compiles for tens of seconds)")
    go.add_argument("--bench-only", action="store_true")
    go.add_argument("--conformance-only", action="store_true")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args)
        return 0
    if args.command == "selftest":
        return selftest(args)
    try:
        import torch
    except ImportError:
        print("gpu_check.py run needs torch with CUDA")
        return 2
    if not torch.cuda.is_available():
        print("no CUDA GPU visible to torch: nothing to check here")
        return 2
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
