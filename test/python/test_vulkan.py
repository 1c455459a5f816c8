"""target="vulkan": the functional API and attn.compile on the Vulkan backend (lavapipe in CI)
against the float64 reference. Skips when the machine has no Vulkan device, unless
ATTN_REQUIRE_VULKAN=1 (scripts/test.sh sets it)."""

import os
import subprocess

import numpy as np
import pytest

import attn
import attn_reference as ref
from test_attention import VARIANTS, run_case


def _vulkan_unavailable():
    try:
        attn.compile(heads_q=1, head_dim=64, target="vulkan")
    except attn.AttnError as error:
        if "Vulkan" in str(error):
            return str(error)
        raise
    return None


_UNAVAILABLE = _vulkan_unavailable()
if _UNAVAILABLE and os.environ.get("ATTN_REQUIRE_VULKAN") == "1":
    raise RuntimeError(f"ATTN_REQUIRE_VULKAN=1, but: {_UNAVAILABLE}")
pytestmark = pytest.mark.skipif(_UNAVAILABLE is not None, reason=str(_UNAVAILABLE))

SOFTMAX = sorted(VARIANTS)


@pytest.mark.parametrize("name", SOFTMAX)
def test_variant_f32(name):
    run_case(target="vulkan", **VARIANTS[name])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["dense", "window_globals", "varlen", "decode"])
def test_variant_half(dtype, name):
    run_case(dtype=dtype, target="vulkan", **VARIANTS[name])


def test_compiled_kernel_reused():
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=64, causal=True, dtype="float16",
                          return_lse=True, target="vulkan")
    assert kernel.target == "vulkan"
    rng = np.random.default_rng(5)
    for sq, skv in [(9, 40), (1, 1500)]:  # prefill, then decode (split-KV + merge)
        q = ref.random(rng, (1, sq, 4, 64), "float16")
        k = ref.random(rng, (1, skv, 2, 64), "float16")
        v = ref.random(rng, (1, skv, 2, 64), "float16")
        o, lse = kernel(q, k, v)
        want_o, want_lse, _ = ref.attention(q, k, v, causal=True)
        ref.assert_close(o, want_o, "float16")
        ref.assert_stat_close(lse, want_lse, "float16")


def test_device_info_is_the_kernels_device():
    info = attn.device_info("vulkan")
    assert info["name"] and info["subgroup_size"] >= 4 and info["max_shared_bytes"] >= 16384
    kernel = attn.compile(heads_q=2, head_dim=32, target="vulkan")
    assert kernel.config["vector_width"] == info["subgroup_size"]


def test_same_result_as_cpu():
    rng = np.random.default_rng(9)
    q = ref.random(rng, (2, 33, 8, 128), "float32")
    k = ref.random(rng, (2, 70, 2, 128), "float32")
    v = ref.random(rng, (2, 70, 2, 128), "float32")
    cpu = attn.attention(q, k, v, causal=True)
    gpu = attn.attention(q, k, v, causal=True, target="vulkan")
    assert ref.rel_error(gpu, cpu) < 1e-5


@pytest.mark.parametrize("kw", [{"causal": True}, {"causal": False},
                                {"causal": True, "feature_map": "relu", "normalize": False}])
def test_linear(kw):
    rng = np.random.default_rng(3)
    q = ref.random(rng, (2, 45, 4, 64), "float32")
    k = ref.random(rng, (2, 60, 2, 64), "float32")
    v = ref.random(rng, (2, 60, 2, 32), "float32")
    o = attn.linear_attention(q, k, v, target="vulkan", **kw)
    ref.assert_close(o, ref.linear_attention(q, k, v, **kw), "float32")


def test_vulkan_bundle_loads_and_runs(tmp_path):
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    path = tmp_path / "vulkan.attnb"
    subprocess.run([attnc, "--target=vulkan", "--vulkan-device=lavapipe", "--heads-q=4",
                    "--heads-kv=2", "--head-dim=64", "--dtype=bf16", "--window=31,0", "--lse",
                    "--emit=bundle", "-o", str(path)], check=True)
    kernel = attn.load_bundle(path)
    # Normalized: a band ending at the diagonal is causal.
    assert (kernel.target, kernel.dtype, kernel.causal, kernel.window) == \
        ("vulkan", "bfloat16", True, (31, -1))
    rng = np.random.default_rng(11)
    q = ref.random(rng, (2, 20, 4, 64), "bfloat16")
    k = ref.random(rng, (2, 70, 2, 64), "bfloat16")
    v = ref.random(rng, (2, 70, 2, 64), "bfloat16")
    o, lse = kernel(q, k, v)
    want_o, want_lse, _ = ref.attention(q, k, v, window=(31, 0))
    ref.assert_close(o, want_o, "bfloat16")
    ref.assert_stat_close(lse, want_lse, "bfloat16")


def test_vulkan_packed_batch():
    """Packed rows (cu_seqlens) on the Vulkan backend: launched sequence by sequence."""
    from test_packed import pack, unpack, unpack_stat
    rng = np.random.default_rng(8)
    B, S, Hq, Hkv, D = 3, 24, 4, 2, 32
    lens_q = np.array([24, 5, 0], np.int32)
    lens_kv = np.array([24, 30, 3], np.int32)[:B]
    q = ref.random(rng, (B, S, Hq, D))
    k = ref.random(rng, (B, 30, Hkv, D))
    v = ref.random(rng, (B, 30, Hkv, D))
    qp, cu_q = pack(q, lens_q)
    kp, cu_kv = pack(k, lens_kv)
    vp, _ = pack(v, lens_kv)
    o, lse = attn.attention(qp, kp, vp, causal=True, return_lse=True, target="vulkan",
                            cu_seqlens_q=cu_q, cu_seqlens_kv=cu_kv)
    want_o, want_lse, _ = ref.attention(q, k, v, causal=True, seqlens_q=lens_q,
                                        seqlens_kv=lens_kv)
    ref.assert_close(unpack(o, cu_q, S), want_o, "float32")
    ref.assert_stat_close(unpack_stat(lse, cu_q, S), want_lse, "float32")


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_vulkan_alibi_and_sinks(dtype):
    """Per-head ALiBi slopes and sink logits on the Vulkan backend (its SIMT kernel), prefill and
    a split-KV decode, against the reference."""
    rng = np.random.default_rng(12)
    Hq, Hkv, D = 8, 2, 64
    slopes = rng.uniform(0.01, 0.5, Hq).astype(np.float32)
    sinks = rng.uniform(-2, 4, Hq).astype(np.float32)
    for Sq, Skv in ((40, 60), (1, 1500)):
        q = ref.random(rng, (2, Sq, Hq, D), dtype)
        k = ref.random(rng, (2, Skv, Hkv, D), dtype)
        v = ref.random(rng, (2, Skv, Hkv, D), dtype)
        o, lse = attn.attention(q, k, v, causal=True, return_lse=True, target="vulkan",
                                seqlens_kv=[Skv, 0], alibi_slopes=slopes, sinks=sinks)
        want_o, want_lse, _ = ref.attention(q, k, v, causal=True, seqlens_kv=[Skv, 0],
                                            alibi_slopes=slopes, sinks=sinks)
        ref.assert_close(o, want_o, dtype)
        ref.assert_stat_close(lse, want_lse, dtype)


@pytest.mark.parametrize("page", [1, 16])
def test_vulkan_paged_cache(page):
    """A paged KV cache on the Vulkan backend: decode (split-KV) and chunked prefill with packed
    queries, against the reference on the same keys, contiguous; the CPU kernel agrees."""
    from test_packed import pack, unpack
    from test_paged import paged_cache
    rng = np.random.default_rng(21)
    B, S, Hq, Hkv, D = 3, 300, 8, 2, 64
    lens = np.array([300, 17, 129], np.int32)
    k = ref.random(rng, (B, S, Hkv, D), "float16")
    v = ref.random(rng, (B, S, Hkv, D), "float16")
    kp, vp, table = paged_cache(rng, k, v, lens, page)
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype="float16", causal=True,
                          return_lse=True, page_size=page, target="vulkan")
    q = ref.random(rng, (B, 1, Hq, D), "float16")
    o, lse = kernel(q, kp, vp, block_table=table, seqlens_kv=lens)
    want_o, want_lse, _ = ref.attention(q, k, v, causal=True, seqlens_kv=lens)
    ref.assert_close(o, want_o, "float16")
    ref.assert_stat_close(lse, want_lse, "float16")
    cpu = attn.attention(q, kp, vp, causal=True, block_table=table, seqlens_kv=lens)
    ref.assert_close(o, cpu.astype(np.float64), "float16")
    # Chunked prefill: each sequence's last Lq keys' queries, packed.
    lens_q = np.array([20, 0, 9], np.int32)
    qs = ref.random(rng, (B, 20, Hq, D), "float16")
    qp, cu_q = pack(qs, lens_q)
    o = kernel(qp, kp, vp, block_table=table, seqlens_kv=lens, cu_seqlens_q=cu_q)[0]
    want_o, _, _ = ref.attention(qs, k, v, causal=True, seqlens_q=lens_q, seqlens_kv=lens)
    ref.assert_close(unpack(o, cu_q, 20), want_o, "float16")
