"""attn.merge: combine partial attention results by their LSE (SPEC section 3), in numpy.

The C API has no merge entry point (attnc's merge kernel runs inside split-KV decode), so this is
plain numpy with float32 math.
"""

from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

import numpy as np


def _array(x: Any, name: str) -> np.ndarray:
    if isinstance(x, np.ndarray):
        return x
    if hasattr(x, "__dlpack__"):
        return np.from_dlpack(x)
    if isinstance(x, (list, tuple)):
        return np.stack([_array(p, name) for p in x])
    raise TypeError(f"{name} must be a numpy array, a DLPack tensor or a sequence of them, "
                    f"got {type(x).__name__}")


def merge(o_parts: Union[Sequence[Any], np.ndarray],
          lse_parts: Union[Sequence[Any], np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Merges P partial attention results over disjoint key sets (split-KV, or a sequence split
    across devices) into the result over all keys.

    o_parts: P arrays o_p [B, Sq, Hq, Dv] (a sequence, or one stacked [P, B, Sq, Hq, Dv] array);
    lse_parts: the matching float32 LSEs [B, Hq, Sq] (or stacked [P, B, Hq, Sq]), e.g. from
    ``attn.attention(..., return_lse=True)`` on each part of the keys.

    Returns ``(o, lse)`` with lse = log sum_p exp(lse_p) and o = sum_p exp(lse_p - lse) * o_p.
    A part with lse_p = -inf contributes nothing; a row where every part is -inf gets o = 0 and
    lse = -inf. o has the parts' dtype (float32 math inside); lse is float32. Implemented in numpy
    (the C API has no merge entry point); outputs are numpy arrays.
    """
    o = _array(o_parts, "o_parts")
    lse = _array(lse_parts, "lse_parts")
    if o.ndim != 5:
        raise ValueError(f"o_parts must be P arrays [B, Sq, Hq, Dv] (stacked: 5 dims), got "
                         f"shape {o.shape}")
    if lse.ndim != 4:
        raise ValueError(f"lse_parts must be P arrays [B, Hq, Sq] (stacked: 4 dims), got "
                         f"shape {lse.shape}")
    p, b, sq, hq, _ = o.shape
    if lse.shape != (p, b, hq, sq):
        raise ValueError(f"lse_parts must have shape [P, B, Hq, Sq] = {(p, b, hq, sq)} to match "
                         f"o_parts {o.shape}, got {lse.shape}")
    if p == 0:
        raise ValueError("merge needs at least one part")
    if not np.issubdtype(lse.dtype, np.floating):
        raise TypeError(f"lse_parts must be floating point, got {lse.dtype}")
    out_dtype = o.dtype
    lse32 = lse.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        peak = lse32.max(axis=0)                               # [B, Hq, Sq]
        finite = np.isfinite(peak)
        safe_peak = np.where(finite, peak, np.float32(0))
        # exp(-inf - finite) = 0: parts with lse = -inf drop out.
        w = np.where(np.isneginf(lse32), np.float32(0), np.exp(lse32 - safe_peak))
        total = w.sum(axis=0, dtype=np.float32)                # [B, Hq, Sq]
        merged_lse = np.where(finite, safe_peak + np.log(np.where(finite, total, 1)),
                              np.float32(-np.inf)).astype(np.float32)
        scale = np.where(finite, w / np.where(finite, total, 1), np.float32(0))  # [P, B, Hq, Sq]
    weights = np.transpose(scale, (0, 1, 3, 2))[..., None].astype(np.float32)  # [P, B, Sq, Hq, 1]
    # np.where, not a product: a part that contributes nothing may hold garbage (even NaN) in o.
    with np.errstate(invalid="ignore"):
        terms = np.where(weights > 0, weights * o.astype(np.float32), np.float32(0))
    merged = terms.sum(axis=0, dtype=np.float32)
    return merged.astype(out_dtype), merged_lse
