"""attn.attention against the float64 numpy reference: every softmax variant, dtypes, stats."""

import numpy as np
import pytest

import attn
import attn_reference as ref

SEED = 1234


def run_case(dtype="float32", B=2, Sq=37, Skv=53, Hq=4, Hkv=2, D=64, Dv=None, logit_scale=1.0,
             seed=SEED, stats=True, target="cpu", **kw):
    rng = np.random.default_rng(seed)
    Dv = D if Dv is None else Dv
    q = ref.random(rng, (B, Sq, Hq, D), dtype, logit_scale)
    k = ref.random(rng, (B, Skv, Hkv, D), dtype)
    v = ref.random(rng, (B, Skv, Hkv, Dv), dtype)
    o, lse, ent = attn.attention(q, k, v, return_lse=stats, return_entropy=stats, target=target,
                                 **kw) \
        if stats else (attn.attention(q, k, v, target=target, **kw), None, None)
    want_o, want_lse, want_ent = ref.attention(q, k, v, **kw)
    assert o.shape == (B, Sq, Hq, Dv)
    assert o.dtype == ref.np_dtype(dtype)
    ref.assert_close(o, want_o, dtype)
    if stats:
        assert lse.dtype == np.float32 and lse.shape == (B, Hq, Sq)
        assert ent.dtype == np.float32 and ent.shape == (B, Hq, Sq)
        ref.assert_stat_close(lse, want_lse, dtype)
        ref.assert_stat_close(ent, want_ent, dtype)
    return o, lse, ent


VARIANTS = {
    "dense": {},
    "causal": {"causal": True},
    "causal_sq_gt_skv": {"causal": True, "Sq": 61, "Skv": 40},
    "sliding_window": {"window": (8, 0)},
    "band": {"window": (5, 3)},
    "window_globals": {"causal": True, "window": (6, -1), "global_tokens": 4},
    "softcap": {"softcap": 5.0, "logit_scale": 4.0},
    "scale": {"scale": 0.3},
    "mqa_dv": {"Hq": 4, "Hkv": 1, "D": 32, "Dv": 80},
    "decode": {"Sq": 1, "Skv": 300, "Hq": 8, "Hkv": 2},
    "varlen": {"causal": True, "seqlens_q": [37, 20], "seqlens_kv": [53, 11]},
    # Bounds no sequence reaches mean unbounded (window=(-1, 2**63 - 1) once masked every key).
    "huge_window": {"window": (-1, 2**63 - 1)},
    "huge_window_globals": {"causal": True, "window": (2**62, -1), "global_tokens": 2**40},
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_f32(name):
    run_case(**VARIANTS[name])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["dense", "window_globals", "varlen"])
def test_variant_half(dtype, name):
    run_case(dtype=dtype, **VARIANTS[name])


def test_large_logits_stay_finite():
    o, lse, ent = run_case(logit_scale=100.0, causal=True)
    assert np.all(np.isfinite(lse)) and np.all(np.isfinite(ent))


def test_head_dim_96_odd_lengths():
    run_case(B=1, Sq=7, Skv=129, Hq=2, Hkv=2, D=96, stats=False)


def test_return_order():
    rng = np.random.default_rng(SEED)
    q, k, v = (ref.random(rng, (1, 5, 2, 32)) for _ in range(3))
    o = attn.attention(q, k, v)
    assert isinstance(o, np.ndarray)
    o2, lse = attn.attention(q, k, v, return_lse=True)
    o3, ent = attn.attention(q, k, v, return_entropy=True)
    o4, lse4, ent4 = attn.attention(q, k, v, return_lse=True, return_entropy=True)
    # Different kernels (with / without statistics) may round differently.
    for other in (o2, o3, o4):
        np.testing.assert_allclose(other, o, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lse, lse4, rtol=1e-5)
    np.testing.assert_allclose(ent, ent4, rtol=1e-4, atol=1e-5)
    # lse is positive-ish and entropy in [0, log 5]: they are not swapped.
    assert np.all(ent4 >= -1e-6) and np.all(ent4 <= np.log(5) + 1e-5)
    _, want_lse, _ = ref.attention(q, k, v)
    ref.assert_stat_close(lse, want_lse, "float32")


def test_varlen_padding_rows():
    o, lse, ent = run_case(seqlens_q=[10, 0], seqlens_kv=[53, 30])
    assert np.all(o[0, 10:] == 0) and np.all(o[1] == 0)
    assert np.all(np.isneginf(lse[0, :, 10:])) and np.all(np.isneginf(lse[1]))
    assert np.all(ent[0, :, 10:] == 0)


def test_no_visible_key_rows():
    # Causal with Sq > Skv: the first Sq - Skv rows see nothing: o = 0, lse = -inf, entropy = 0.
    o, lse, ent = run_case(causal=True, Sq=20, Skv=8, B=1)
    assert np.all(o[0, :12] == 0)
    assert np.all(np.isneginf(lse[0, :, :12]))
    assert np.all(ent[0, :, :12] == 0)
