"""torch integration: attn.attention and attn.merge on torch tensors as torch.library custom ops
(``attnc::attention``, ``attnc::merge``) with fake (meta) implementations, so that torch.compile
traces them as single graph nodes (no DLPack inside the graph) and CUDA graphs capture them.

Imported only once torch is: attn itself never imports torch. Eager calls run the kernels as
before (host tensors through DLPack, CUDA tensors on torch's current stream). There is no
backward: inputs that require grad while grad mode is on are refused with a clear error.
"""

from __future__ import annotations

from typing import Any, List, Optional, Tuple

import torch
from torch import Tensor

from . import _api

_STAT = torch.float32


def _stat_shape(q: Tensor, packed_q: bool) -> Tuple[int, ...]:
    """LSE / entropy: [B, Hq, Sq], or [Hq, Tq] for packed queries."""
    if packed_q:
        return (q.shape[1], q.shape[0])
    return (q.shape[0], q.shape[2], q.shape[1])


def _out_shape(q: Tensor, v: Tensor) -> Tuple[int, ...]:
    return tuple(q.shape[:-1]) + (v.shape[-1],)


@torch.library.custom_op("attnc::attention", mutates_args=())
def _attention_op(q: Tensor, k: Tensor, v: Tensor, scale: float, causal: bool, window_left: int,
                  window_right: int, global_tokens: int, softcap: float, return_lse: bool,
                  return_entropy: bool, seqlens_q: Optional[Tensor],
                  seqlens_kv: Optional[Tensor], block_table: Optional[Tensor],
                  cu_seqlens_q: Optional[Tensor], cu_seqlens_kv: Optional[Tensor],
                  alibi_slopes: Optional[Tensor], sinks: Optional[Tensor]) -> List[Tensor]:
    """o, then lse and entropy when asked (a list, so the op has one schema for every form)."""
    target = "cuda" if q.is_cuda else "cpu"
    q, k, v = q.detach(), k.detach(), v.detach()  # forward-only (the wrapper refuses grad)
    result = _api._attention_impl(
        q, k, v, scale=None if scale == 0 else scale, causal=causal,
        window=(window_left, window_right), global_tokens=global_tokens, softcap=softcap,
        seqlens_q=seqlens_q, seqlens_kv=seqlens_kv, return_lse=return_lse,
        return_entropy=return_entropy, target=target, block_table=block_table,
        cu_seqlens_q=cu_seqlens_q, cu_seqlens_kv=cu_seqlens_kv, alibi_slopes=alibi_slopes,
        sinks=sinks)
    # Host results are torch tensors over the arrays the kernel wrote (DLPack, no copy).
    return list(result) if isinstance(result, tuple) else [result]


@_attention_op.register_fake
def _(q, k, v, scale, causal, window_left, window_right, global_tokens, softcap, return_lse,
      return_entropy, seqlens_q, seqlens_kv, block_table, cu_seqlens_q, cu_seqlens_kv,
      alibi_slopes, sinks):
    packed_q = cu_seqlens_q is not None
    outputs = [q.new_empty(_out_shape(q, v))]
    for asked in (return_lse, return_entropy):
        if asked:
            outputs.append(q.new_empty(_stat_shape(q, packed_q), dtype=_STAT))
    return outputs


@torch.library.custom_op("attnc::merge", mutates_args=())
def _merge_op(o_parts: Tensor, lse_parts: Tensor) -> Tuple[Tensor, Tensor]:
    from ._merge import _merge_arrays
    # numpy has no bfloat16 of its own: bf16 parts are merged from float32 (the math is float32
    # either way) and rounded back.
    parts = o_parts.float() if o_parts.dtype == torch.bfloat16 else o_parts
    o, lse = _merge_arrays(parts.detach().cpu().numpy(), lse_parts.detach().cpu().numpy())
    return (torch.from_numpy(o).to(device=o_parts.device, dtype=o_parts.dtype),
            torch.from_numpy(lse).to(o_parts.device))


@_merge_op.register_fake
def _(o_parts, lse_parts):
    return (o_parts.new_empty(o_parts.shape[1:]),
            lse_parts.new_empty(lse_parts.shape[1:], dtype=_STAT))


_check_grad = _api._check_no_grad


def _as_index_tensor(x: Any, device: torch.device) -> Optional[Tensor]:
    """Lengths, offsets and tables as int32 tensors (the op's schema takes tensors only)."""
    if x is None:
        return None
    if isinstance(x, Tensor):
        return x
    return torch.as_tensor(x, dtype=torch.int32)


def _as_head_tensor(x: Any) -> Optional[Tensor]:
    if x is None or isinstance(x, Tensor):
        return x
    return torch.as_tensor(x, dtype=torch.float32)


def attention(q: Tensor, k: Tensor, v: Tensor, **options: Any) -> Any:
    """attn.attention on torch tensors (attention()'s keyword arguments), through
    torch.ops.attnc.attention."""
    _check_grad(q, k, v, options["alibi_slopes"], options["sinks"])
    if options["target"] != ("cuda" if q.is_cuda else "cpu"):
        # Vulkan (host tensors copied to the device): not an op of torch's devices.
        return _api._attention_impl(q, k, v, **options)
    window, scale = options["window"], options["scale"]
    if not isinstance(window, (tuple, list)) or len(window) != 2:
        raise TypeError(f"window must be a (left, right) pair of ints, got {window!r}")
    index = {name: _as_index_tensor(options[name], q.device)
             for name in ("seqlens_q", "seqlens_kv", "block_table", "cu_seqlens_q",
                          "cu_seqlens_kv")}
    outputs = torch.ops.attnc.attention(
        q, k, v, 0.0 if scale is None else float(scale), bool(options["causal"]),
        int(window[0]), int(window[1]), int(options["global_tokens"]),
        float(options["softcap"]), bool(options["return_lse"]), bool(options["return_entropy"]),
        index["seqlens_q"], index["seqlens_kv"], index["block_table"], index["cu_seqlens_q"],
        index["cu_seqlens_kv"], _as_head_tensor(options["alibi_slopes"]),
        _as_head_tensor(options["sinks"]))
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def merge(o_parts: Any, lse_parts: Any) -> Tuple[Tensor, Tensor]:
    """attn.merge on torch tensors (a stacked tensor or a sequence of them)."""
    if not isinstance(o_parts, Tensor):
        o_parts = torch.stack(list(o_parts))
    if not isinstance(lse_parts, Tensor):
        lse_parts = torch.stack(list(lse_parts))
    _check_grad(o_parts, lse_parts)
    return torch.ops.attnc.merge(o_parts, lse_parts)
