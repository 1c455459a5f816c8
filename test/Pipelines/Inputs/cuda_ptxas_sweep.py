"""Lowers attention problems through attn-lower-to-cuda to PTX and has ptxas compile each (-v):
every configuration must be accepted, and the headline tensor-core prefills (f16/bf16, D = 64
and 128) must not spill. Prints one line per kernel with its registers and spill bytes.

usage: cuda_ptxas_sweep.py ATTN_OPT PTXAS ARCH WORKDIR
"""
import os
import re
import subprocess
import sys

attn_opt, ptxas, arch, work = sys.argv[1:5]
os.makedirs(work, exist_ok=True)


def problem(dtype, d, dv, attrs, extras):
    q = f"tensor<?x?x8x{d}x{dtype}>"
    k = f"tensor<?x?x2x{d}x{dtype}>"
    v = f"tensor<?x?x2x{dv}x{dtype}>"
    o = f"tensor<?x?x8x{dv}x{dtype}>"
    results = [o] + ["tensor<?x8x?xf32>"] * extras
    n = len(results)
    res = ", ".join(results)
    rets = ", ".join(f"%o#{i}" for i in range(n))
    return (f"func.func @attn(%q: {q}, %k: {k}, %v: {v}) -> ({res}) {{\n"
            f"  %o:{n} = attn.attention %q, %k, %v {attrs} : {q}, {k}, {v} -> {res}\n"
            f"  return {rets} : {res}\n}}\n")


def linear(dtype, d):
    t = f"tensor<?x?x4x{d}x{dtype}>"
    return (f"func.func @attn(%q: {t}, %k: {t}, %v: {t}) -> {t} {{\n"
            f"  %o = attn.linear_attention %q, %k, %v {{causal}} : {t}, {t}, {t} -> {t}\n"
            f"  return %o : {t}\n}}\n")


cases = []
for dtype in ("f16", "bf16"):
    for d in (32, 64, 80, 96, 128, 192, 256):
        cases.append((f"{dtype} D={d} causal", problem(dtype, d, d, "{causal}", 0),
                      d in (64, 128)))
    cases.append((f"{dtype} D=128 Dv=64 window", problem(dtype, 128, 64,
                                                          "{window = array<i64: 256, 0>}", 0), False))
    cases.append((f"{dtype} D=128 softcap+lse+entropy",
                  problem(dtype, 128, 128, "{causal, softcap = 30.0 : f64, return_lse, "
                                           "return_entropy}", 2), False))
cases.append(("f32 D=128 causal", problem("f32", 128, 128, "{causal}", 0), False))
cases.append(("f32 D=64 linear", linear("f32", 64), False))
cases.append(("f16 D=128 linear", linear("f16", 128), False))

failures = 0
for index, (name, text, headline) in enumerate(cases):
    src = os.path.join(work, f"p{index}.mlir")
    with open(src, "w") as f:
        f.write(text)
    lowered = subprocess.run([attn_opt, src, f"--attn-lower-to-cuda=arch={arch} format=isa"],
                             capture_output=True, text=True)
    if lowered.returncode != 0:
        print(f"FAIL {name}: attn-opt: {lowered.stderr.strip()[:400]}")
        failures += 1
        continue
    asm = re.search(r'assembly = "(.*?)"', lowered.stdout, re.S).group(1)
    asm = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), asm).rstrip("\0")
    ptx = os.path.join(work, f"p{index}.ptx")
    with open(ptx, "w") as f:
        f.write(asm)
    out = subprocess.run([ptxas, f"-arch={arch}", "-v", ptx, "-o", ptx + ".cubin"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        print(f"FAIL {name}: ptxas: {out.stderr.strip()[:400]}")
        failures += 1
        continue
    kernels = re.findall(r"Function properties for (\w+)\n\s*(\d+) bytes stack frame, (\d+) bytes "
                         r"spill stores.*?\n.*?Used (\d+) registers", out.stderr, re.S)
    for kernel, _, spills, regs in kernels:
        print(f"{name}: {kernel} {regs} registers, {spills} bytes spilled")
        if headline and kernel == "attn_main" and int(spills) != 0:
            print(f"FAIL {name}: the headline prefill spills")
            failures += 1
print(f"{len(cases)} problems, {failures} failures")
sys.exit(1 if failures else 0)
