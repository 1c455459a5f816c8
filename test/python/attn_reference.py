"""float64 numpy references for the attn tests (SPEC section 3), independent of attnc."""

import math

import numpy as np

try:
    import ml_dtypes

    BF16 = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    BF16 = None

# SPEC section 4: relative Frobenius error bounds on O; statistics get an absolute/relative bound.
TOLERANCE = {"float32": 1e-5, "float16": 2e-3, "bfloat16": 1e-2}
STAT_TOLERANCE = {"float32": 1e-4, "float16": 1e-3, "bfloat16": 1e-3}


def np_dtype(name):
    return BF16 if name == "bfloat16" else np.dtype(name)


def random(rng, shape, dtype="float32", scale=1.0):
    """Fresh random values (never zeros) rounded to dtype."""
    return (rng.standard_normal(shape) * scale).astype(np_dtype(dtype))


def f64(x):
    return np.asarray(x).astype(np.float64)


def rel_error(got, want):
    got, want = f64(got), f64(want)
    assert np.all(np.isfinite(got)), "output has NaN/Inf"
    norm = np.linalg.norm(want)
    return np.linalg.norm(got - want) / (norm if norm > 0 else 1.0)


def assert_close(got, want, dtype):
    err = rel_error(got, want)
    assert err <= TOLERANCE[dtype], f"relative error {err:.3g} exceeds {TOLERANCE[dtype]}"


def assert_stat_close(got, want, dtype):
    got, want = f64(got), f64(want)
    assert got.shape == want.shape
    inf = np.isneginf(want)
    assert np.array_equal(np.isneginf(got), inf), "-inf rows differ"
    assert not np.any(np.isnan(got))
    tol = STAT_TOLERANCE[dtype]
    diff = np.abs(got[~inf] - want[~inf])
    assert np.all(diff <= tol * (1 + np.abs(want[~inf]))), f"max stat error {diff.max():.3g}"


def _lengths(lens, b, full):
    return full if lens is None else int(lens[b])


def attention(q, k, v, *, scale=None, causal=False, window=(-1, -1), global_tokens=0,
              softcap=0.0, seqlens_q=None, seqlens_kv=None, alibi_slopes=None, sinks=None):
    """Returns (o [B, Sq, Hq, Dv], lse [B, Hq, Sq], entropy [B, Hq, Sq]) in float64; rows past a
    batch's query length are 0 / -inf / 0. alibi_slopes / sinks: per-head ALiBi slopes and sink
    logits (SPEC §3)."""
    q, k, v = f64(q), f64(k), f64(v)
    B, Sq, Hq, D = q.shape
    Skv, Hkv, Dv = k.shape[1], k.shape[2], v.shape[3]
    scale = 1.0 / math.sqrt(D) if scale is None else scale
    o = np.zeros((B, Sq, Hq, Dv))
    lse = np.full((B, Hq, Sq), -np.inf)
    ent = np.zeros((B, Hq, Sq))
    left, right = window
    for b in range(B):
        lq, lkv = _lengths(seqlens_q, b, Sq), _lengths(seqlens_kv, b, Skv)
        if lq == 0:
            continue
        if lkv == 0:
            if sinks is not None:  # a row with no key: LSE is the sink
                lse[b, :, :lq] = f64(sinks)[:, None]
            continue
        i = np.arange(lq)[:, None]
        j = np.arange(lkv)[None, :]
        pos = i + (lkv - lq)
        band = np.ones((lq, lkv), bool)
        # Distances, not shifted positions: pos + right would wrap in int64 for huge bounds.
        if left >= 0:
            band &= (pos - j) <= left
        if right >= 0:
            band &= (j - pos) <= right
        vis = band | (j < global_tokens) | (pos < global_tokens)
        if causal:
            vis &= j <= pos
        has = vis.any(axis=1)
        for h in range(Hq):
            g = h // (Hq // Hkv)
            s = scale * q[b, :lq, h] @ k[b, :lkv, g].T
            if softcap > 0:
                s = softcap * np.tanh(s / softcap)
            if alibi_slopes is not None:
                s = s - float(alibi_slopes[h]) * np.abs(pos - j)
            s = np.where(vis, s, -np.inf)
            sink = -np.inf if sinks is None else float(sinks[h])
            m = np.maximum(np.where(has, s.max(axis=1), -np.inf), sink)
            m = np.where(np.isfinite(m), m, 0.0)
            e = np.where(vis, np.exp(s - m[:, None]), 0.0)
            w = np.exp(sink - m)  # the sink's share of the denominator (0 without one)
            z = e.sum(axis=1) + w
            seen = z > 0
            zs = np.where(seen, z, 1.0)
            p = e / zs[:, None]
            o[b, :lq, h] = p @ v[b, :lkv, g]
            lse[b, h, :lq] = np.where(seen, m + np.log(zs), -np.inf)
            ps = w / zs
            with np.errstate(divide="ignore", invalid="ignore"):
                ent[b, h, :lq] = (-np.where(p > 0, p * np.log(p), 0.0).sum(axis=1) -
                                  np.where(ps > 0, ps * np.log(ps), 0.0))
    return o, lse, ent


def _phi(name, x):
    if name == "elu_plus_one":
        return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))
    if name == "relu":
        return np.maximum(x, 0.0)
    return x


def linear_attention(q, k, v, *, feature_map="elu_plus_one", causal=False, normalize=True,
                     scale=1.0, seqlens_q=None, seqlens_kv=None, eps=1e-6):
    q, k, v = f64(q), f64(k), f64(v)
    B, Sq, Hq, D = q.shape
    Skv, Hkv, Dv = k.shape[1], k.shape[2], v.shape[3]
    o = np.zeros((B, Sq, Hq, Dv))
    for b in range(B):
        lq, lkv = _lengths(seqlens_q, b, Sq), _lengths(seqlens_kv, b, Skv)
        pos = np.arange(lq)[:, None] + (lkv - lq)
        mask = (np.arange(lkv)[None, :] <= pos) if causal else np.ones((lq, lkv), bool)
        for h in range(Hq):
            g = h // (Hq // Hkv)
            w = _phi(feature_map, scale * q[b, :lq, h]) @ _phi(feature_map, k[b, :lkv, g]).T
            w = np.where(mask, w, 0.0)
            numer = w @ v[b, :lkv, g]
            o[b, :lq, h] = numer / (w.sum(axis=1)[:, None] + eps) if normalize else numer
    return o
