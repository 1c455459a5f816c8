"""Packed (ragged) batches (cu_seqlens, as flash_attn_varlen_func) against the float64 reference
on the same sequences padded."""

import numpy as np
import pytest

import attn
import attn_reference as ref
from test_paged import paged_cache


def pack(x, lens, spare=2):
    """The valid rows of a padded [B, S, H, D] array as [sum(lens) + spare, H, D] (spare rows
    NaN) and the offsets."""
    cu = np.concatenate([[0], np.cumsum(lens)]).astype(np.int32)
    out = np.full((cu[-1] + spare,) + x.shape[2:], np.nan, x.dtype)
    for b, n in enumerate(lens):
        out[cu[b]:cu[b + 1]] = x[b, :n]
    return out, cu


def unpack(x, cu, seq):
    """[T, H, D] rows back to a padded [B, seq, H, D] array (zeros past each length)."""
    out = np.zeros((len(cu) - 1, seq) + x.shape[1:], x.dtype)
    for b in range(len(cu) - 1):
        out[b, :cu[b + 1] - cu[b]] = x[cu[b]:cu[b + 1]]
    return out


def unpack_stat(x, cu, seq):
    """[Hq, T] statistics back to [B, Hq, seq]."""
    out = np.full((len(cu) - 1, x.shape[0], seq), -np.inf, np.float32)
    for b in range(len(cu) - 1):
        out[b, :, :cu[b + 1] - cu[b]] = x[:, cu[b]:cu[b + 1]]
    return out


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("causal", [False, True])
def test_packed_matches_reference(dtype, causal):
    rng = np.random.default_rng(11)
    B, Sq, Skv, Hq, Hkv, D = 4, 40, 70, 4, 2, 32
    lens_q = np.array([40, 0, 13, 1], np.int32)
    lens_kv = np.array([70, 9, 13, 0], np.int32)
    q = ref.random(rng, (B, Sq, Hq, D), dtype)
    k = ref.random(rng, (B, Skv, Hkv, D), dtype)
    v = ref.random(rng, (B, Skv, Hkv, D), dtype)
    qp, cu_q = pack(q, lens_q)
    kp, cu_kv = pack(k, lens_kv)
    vp, _ = pack(v, lens_kv)
    o, lse, ent = attn.attention(qp, kp, vp, causal=causal, cu_seqlens_q=cu_q,
                                 cu_seqlens_kv=cu_kv, return_lse=True, return_entropy=True)
    assert o.shape == (qp.shape[0], Hq, D) and lse.shape == (Hq, qp.shape[0])
    want_o, want_lse, want_ent = ref.attention(q, k, v, causal=causal, seqlens_q=lens_q,
                                               seqlens_kv=lens_kv)
    ref.assert_close(unpack(o, cu_q, Sq), want_o, dtype)
    ref.assert_stat_close(unpack_stat(lse, cu_q, Sq), want_lse, dtype)
    assert np.all(o[cu_q[-1]:] == 0), "spare rows past the last sequence were written"
    # The same kernel on padded q against the packed k / v, and on packed q against padded k / v.
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype=dtype, causal=causal)
    o2 = kernel(q, kp, vp, seqlens_q=lens_q, cu_seqlens_kv=cu_kv)
    ref.assert_close(o2 * (np.arange(Sq)[None, :, None, None] < lens_q[:, None, None, None]),
                     want_o, dtype)
    o3 = kernel(qp, k, v, cu_seqlens_q=cu_q, seqlens_kv=lens_kv)
    ref.assert_close(unpack(o3, cu_q, Sq), want_o, dtype)


def test_packed_out_and_paged_cache():
    """Preallocated outputs, and packed queries against a paged cache (chunked prefill)."""
    rng = np.random.default_rng(2)
    B, Sq, S, Hq, Hkv, D = 3, 20, 100, 8, 2, 64
    lens_q = np.array([20, 3, 0], np.int32)
    lens_kv = np.array([100, 3, 50], np.int32)
    q = ref.random(rng, (B, Sq, Hq, D))
    k = ref.random(rng, (B, S, Hkv, D))
    v = ref.random(rng, (B, S, Hkv, D))
    qp, cu_q = pack(q, lens_q)
    pages_k, pages_v, table = paged_cache(rng, k, v, lens_kv, 16)
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, causal=True, return_lse=True,
                          page_size=16)
    out = np.full((qp.shape[0], Hq, D), 7.0, np.float32)
    lse = np.full((Hq, qp.shape[0]), 7.0, np.float32)
    got = kernel(qp, pages_k, pages_v, cu_seqlens_q=cu_q, block_table=table, seqlens_kv=lens_kv,
                 out=out, lse=lse)
    assert got[0] is out and got[1] is lse
    want_o, want_lse, _ = ref.attention(q, k, v, causal=True, seqlens_q=lens_q,
                                        seqlens_kv=lens_kv)
    ref.assert_close(unpack(out, cu_q, Sq), want_o, "float32")
    ref.assert_stat_close(unpack_stat(lse, cu_q, Sq), want_lse, "float32")
    assert np.all(out[cu_q[-1]:] == 7.0) and np.all(lse[:, cu_q[-1]:] == 7.0)


def test_packed_linear():
    rng = np.random.default_rng(4)
    B, S, H, D = 3, 30, 2, 32
    lens = np.array([30, 7, 1], np.int32)
    q = ref.random(rng, (B, S, H, D))
    k = ref.random(rng, (B, S, H, D))
    v = ref.random(rng, (B, S, H, D))
    qp, cu = pack(q, lens)
    kp, _ = pack(k, lens)
    vp, _ = pack(v, lens)
    o = attn.linear_attention(qp, kp, vp, causal=True, cu_seqlens_q=cu, cu_seqlens_kv=cu)
    want = ref.linear_attention(q, k, v, causal=True, seqlens_q=lens, seqlens_kv=lens)
    ref.assert_close(unpack(o, cu, S), want, "float32")


def test_packed_errors():
    rng = np.random.default_rng(1)
    q = ref.random(rng, (10, 4, 32))
    k = ref.random(rng, (12, 2, 32))
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32)
    cu = np.array([0, 4, 10], np.int32)
    with pytest.raises(ValueError, match=r"cu_seqlens_q\[0\] must be 0"):
        kernel(q, k, k, cu_seqlens_q=[1, 4, 10], cu_seqlens_kv=[0, 6, 12])
    with pytest.raises(ValueError, match="must not decrease"):
        kernel(q, k, k, cu_seqlens_q=[0, 5, 4], cu_seqlens_kv=[0, 6, 12])
    with pytest.raises(ValueError, match="past the 10 packed rows"):
        kernel(q, k, k, cu_seqlens_q=[0, 4, 11], cu_seqlens_kv=[0, 6, 12])
    with pytest.raises(ValueError, match="same number of offsets"):
        kernel(q, k, k, cu_seqlens_q=cu, cu_seqlens_kv=[0, 12])
    with pytest.raises(ValueError, match="not both"):
        kernel(q, k, k, cu_seqlens_q=cu, cu_seqlens_kv=[0, 6, 12], seqlens_q=[4, 6])
    with pytest.raises(ValueError, match="3 dims"):
        kernel(q[None], k, k, cu_seqlens_q=cu, cu_seqlens_kv=[0, 6, 12])
    with pytest.raises(TypeError, match="integers"):
        kernel(q, k, k, cu_seqlens_q=np.array([0.0, 4, 10]), cu_seqlens_kv=[0, 6, 12])
    with pytest.raises(ValueError, match="batch"):
        kernel(ref.random(rng, (3, 5, 4, 32)), k, k, cu_seqlens_kv=[0, 6, 12])
    paged = attn.compile(heads_q=4, heads_kv=2, head_dim=32, page_size=4)
    with pytest.raises(ValueError, match="not cu_seqlens_kv"):
        paged(q, ref.random(rng, (3, 4, 2, 32)), ref.random(rng, (3, 4, 2, 32)),
              cu_seqlens_q=cu, cu_seqlens_kv=[0, 6, 12], block_table=[[0], [1]])
