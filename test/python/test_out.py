"""Preallocated outputs: out= / lse= / entropy= are written in place and returned as given."""

import numpy as np
import pytest

import attn
import attn_reference as ref


def test_out_lse_entropy_written_in_place():
    rng = np.random.default_rng(11)
    B, Sq, Skv, Hq, Hkv, D = 2, 9, 70, 4, 2, 64
    q = ref.random(rng, (B, Sq, Hq, D))
    k = ref.random(rng, (B, Skv, Hkv, D))
    v = ref.random(rng, (B, Skv, Hkv, D))
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, causal=True, return_lse=True,
                          return_entropy=True)
    # out as a BHSD buffer seen through BSHD strides; everything poisoned first.
    out_bhsd = np.full((B, Hq, Sq, D), np.nan, np.float32)
    out = out_bhsd.transpose(0, 2, 1, 3)
    lse = np.full((B, Hq, Sq), np.nan, np.float32)
    ent = np.full((B, Hq, Sq), np.nan, np.float32)
    lens_q = np.array([9, 4], np.int32)
    got = kernel(q, k, v, seqlens_q=lens_q, out=out, lse=lse, entropy=ent)
    assert got[0] is out and got[1] is lse and got[2] is ent
    want_o, want_lse, want_ent = ref.attention(q, k, v, causal=True, seqlens_q=lens_q)
    for b, n in enumerate(lens_q):
        ref.assert_close(out[b, :n], want_o[b, :n], "float32")
        ref.assert_stat_close(lse[b, :, :n], want_lse[b, :, :n], "float32")
        ref.assert_stat_close(ent[b, :, :n], want_ent[b, :, :n], "float32")
    # Rows past a batch's query length are left as they were.
    assert np.isnan(out[1, 4:]).all() and np.isnan(lse[1, :, 4:]).all()


def test_out_only_and_no_keys():
    rng = np.random.default_rng(12)
    q = ref.random(rng, (1, 3, 2, 32))
    k = ref.random(rng, (1, 0, 2, 32))
    kernel = attn.compile(heads_q=2, head_dim=32)
    out = np.full((1, 3, 2, 32), np.nan, np.float32)
    assert kernel(q, k, k, out=out) is out
    assert (out == 0).all()  # no keys: o = 0 (SPEC section 3)


def test_out_errors():
    rng = np.random.default_rng(13)
    q = ref.random(rng, (1, 3, 2, 32))
    kernel = attn.compile(heads_q=2, head_dim=32, return_lse=True)
    out = np.zeros((1, 3, 2, 32), np.float32)
    lse = np.zeros((1, 2, 3), np.float32)
    with pytest.raises(ValueError, match="pass lse= too"):
        kernel(q, q, q, out=out)
    with pytest.raises(ValueError, match="out= is missing"):
        kernel(q, q, q, lse=lse)
    with pytest.raises(ValueError, match=r"out must have shape \[1, 3, 2, 32\]"):
        kernel(q, q, q, out=np.zeros((1, 3, 2, 16), np.float32), lse=lse)
    with pytest.raises(TypeError, match="out has dtype float16"):
        kernel(q, q, q, out=out.astype(np.float16), lse=lse)
    frozen = out.copy()
    frozen.flags.writeable = False
    with pytest.raises(ValueError, match="out is read-only"):
        kernel(q, q, q, out=frozen, lse=lse)
    with pytest.raises(ValueError, match="lse must be a writable, C-contiguous float32"):
        kernel(q, q, q, out=out, lse=np.zeros((1, 3, 2), np.float32))
    with pytest.raises(ValueError, match="not compiled to return entropy"):
        kernel(q, q, q, out=out, lse=lse, entropy=lse)
