"""attn.linear_attention against the float64 numpy reference."""

import numpy as np
import pytest

import attn
import attn_reference as ref


def run_case(dtype="float32", B=2, Sq=45, Skv=45, Hq=4, Hkv=2, D=32, Dv=None, seed=99, **kw):
    rng = np.random.default_rng(seed)
    Dv = D if Dv is None else Dv
    q = ref.random(rng, (B, Sq, Hq, D), dtype)
    k = ref.random(rng, (B, Skv, Hkv, D), dtype)
    v = ref.random(rng, (B, Skv, Hkv, Dv), dtype)
    o = attn.linear_attention(q, k, v, **kw)
    ref_kw = dict(kw)
    if ref_kw.get("scale") is None:
        ref_kw["scale"] = 1.0
    want = ref.linear_attention(q, k, v, **ref_kw)
    assert o.shape == (B, Sq, Hq, Dv) and o.dtype == ref.np_dtype(dtype)
    ref.assert_close(o, want, dtype)
    return o


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("feature_map,normalize", [
    ("elu_plus_one", True), ("relu", True), ("identity", False), ("elu_plus_one", False)])
def test_linear_f32(feature_map, normalize, causal):
    run_case(feature_map=feature_map, normalize=normalize, causal=causal)


def test_linear_long_causal_scan_and_scale():
    # Longer than one scan chunk (64), Dv != D, a scale on q.
    run_case(B=1, Sq=150, Skv=150, Hq=2, Hkv=1, D=32, Dv=64, causal=True, scale=0.5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_linear_half(dtype):
    run_case(dtype=dtype, causal=True)
