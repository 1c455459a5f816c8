"""attn.merge: split-KV results merged by LSE equal the whole; -inf parts."""

import numpy as np
import pytest

import attn
import attn_reference as ref


def test_merge_of_split_kv_equals_whole():
    rng = np.random.default_rng(7)
    B, Sq, Skv, Hq, Hkv, D = 2, 9, 90, 4, 2, 64
    q = ref.random(rng, (B, Sq, Hq, D))
    k = ref.random(rng, (B, Skv, Hkv, D))
    v = ref.random(rng, (B, Skv, Hkv, D))
    whole, whole_lse = attn.attention(q, k, v, return_lse=True)
    cuts = [0, 31, 32, 90]  # uneven parts, one of a single key
    os_, lses = [], []
    for a, b in zip(cuts[:-1], cuts[1:]):
        o, lse = attn.attention(q, k[:, a:b], v[:, a:b], return_lse=True)
        os_.append(o)
        lses.append(lse)
    o, lse = attn.merge(os_, lses)
    assert o.dtype == np.float32 and lse.dtype == np.float32
    want_o, want_lse, _ = ref.attention(q, k, v)
    ref.assert_close(o, want_o, "float32")
    ref.assert_stat_close(lse, want_lse, "float32")
    np.testing.assert_allclose(o, whole, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(lse, whole_lse, rtol=1e-5)
    # Stacked arrays work as well as sequences.
    o2, lse2 = attn.merge(np.stack(os_), np.stack(lses))
    np.testing.assert_array_equal(o2, o)
    np.testing.assert_array_equal(lse2, lse)


def test_merge_empty_parts_contribute_nothing():
    rng = np.random.default_rng(8)
    q = ref.random(rng, (2, 4, 2, 32))
    k = ref.random(rng, (2, 20, 2, 32))
    v = ref.random(rng, (2, 20, 2, 32))
    # Part 2 is empty for batch 1 (no keys: lse = -inf, o = 0).
    o1, l1 = attn.attention(q, k[:, :12], v[:, :12], return_lse=True)
    o2, l2 = attn.attention(q, k[:, 12:], v[:, 12:], return_lse=True, seqlens_kv=[8, 0])
    assert np.all(np.isneginf(l2[1]))
    garbage = o2.copy()
    garbage[1] = np.nan  # an -inf part's o must not be read
    o, lse = attn.merge([o1, garbage], [l1, l2])
    want_o, want_lse, _ = ref.attention(q, k, v, seqlens_kv=[20, 12])
    ref.assert_close(o, want_o, "float32")
    ref.assert_stat_close(lse, want_lse, "float32")


def test_merge_all_empty_rows():
    o_parts = np.ones((3, 1, 2, 2, 4), np.float32)
    lse_parts = np.full((3, 1, 2, 2), -np.inf, np.float32)
    lse_parts[1, 0, 0, 0] = 0.5
    o, lse = attn.merge(o_parts, lse_parts)
    assert lse[0, 0, 0] == pytest.approx(0.5)
    np.testing.assert_array_equal(o[0, 0, 0], np.ones(4, np.float32))
    assert np.all(np.isneginf(lse[0, 1])) and np.all(np.isneginf(lse[0, :, 1]))
    assert np.all(o[0, 1] == 0) and np.all(o[0, 0, 1] == 0)


def test_merge_keeps_dtype_and_checks_shapes():
    o_parts = np.ones((2, 1, 3, 2, 8), ref.np_dtype("float16"))
    lse_parts = np.zeros((2, 1, 2, 3), np.float32)
    o, lse = attn.merge(o_parts, lse_parts)
    assert o.dtype == np.float16
    np.testing.assert_allclose(lse, np.log(2), rtol=1e-6)
    with pytest.raises(ValueError, match="lse_parts"):
        attn.merge(o_parts, lse_parts[:, :, :, :2])
    with pytest.raises(ValueError):
        attn.merge(o_parts[0], lse_parts)
    with pytest.raises(TypeError):
        attn.merge("o", lse_parts)
