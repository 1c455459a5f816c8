"""Per-head ALiBi slopes and sink logits (SPEC §3) against the float64 reference: every call
path (attention(), a compiled Kernel's fast and general paths, paged, packed), the empty cases,
and the errors."""

import numpy as np
import pytest

import attn
import attn_reference as ref
from test_packed import pack, unpack, unpack_stat
from test_paged import paged_cache


def head_values(rng, heads):
    """ALiBi-sized slopes and sinks on both sides of the scores (float32, what the kernel
    reads)."""
    slopes = rng.uniform(0.01, 0.5, heads).astype(np.float32)
    sinks = rng.uniform(-2.0, 4.0, heads).astype(np.float32)
    return slopes, sinks


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
@pytest.mark.parametrize("Sq,Skv,causal,window", [(37, 80, True, (-1, -1)), (1, 700, False,
                                                                              (-1, -1)),
                                                  (50, 50, True, (15, -1))])
def test_alibi_sinks_match_reference(dtype, Sq, Skv, causal, window):
    if dtype == "bfloat16":
        pytest.importorskip("ml_dtypes")
    rng = np.random.default_rng(5)
    B, Hq, Hkv, D = 2, 8, 2, 64
    q = ref.random(rng, (B, Sq, Hq, D), dtype)
    k = ref.random(rng, (B, Skv, Hkv, D), dtype)
    v = ref.random(rng, (B, Skv, Hkv, D), dtype)
    slopes, sinks = head_values(rng, Hq)
    lens = np.array([Skv, Skv // 3], np.int32)
    o, lse = attn.attention(q, k, v, causal=causal, window=window, seqlens_kv=lens,
                            return_lse=True, alibi_slopes=slopes, sinks=sinks)
    want_o, want_lse, _ = ref.attention(q, k, v, causal=causal, window=window, seqlens_kv=lens,
                                        alibi_slopes=slopes, sinks=sinks)
    ref.assert_close(o, want_o, dtype)
    ref.assert_stat_close(lse, want_lse, dtype)
    # Each alone, through a compiled kernel (the fast path: numpy, no lengths).
    for use_alibi, use_sinks in ((True, False), (False, True)):
        kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype=dtype, causal=causal,
                              window=window, return_lse=True, return_entropy=True,
                              alibi=use_alibi, sinks=use_sinks)
        assert (kernel.alibi, kernel.sinks) == (use_alibi, use_sinks)
        given = dict(alibi_slopes=slopes if use_alibi else None,
                     sinks=sinks if use_sinks else None)
        o, lse, ent = kernel(q, k, v, **given)
        want_o, want_lse, want_ent = ref.attention(q, k, v, causal=causal, window=window,
                                                   **given)
        ref.assert_close(o, want_o, dtype)
        ref.assert_stat_close(lse, want_lse, dtype)
        ref.assert_stat_close(ent, want_ent, dtype)


def test_sinks_rows_without_keys():
    """A row that sees no key has o = 0, LSE = its head's sink and entropy 0 - with the kernel
    running (an empty sequence) and without it (no keys at all)."""
    rng = np.random.default_rng(9)
    Hq, D = 4, 32
    q = ref.random(rng, (2, 3, Hq, D))
    k = ref.random(rng, (2, 10, Hq, D))
    v = ref.random(rng, (2, 10, Hq, D))
    _, sinks = head_values(rng, Hq)
    kernel = attn.compile(heads_q=Hq, head_dim=D, return_lse=True, return_entropy=True,
                          sinks=True)
    o, lse, ent = kernel(q, k, v, seqlens_kv=[10, 0], sinks=sinks)
    assert np.all(o[1] == 0) and np.all(ent[1] == 0)
    np.testing.assert_array_equal(lse[1], np.broadcast_to(sinks[:, None], (Hq, 3)))
    want_o, want_lse, want_ent = ref.attention(q, k, v, seqlens_kv=[10, 0], sinks=sinks)
    ref.assert_close(o, want_o, "float32")
    ref.assert_stat_close(lse, want_lse, "float32")
    ref.assert_stat_close(ent, want_ent, "float32")
    o, lse, ent = kernel(q, k[:, :0], v[:, :0], sinks=sinks)
    assert np.all(o == 0) and np.all(ent == 0)
    np.testing.assert_array_equal(lse, np.broadcast_to(sinks[None, :, None], (2, Hq, 3)))
    # -inf is no sink for that head.
    sinks[0] = -np.inf
    o, lse, _ = kernel(q, k, v, sinks=sinks)
    want_o, want_lse, _ = ref.attention(q, k, v, sinks=sinks)
    ref.assert_close(o, want_o, "float32")
    ref.assert_stat_close(lse, want_lse, "float32")


def test_alibi_sinks_paged_and_packed():
    rng = np.random.default_rng(11)
    B, S, Hq, Hkv, D = 3, 200, 8, 2, 64
    q = ref.random(rng, (B, 5, Hq, D))
    k = ref.random(rng, (B, S, Hkv, D))
    v = ref.random(rng, (B, S, Hkv, D))
    slopes, sinks = head_values(rng, Hq)
    lens = np.array([200, 0, 77], np.int32)
    qlens = np.array([5, 2, 3], np.int32)
    want_o, want_lse, _ = ref.attention(q, k, v, causal=True, seqlens_q=qlens, seqlens_kv=lens,
                                        alibi_slopes=slopes, sinks=sinks)
    kp, vp, table = paged_cache(rng, k, v, lens, 16)
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, causal=True, return_lse=True,
                          page_size=16, alibi=True, sinks=True)
    o, lse = kernel(q, kp, vp, block_table=table, seqlens_q=qlens, seqlens_kv=lens,
                    alibi_slopes=slopes, sinks=sinks)
    for b in range(B):
        ref.assert_close(o[b, :qlens[b]], want_o[b, :qlens[b]], "float32")
        ref.assert_stat_close(lse[b, :, :qlens[b]], want_lse[b, :, :qlens[b]], "float32")
    # Packed queries and keys: the same sequences without padding.
    qp, cuq = pack(q, qlens)
    kpk, cukv = pack(k, lens)
    vpk, _ = pack(v, lens)
    o, lse = attn.attention(qp, kpk, vpk, causal=True, return_lse=True, cu_seqlens_q=cuq,
                            cu_seqlens_kv=cukv, alibi_slopes=slopes, sinks=sinks)
    o, lse = unpack(o, cuq, 5), unpack_stat(lse, cuq, 5)
    for b in range(B):
        ref.assert_close(o[b, :qlens[b]], want_o[b, :qlens[b]], "float32")
        ref.assert_stat_close(lse[b, :, :qlens[b]], want_lse[b, :, :qlens[b]], "float32")


def test_head_value_errors():
    rng = np.random.default_rng(2)
    q = ref.random(rng, (1, 4, 4, 32))
    slopes, sinks = head_values(rng, 4)
    plain = attn.compile(heads_q=4, head_dim=32)
    with pytest.raises(ValueError, match="not compiled for sinks"):
        plain(q, q, q, sinks=sinks)
    kernel = attn.compile(heads_q=4, head_dim=32, alibi=True, sinks=True)
    assert "alibi=True" in repr(kernel) and "sinks=True" in repr(kernel)
    with pytest.raises(ValueError, match="compiled with alibi=True: pass alibi_slopes"):
        kernel(q, q, q, sinks=sinks)
    with pytest.raises(ValueError, match=r"sinks must have shape \[Hq\] = \[4\]"):
        kernel(q, q, q, alibi_slopes=slopes, sinks=sinks[:3])
    bad = slopes.copy()
    bad[1] = np.nan
    with pytest.raises(ValueError, match=r"alibi_slopes\[1\] is nan, expected a finite value"):
        kernel(q, q, q, alibi_slopes=bad, sinks=sinks)
    with pytest.raises(ValueError, match="apply to softmax attention only"):
        attn.compile(heads_q=4, head_dim=32, variant="linear", sinks=True)
    with pytest.raises(TypeError, match="alibi must be a bool"):
        attn.compile(heads_q=4, head_dim=32, alibi="yes")
    with pytest.raises(attn.AttnError, match="UNSUPPORTED"):  # not on CUDA so far
        attn.compile(heads_q=4, head_dim=32, sinks=True, target="cuda")
