"""attn.merge: combine partial attention results by their LSE (SPEC section 3).

Runs the C API's attn_kernel_merge (attnc's merge kernel, compiled once per dtype, heads and Dv)
where the CPU kernels take the shape (Dv a multiple of 16); plain numpy with float32 math
otherwise.
"""

from __future__ import annotations

import sys
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


def _merge_with_kernel(o: np.ndarray, lse: np.ndarray):
    """(o, lse) from attn_kernel_merge, or None where its kernels do not take the shape."""
    from . import _api
    p, b, sq, hq, dv = o.shape
    name = _api._dtype_name(o.dtype)
    if name is None or dv % 16 or not 16 <= dv <= 512 or 0 in o.shape or o.strides[-1] != \
            o.itemsize or any(s < 0 for s in o.strides):
        return None
    try:
        kernel = _api.compile(heads_q=hq, heads_kv=hq, head_dim=dv, dtype=name)
    except (ValueError, _api._attn.AttnError):
        return None
    out = np.empty((b, sq, hq, dv), o.dtype)
    merged_lse = np.empty((b, hq, sq), np.float32)
    bits = (lambda x: x.view(np.uint16)) if name == "bfloat16" else (lambda x: x)  # noqa: E731
    kernel._kernel.merge(bits(o), np.ascontiguousarray(lse, dtype=np.float32), bits(out),
                         merged_lse)
    return out, merged_lse


def merge(o_parts: Union[Sequence[Any], np.ndarray],
          lse_parts: Union[Sequence[Any], np.ndarray]) -> Tuple[np.ndarray, np.ndarray]:
    """Merges P partial attention results over disjoint key sets (split-KV, or a sequence split
    across devices) into the result over all keys.

    o_parts: P arrays o_p [B, Sq, Hq, Dv] (a sequence, or one stacked [P, B, Sq, Hq, Dv] array);
    lse_parts: the matching float32 LSEs [B, Hq, Sq] (or stacked [P, B, Hq, Sq]), e.g. from
    ``attn.attention(..., return_lse=True)`` on each part of the keys.

    Returns ``(o, lse)`` with lse = log sum_p exp(lse_p) and o = sum_p exp(lse_p - lse) * o_p.
    A part with lse_p = -inf contributes nothing; a row where every part is -inf gets o = 0 and
    lse = -inf. o has the parts' dtype (float32 math inside); lse is float32. Runs attnc's merge
    kernel (attn_kernel_merge) on the CPU where it takes the shape, numpy otherwise; outputs are
    numpy arrays, or torch tensors for torch inputs (the custom op attnc::merge, which
    torch.compile traces).
    """
    torch = sys.modules.get("torch")
    first = o_parts[0] if isinstance(o_parts, (list, tuple)) and o_parts else o_parts
    if torch is not None and isinstance(first, torch.Tensor):
        from . import _torch
        return _torch.merge(o_parts, lse_parts)
    return _merge_arrays(_array(o_parts, "o_parts"), _array(lse_parts, "lse_parts"))


def _merge_arrays(o: np.ndarray, lse: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """merge() on numpy arrays: o [P, B, Sq, Hq, Dv], lse [P, B, Hq, Sq]."""
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
    merged = _merge_with_kernel(o, lse)
    if merged is not None:
        return merged
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
