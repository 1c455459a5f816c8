"""The functional API (attention, linear_attention), attn.compile and Kernel.

Arguments are validated here (TypeError / ValueError); the extension (_attn) checks shapes against
the compiled problem again and maps the C API's statuses: ATTN_STATUS_INVALID_ARGUMENT becomes
ValueError, every other failure attn.AttnError, both carrying attn_last_error()'s message.
"""

from __future__ import annotations

import math
import sys
import types
from typing import Any, Optional, Tuple

import numpy as np

from . import _attn

try:  # bfloat16 numpy arrays come from ml_dtypes; attn works without it for float32/float16.
    import ml_dtypes as _ml_dtypes

    _BF16 = np.dtype(_ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover
    _ml_dtypes = None
    _BF16 = None

# The C API's enums (attn/attn_runtime.h).
_DTYPES = {"float32": 0, "float16": 1, "bfloat16": 2}
_NP_DTYPES = {"float32": np.dtype(np.float32), "float16": np.dtype(np.float16)}  # _fast_call
_VARIANTS = {"softmax": 0, "linear": 1}
_FEATURE_MAPS = {"elu_plus_one": 0, "relu": 1, "identity": 2}
_TARGETS = {"cpu": 0, "cuda": 1, "vulkan": 2}
_DLPACK_CPU = 1
_DLPACK_CUDA = 2


def context_stats() -> dict:
    """Counters of the module's context: kernels compiled, memory and disk cache hits."""
    return _attn.context_stats()


def enable_metrics() -> None:
    """Turns runtime metrics on for the module's context (as ``ATTN_METRICS=1`` does): call it
    before the first kernel is made. Raises attn.AttnError once the context exists without them."""
    _attn.enable_metrics()


def metrics() -> str:
    """The module context's runtime metrics in the Prometheus text exposition format: per kernel
    and label launches, failures, tokens, bytes and latency (histogram and p50/p95/p99 of the last
    1024 launches), the kernel cache's hits and compile time, kernels alive. Needs metrics on
    (:func:`enable_metrics` or ``ATTN_METRICS=1``), else raises attn.AttnError."""
    return _attn.metrics()


def device_info(target: str = "cpu") -> dict:
    """The device the module's context runs ``target``'s kernels on, as attnc compiles for it
    (what ``attnc tune`` keys tuned entries by): its ``name`` (the CPU target on "cpu"),
    Vulkan's vendor/device ids, driver version, ``subgroup_size``, limits and 16-bit and
    cooperative-matrix features, CUDA's compute capability. Raises attn.AttnError when the
    target cannot run here (no driver or device)."""
    return _attn.device_info(_choice(target, "target", _TARGETS))


def load_bundle(path: str, **problem: Any) -> "Kernel":
    """Loads a kernel of a bundle built ahead of time by ``attnc --emit=bundle``.

    No compiler is involved. The returned :class:`Kernel` is called like one from
    :func:`compile`; its attributes describe the problem the bundle was built for. A bundle of
    many kernels (all of a model's shapes, several ``--cpu`` levels) takes the problem as
    :func:`compile`'s keyword arguments (``load_bundle(path, heads_q=32, heads_kv=8,
    head_dim=128, causal=True)``): the kernel for it, at the best level this CPU runs. Raises
    attn.AttnError for a file that is not an intact bundle, was built by another attnc version,
    for another target, or for a CPU level this machine lacks, or holds no kernel for the
    problem.
    """
    if not isinstance(path, (str, bytes)) and not hasattr(path, "__fspath__"):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    import os

    if not problem:
        return Kernel._from_native(_attn.Kernel.from_bundle(os.fsdecode(path)))
    native = _native_problem(types.SimpleNamespace(**_problem_spec(**problem)))
    return Kernel._from_native(_attn.Kernel.from_bundle(os.fsdecode(path), native))


# ---- argument handling ----------------------------------------------------------------------


class _Tensor:
    """An input as a numpy array (bfloat16 as its uint16 bits), its dtype name and its origin."""

    __slots__ = ("array", "bits", "dtype", "framework")

    def __init__(self, array: np.ndarray, bits: np.ndarray, dtype: str, framework: Any):
        self.array = array
        self.bits = bits
        self.dtype = dtype
        self.framework = framework


def _dtype_name(dtype: np.dtype) -> Optional[str]:
    if dtype == np.float32:
        return "float32"
    if dtype == np.float16:
        return "float16"
    if _BF16 is not None and dtype == _BF16:
        return "bfloat16"
    return None


def _framework(obj: Any) -> Any:
    """The module of a DLPack object whose from_dlpack can take our results back (torch, ...)."""
    root = type(obj).__module__.split(".")[0]
    mod = sys.modules.get(root)
    if mod is None or mod is np or not callable(getattr(mod, "from_dlpack", None)):
        return None
    return mod


_LAYOUTS = {4: "BSHD: batch, seq, heads, dim", 3: "packed rows: tokens, heads, dim"}


def _as_tensor(x: Any, name: str, ndim: int = 4) -> _Tensor:
    if isinstance(x, np.ndarray):
        array, framework = x, None
    elif hasattr(x, "__dlpack__"):
        if getattr(x, "requires_grad", False):
            x = x.detach()  # under no_grad / inference_mode (_check_no_grad let it through)
        device = x.__dlpack_device__() if hasattr(x, "__dlpack_device__") else (_DLPACK_CPU, 0)
        if int(device[0]) != _DLPACK_CPU:
            raise ValueError(f"{name} is not in host memory (DLPack device {tuple(device)}): "
                             f"this kernel takes host-memory tensors (target='vulkan' copies "
                             f"them to the device itself; CUDA tensors need target='cuda')")
        framework = _framework(x)
        try:
            array = np.from_dlpack(x)
        except (BufferError, TypeError, RuntimeError, ValueError) as error:
            # numpy has no bfloat16: take its bits through the extension.
            try:
                bits = _attn.bf16_bits(x)
            except TypeError:
                raise TypeError(f"{name}: cannot import this DLPack tensor ({error})") from None
            if bits.ndim != ndim:
                raise ValueError(f"{name} must have {ndim} dims ({_LAYOUTS[ndim]}), "
                                 f"got shape {tuple(bits.shape)}")
            array = bits.view(_BF16) if _BF16 is not None else bits
            return _Tensor(array, bits, "bfloat16", framework)
    else:
        raise TypeError(f"{name} must be a numpy array or an object with __dlpack__, "
                        f"got {type(x).__name__}")
    dtype = _dtype_name(array.dtype)
    if dtype is None:
        raise TypeError(f"{name} has dtype {array.dtype}: use float32, float16 or "
                        f"bfloat16 (ml_dtypes.bfloat16)")
    if array.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dims ({_LAYOUTS[ndim]}), "
                         f"got shape {tuple(array.shape)}")
    bits = array.view(np.uint16) if dtype == "bfloat16" else array
    return _Tensor(array, bits, dtype, framework)


def _on_cuda(x: Any) -> bool:
    """Whether x is a DLPack tensor in CUDA device memory."""
    if isinstance(x, np.ndarray) or not hasattr(x, "__dlpack_device__"):
        return False
    return int(x.__dlpack_device__()[0]) == _DLPACK_CUDA


def _integers(x: Any, name: str, ndim: int, batch: int, what: str) -> np.ndarray:
    """An int array (a sequence, numpy or DLPack) of `ndim` dims with `batch` rows."""
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        x = np.from_dlpack(x)
    a = np.asarray(x)
    if a.ndim != ndim or a.shape[0] != batch:
        raise ValueError(f"{name} must be a {ndim}-d {what} with one row per batch ({batch}), "
                         f"got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    return a


def _lengths(x: Any, name: str, batch: int, bound: int) -> Optional[np.ndarray]:
    if x is None:
        return None
    a = _integers(x, name, 1, batch, "sequence of lengths")
    if a.size and (a.min() < 0 or a.max() > bound):
        raise ValueError(f"{name} must be in [0, {bound}], got {a.tolist()}")
    return np.ascontiguousarray(a, dtype=np.int32)


def _offsets(x: Any, name: str, rows: int) -> np.ndarray:
    """Packed offsets (flash_attn_varlen_func's cu_seqlens): ints [B + 1] from 0, non-decreasing,
    ending within the `rows` of the packed tensor."""
    if hasattr(x, "__dlpack__") and not isinstance(x, np.ndarray):
        x = np.from_dlpack(x)
    a = np.asarray(x)
    if a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(f"{name} must be a 1-d sequence of B + 1 offsets (at least 2), "
                         f"got shape {a.shape}")
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integers, got dtype {a.dtype}")
    if a[0] != 0:
        raise ValueError(f"{name}[0] must be 0, got {int(a[0])}")
    if (np.diff(a) < 0).any():
        raise ValueError(f"{name} must not decrease, got {a.tolist()}")
    if a[-1] > rows:
        raise ValueError(f"{name}[-1] is {int(a[-1])}, past the {rows} packed rows")
    return np.ascontiguousarray(a, dtype=np.int32)


def _int(x: Any, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(x).__name__}")
    return int(x)


def _float(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(x).__name__}")
    value = float(x)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def _choice(x: Any, name: str, table: dict) -> int:
    if not isinstance(x, str) or x not in table:
        raise ValueError(f"{name} must be one of {sorted(table)}, got {x!r}")
    return table[x]


# dtype spellings compile() takes besides numpy's and torch's dtypes.
_DTYPE_ALIASES = {"f32": "float32", "fp32": "float32", "float": "float32", "f16": "float16",
                  "fp16": "float16", "half": "float16", "bf16": "bfloat16"}


def _check_no_grad(*tensors: Any) -> None:
    """torch tensors that require grad, with grad mode on: attnc has no backward to offer."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.is_grad_enabled() and any(
            isinstance(t, torch.Tensor) and t.requires_grad for t in tensors):
        raise ValueError("attnc computes no gradients: inputs that require grad must be passed "
                         "under torch.no_grad() or torch.inference_mode() (or detached)")


def _bf16_storage(like: _Tensor) -> Any:
    """The numpy dtype a bfloat16 result is allocated as: ml_dtypes' bfloat16, else (for inputs
    of a framework that takes the result back through DLPack, e.g. torch) its uint16 bits."""
    if _BF16 is not None:
        return _BF16
    if like.framework is None:
        raise TypeError("bfloat16 numpy arrays need the ml_dtypes package (pip install ml_dtypes)")
    return np.uint16


def _dtype_arg(dtype: Any) -> str:
    if isinstance(dtype, str) and dtype in _DTYPES:
        return dtype
    if isinstance(dtype, str) and dtype in _DTYPE_ALIASES:
        return _DTYPE_ALIASES[dtype]
    if type(dtype).__module__ == "torch":  # torch.float32, torch.float16, torch.bfloat16
        name = str(dtype).rpartition(".")[2]
        if name in _DTYPES:
            return name
    try:
        name = _dtype_name(np.dtype(dtype))
    except TypeError:
        name = None
    if name is None:
        raise TypeError(f"dtype must be float32, float16 or bfloat16, got {dtype!r}")
    return name


def _native_problem(p: Any) -> dict:
    """A problem's fields (a Kernel, or compile()'s checked arguments) as the extension's
    keyword arguments: the C descriptor's fields, enums as their ints."""
    return dict(target=_TARGETS[p.target], variant=_VARIANTS[p.variant], dtype=_DTYPES[p.dtype],
                heads_q=p.heads_q, heads_kv=p.heads_kv, head_dim=p.head_dim,
                head_dim_v=p.head_dim_v, scale=p.scale, causal=p.causal,
                window_left=p.window[0], window_right=p.window[1],
                global_tokens=p.global_tokens, softcap=p.softcap, return_lse=p.return_lse,
                return_entropy=p.return_entropy, feature_map=_FEATURE_MAPS[p.feature_map],
                normalize=p.normalize, page_size=p.page_size, alibi=p.alibi, sinks=p.sinks)


# A launch's extras after its tensors: (scale, alibi_slopes, sinks); 0.0 is the kernel's scale.
_NO_EXTRA: Tuple[float, Any, Any] = (0.0, None, None)


def _no_key_lse(extra: Tuple[float, Any, Any], packed: bool) -> Any:
    """The LSE of rows that saw no key: -inf, or each head's sink (broadcast over [B, Hq, Sq],
    or [Hq, Tq] packed)."""
    sinks = extra[2]
    if sinks is None:
        return -np.inf
    return sinks[:, None] if packed else sinks[None, :, None]


def _export(result: np.ndarray, like: _Tensor) -> Any:
    """Returns an output in the kind of the input `like` (zero-copy through DLPack) when its
    framework has from_dlpack; numpy otherwise."""
    if like.framework is None:
        return result
    if like.dtype == "bfloat16":
        return like.framework.from_dlpack(_attn.bf16_export(result.view(np.uint16)))
    return like.framework.from_dlpack(result)


def _stat_export(result: np.ndarray, like: _Tensor) -> Any:
    return result if like.framework is None else like.framework.from_dlpack(result)


# ---- kernels ----------------------------------------------------------------------------------


class Kernel:
    """A compiled attention kernel for one problem (see :func:`compile`); call it on tensors.

    The underlying attn_kernel is destroyed with the object. Calls release the GIL while the
    kernel runs, so one Kernel may be used from many threads.
    """

    def __init__(self, *, variant: str, dtype: str, heads_q: int, heads_kv: int, head_dim: int,
                 head_dim_v: int, scale: float, causal: bool, window: Tuple[int, int],
                 global_tokens: int, softcap: float, return_lse: bool, return_entropy: bool,
                 feature_map: str, normalize: bool, target: str, page_size: int = 0,
                 alibi: bool = False, sinks: bool = False):
        self.variant = variant
        self.dtype = dtype
        self.heads_q = heads_q
        self.heads_kv = heads_kv
        self.head_dim = head_dim
        self.head_dim_v = head_dim_v
        self.scale = scale
        self.causal = causal
        self.window = window
        self.global_tokens = global_tokens
        self.softcap = softcap
        self.return_lse = return_lse
        self.return_entropy = return_entropy
        self.feature_map = feature_map
        self.normalize = normalize
        self.target = target
        self.page_size = page_size
        self.alibi = alibi
        self.sinks = sinks
        self._kernel = _attn.Kernel(**_native_problem(self))

    @classmethod
    def _from_native(cls, native: Any) -> "Kernel":
        """Wraps an already created _attn.Kernel (e.g. from a bundle), reading its problem."""
        p = native.problem
        self = cls.__new__(cls)
        names = {v: k for k, v in _VARIANTS.items()}, {v: k for k, v in _DTYPES.items()}
        self.variant, self.dtype = names[0][p["variant"]], names[1][p["dtype"]]
        for field in ("heads_q", "heads_kv", "head_dim", "head_dim_v", "scale", "causal",
                      "global_tokens", "softcap", "return_lse", "return_entropy", "normalize",
                      "page_size", "alibi", "sinks"):
            setattr(self, field, p[field])
        self.window = (p["window_left"], p["window_right"])
        self.feature_map = {v: k for k, v in _FEATURE_MAPS.items()}[p["feature_map"]]
        self.target = {v: k for k, v in _TARGETS.items()}[p["target"]]
        self._kernel = native
        return self

    def set_label(self, label: str) -> None:
        """Labels this kernel's metrics (the ``label`` label, e.g. a layer's name; at most 256
        bytes). Launches of one kernel under different labels are counted apart."""
        if not isinstance(label, str):
            raise TypeError(f"label must be a str, got {type(label).__name__}")
        self._kernel.set_label(label)

    def set_health(self, nonfinite: bool = False, entropy: bool = False) -> None:
        """Output health in :func:`metrics`, per query head: ``nonfinite`` counts NaN/Inf in the
        output and LSE and the rows that saw no key; ``entropy`` keeps each head's running mean,
        min and max of the row entropy (the kernel must have ``return_entropy=True``). The
        runtime reads the outputs again after each launch (host arrays: any target; not yet
        for torch CUDA tensors). Needs metrics on."""
        flags = (1 if nonfinite else 0) | (2 if entropy else 0)
        self._kernel.set_health(flags)

    def snapshot_entropy_baseline(self) -> None:
        """The per-head entropy means so far become the baseline and the statistics restart:
        :func:`metrics` then reports each head's drift, its mean since the snapshot minus the
        baseline (``attn_head_entropy_drift_nats``), and their root mean square
        (``attn_entropy_drift_nats``) - e.g. before and after a model or config rollout."""
        self._kernel.snapshot_entropy_baseline()

    @property
    def config(self) -> dict:
        """The configuration the kernel was built with: ``source`` ('heuristic', 'tuned' from a
        tuning database - ``ATTN_TUNING_DB`` or attnc tune's ``--db`` - or 'given'), the tiles
        (``block_q``, ``block_k``, ``decode_max_rows``, ``split_keys``), ``vector_width``, ``amx``,
        ``dpbf16`` and a one-line ``text``."""
        return self._kernel.config

    def __repr__(self) -> str:
        extra = ""
        if self.variant == "softmax":
            extra = (f", causal={self.causal}, window={self.window}, "
                     f"global_tokens={self.global_tokens}, softcap={self.softcap}, "
                     f"return_lse={self.return_lse}, return_entropy={self.return_entropy}")
            if self.page_size:
                extra += f", page_size={self.page_size}"
            if self.alibi:
                extra += ", alibi=True"
            if self.sinks:
                extra += ", sinks=True"
        else:
            extra = (f", causal={self.causal}, feature_map={self.feature_map!r}, "
                     f"normalize={self.normalize}")
        return (f"attn.Kernel(variant={self.variant!r}, dtype={self.dtype!r}, "
                f"heads_q={self.heads_q}, heads_kv={self.heads_kv}, head_dim={self.head_dim}, "
                f"head_dim_v={self.head_dim_v}{extra}, target={self.target!r})")

    def _head_values(self, values: Any, name: str, flag: str,
                     compiled: bool) -> Optional[np.ndarray]:
        """A launch's per-head values as a contiguous float32 [Hq] array (None when absent),
        given exactly when the kernel was compiled for them."""
        if values is None:
            if compiled:
                raise ValueError(f"the kernel was compiled with {flag}=True: "
                                 f"pass {name}, float32 [Hq = {self.heads_q}]")
            return None
        if not compiled:
            raise ValueError(f"the kernel was not compiled for {name} (compile it with "
                             f"{flag}=True)")
        if hasattr(values, "__dlpack__") and not isinstance(values, np.ndarray):
            values = np.from_dlpack(values.detach() if hasattr(values, "detach") else values)
        array = np.ascontiguousarray(values, dtype=np.float32)
        if array.shape != (self.heads_q,):
            raise ValueError(f"{name} must have shape [Hq] = [{self.heads_q}], got "
                             f"{list(array.shape)}")
        return array

    def __call__(self, q: Any, k: Any, v: Any, *, seqlens_q: Any = None,
                 seqlens_kv: Any = None, block_table: Any = None, out: Any = None,
                 lse: Any = None, entropy: Any = None, cu_seqlens_q: Any = None,
                 cu_seqlens_kv: Any = None, scale: Optional[float] = None,
                 alibi_slopes: Any = None, sinks: Any = None) -> Any:
        """Runs the kernel on BSHD tensors q [B, Sq, Hq, D], k [B, Skv, Hkv, D],
        v [B, Skv, Hkv, Dv] and returns o [B, Sq, Hq, Dv] (the input's dtype), or
        ``(o, lse[, entropy])`` / ``(o, entropy)`` when the kernel was compiled to return them
        (float32 [B, Hq, Sq]).

        seqlens_q / seqlens_kv: optional per-batch lengths (ints, at most Sq / Skv). Rows past a
        batch's query length are 0 in o, -inf in lse and 0 in entropy. Empty inputs give empty
        outputs; no keys at all (Skv = 0) gives o = 0, lse = -inf, entropy = 0.

        A kernel compiled with ``page_size`` reads a paged KV cache (flash_attn_with_kvcache's
        block_table, FlashInfer's page table): k [num_pages, page_size, Hkv, D] and
        v [num_pages, page_size, Hkv, Dv] are pages, ``block_table`` (ints [B, max_pages]) names
        the pages of each sequence in order, and ``seqlens_kv`` (the cache lengths, at most
        max_pages * page_size; default: full) how many keys each holds. Entries past a
        sequence's last page are not read; an entry outside [0, num_pages) raises ValueError.

        ``out`` (o's shape and dtype, any strides with a contiguous last dim), ``lse`` and
        ``entropy`` (float32 [B, Hq, Sq], C-contiguous): preallocated, writable host arrays the
        kernel writes into (no allocation), returned as given. Rows past a batch's query length
        are then left as they were (the C API's semantics). Pass all the outputs the kernel
        returns, or none.

        Packed (ragged) batches, as flash_attn_varlen_func: with ``cu_seqlens_q`` (ints
        [B + 1], 0 first, non-decreasing) q is [Tq, Hq, D] and sequence b owns its rows
        cu_seqlens_q[b] .. cu_seqlens_q[b + 1] - 1; o is [Tq, Hq, Dv] and lse / entropy
        [Hq, Tq]. With ``cu_seqlens_kv`` k and v are [Tkv, Hkv, D|Dv] likewise. Either may come
        without the other (packed queries against a padded or paged cache: chunked prefill);
        they replace seqlens_q / seqlens_kv. No padding is read or written.

        ``scale``: this call's scale instead of the kernel's (FlashInfer's per-call sm_scale; a
        finite positive float, rounded to float32), without a recompile.

        ``alibi_slopes`` / ``sinks``: float32 [Hq] per-head values, required by a kernel compiled
        with ``alibi=True`` / ``sinks=True`` (and refused by others): ALiBi slopes
        (score -= slope * |p_i - j|, FlashAttention's alibi_slopes) and sink logits (gpt-oss,
        FlashAttention-3's learnable sinks: exp(sink) joins each row's softmax denominator with
        no value; LSE includes it; a row with no key gets LSE = sink).
        """
        if type(q) is not np.ndarray:
            _check_no_grad(q, k, v)
        launch_scale = 0.0
        if scale is not None:
            launch_scale = _float(scale, "scale")
            with np.errstate(over="ignore"):
                as_f32 = np.float32(launch_scale)
            if not (launch_scale > 0 and np.isfinite(as_f32) and as_f32 > 0):
                raise ValueError(f"scale must be a finite positive float32, got {scale}")
            if self.target == "cuda" and _on_cuda(q):
                raise ValueError("scale= is for host-memory launches so far; compile the CUDA "
                                 "kernel with the scale instead")
        if (self.alibi or self.sinks or alibi_slopes is not None or sinks is not None):
            extra = (launch_scale,
                     self._head_values(alibi_slopes, "alibi_slopes", "alibi", self.alibi),
                     self._head_values(sinks, "sinks", "sinks", self.sinks))
        else:  # the common call: a tuple, not two method calls
            extra = _NO_EXTRA if launch_scale == 0.0 else (launch_scale, None, None)
        if cu_seqlens_q is not None or cu_seqlens_kv is not None:
            if self.target == "cuda" and _on_cuda(q):
                raise ValueError("packed batches (cu_seqlens) take host arrays so far; CUDA "
                                 "tensors take padded batches with seqlens")
            if cu_seqlens_kv is not None and self.page_size:
                raise ValueError("a paged KV cache takes block_table and seqlens_kv, not "
                                 "cu_seqlens_kv")
            qt = _as_tensor(q, "q", 3 if cu_seqlens_q is not None else 4)
            kt = _as_tensor(k, "k", 3 if cu_seqlens_kv is not None else 4)
            vt = _as_tensor(v, "v", 3 if cu_seqlens_kv is not None else 4)
            given = (out, lse, entropy)
            return self._run_packed(qt, kt, vt, cu_seqlens_q, cu_seqlens_kv, seqlens_q,
                                    seqlens_kv, block_table,
                                    given if any(x is not None for x in given) else None,
                                    extra)
        if (seqlens_q is None and seqlens_kv is None and block_table is None and
                type(q) is np.ndarray and type(k) is np.ndarray and type(v) is np.ndarray and
                self.target != "cuda" and not self.page_size):
            result = self._fast_call(q, k, v, out, lse, entropy, extra)
            if result is not None:
                return result
        given = (out, lse, entropy)
        if self.target == "cuda" and _on_cuda(q):
            if block_table is not None:
                raise ValueError("a paged KV cache runs on the CPU and Vulkan targets only so far")
            if any(x is not None for x in given):
                raise ValueError("out= / lse= / entropy= take host arrays; CUDA tensors are "
                                 "allocated by the call")
            return self._run_cuda(q, k, v, seqlens_q, seqlens_kv)
        qt, kt, vt = _as_tensor(q, "q"), _as_tensor(k, "k"), _as_tensor(v, "v")
        return self._run(qt, kt, vt, seqlens_q, seqlens_kv, block_table,
                         given if any(x is not None for x in given) else None, extra)

    def _fast_call(self, q: np.ndarray, k: np.ndarray, v: np.ndarray, out: Any, lse: Any,
                   entropy: Any, extra: Tuple[float, Any, Any] = _NO_EXTRA) -> Any:
        """The common call without Python-side checks: numpy f32/f16 inputs of the kernel's
        dtype, no lengths, nothing empty, outputs (if given) exactly right; the extension and
        the C API validate the rest with the same errors. None: take the general path."""
        dtype = _NP_DTYPES.get(self.dtype)
        if (dtype is None or q.dtype != dtype or k.dtype != dtype or v.dtype != dtype or
                q.ndim != 4 or k.ndim != 4 or 0 in q.shape or 0 in k.shape[:2]):
            return None
        batch, seq_q, heads_q = q.shape[0], q.shape[1], q.shape[2]
        stats_shape = (batch, heads_q, seq_q)
        if out is None and lse is None and entropy is None:
            # Every row is written (no lengths): nothing to initialize.
            out = np.empty((batch, seq_q, heads_q, self.head_dim_v), dtype)
            lse = np.empty(stats_shape, np.float32) if self.return_lse else None
            entropy = np.empty(stats_shape, np.float32) if self.return_entropy else None
        else:
            for array, asked in ((lse, self.return_lse), (entropy, self.return_entropy)):
                if (array is None) == asked:
                    return None
                if asked and (type(array) is not np.ndarray or array.dtype != np.float32 or
                              array.shape != stats_shape or not array.flags.c_contiguous or
                              not array.flags.writeable):
                    return None
            if (type(out) is not np.ndarray or out.dtype != dtype or not out.flags.writeable or
                    out.shape != (batch, seq_q, heads_q, self.head_dim_v)):
                return None
        self._kernel.launch(q, k, v, out, lse, entropy, None, None, None, None, None, *extra)
        if lse is None and entropy is None:
            return out
        return tuple(x for x in (out, lse, entropy) if x is not None)

    def _run_cuda(self, q: Any, k: Any, v: Any, seqlens_q: Any, seqlens_kv: Any) -> Any:
        """torch CUDA tensors in and out, enqueued on torch's current stream of q's device."""
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(q, torch.Tensor):
            raise TypeError("CUDA tensors are taken from torch (torch.Tensor on a CUDA device)")
        names = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
        for name, t in (("q", q), ("k", k), ("v", v)):
            if not isinstance(t, torch.Tensor) or t.device != q.device:
                raise ValueError(f"{name} must be a torch tensor on {q.device}")
            if t.dtype != names[self.dtype]:
                raise TypeError(f"{name} has dtype {t.dtype}, the kernel was compiled for "
                                f"{self.dtype}")
            if t.dim() != 4:
                raise ValueError(f"{name} must have 4 dims (BSHD: batch, seq, heads, dim), "
                                 f"got shape {tuple(t.shape)}")
            if t.requires_grad and torch.is_grad_enabled():
                raise ValueError(f"{name} requires grad: attnc kernels are forward-only (run "
                                 f"under torch.no_grad() or torch.inference_mode())")
        batch, seq_q, heads_q, _ = q.shape
        seq_kv = k.shape[1]
        o = torch.empty((batch, seq_q, heads_q, self.head_dim_v), dtype=q.dtype, device=q.device)
        stats = (batch, heads_q, seq_q)
        lse = (torch.full(stats, float("-inf"), dtype=torch.float32, device=q.device)
               if self.return_lse else None)
        entropy = (torch.zeros(stats, dtype=torch.float32, device=q.device)
                   if self.return_entropy else None)

        def lengths(x: Any, name: str) -> Any:
            if x is None:
                return None
            t = torch.as_tensor(x, device=q.device).to(torch.int32).contiguous()
            if t.dim() != 1 or t.shape[0] != batch:
                raise ValueError(f"{name} must have one length per batch ({batch})")
            return t

        lens_q, lens_kv = lengths(seqlens_q, "seqlens_q"), lengths(seqlens_kv, "seqlens_kv")
        if batch and seq_q and seq_kv:
            ptr = lambda t: 0 if t is None else t.data_ptr()  # noqa: E731
            self._kernel.launch_cuda(
                batch, seq_q, seq_kv, q.data_ptr(), tuple(q.stride()), k.data_ptr(),
                tuple(k.stride()), v.data_ptr(), tuple(v.stride()), o.data_ptr(),
                tuple(o.stride()), ptr(lse), ptr(entropy), ptr(lens_q), ptr(lens_kv),
                torch.cuda.current_stream(q.device).cuda_stream)
        else:
            o.zero_()
        if lse is None and entropy is None:
            return o
        return tuple(t for t in (o, lse, entropy) if t is not None)

    def _run(self, qt: _Tensor, kt: _Tensor, vt: _Tensor, seqlens_q: Any, seqlens_kv: Any,
             block_table: Any = None, given: Any = None,
             extra: Tuple[float, Any, Any] = _NO_EXTRA) -> Any:
        for name, t in (("q", qt), ("k", kt), ("v", vt)):
            if t.dtype != self.dtype:
                raise TypeError(f"{name} has dtype {t.dtype}, the kernel was compiled for "
                                f"{self.dtype} (q, k and v must share one dtype)")
        batch, seq_q, heads_q, _ = qt.array.shape
        if self.page_size:
            return self._run_paged(qt, kt, vt, seqlens_q, seqlens_kv, block_table, given, extra)
        if block_table is not None:
            raise ValueError("block_table is for kernels compiled with page_size (a paged KV "
                             "cache); this kernel reads contiguous k and v")
        seq_kv = kt.array.shape[1]
        if kt.array.shape[0] != batch or vt.array.shape[0] != batch:
            raise ValueError(f"q, k and v must have the same batch size, got shapes "
                             f"{qt.array.shape}, {kt.array.shape}, {vt.array.shape}")
        if vt.array.shape[1] != seq_kv:
            raise ValueError(f"k and v must have the same sequence length, got shapes "
                             f"{kt.array.shape} and {vt.array.shape}")
        lens_q = _lengths(seqlens_q, "seqlens_q", batch, seq_q)
        lens_kv = _lengths(seqlens_kv, "seqlens_kv", batch, seq_kv)
        return self._launch(qt, kt, vt, lens_q, lens_kv, None, seq_kv, given, extra)

    def _run_paged(self, qt: _Tensor, kt: _Tensor, vt: _Tensor, seqlens_q: Any, seqlens_kv: Any,
                   block_table: Any, given: Any = None,
                   extra: Tuple[float, Any, Any] = _NO_EXTRA) -> Any:
        batch, seq_q = qt.array.shape[:2]
        if block_table is None:
            raise ValueError(f"this kernel reads a paged KV cache (page_size {self.page_size}): "
                             "pass block_table, ints [B, max_pages] naming each sequence's pages")
        table = _integers(block_table, "block_table", 2, batch, "[B, max_pages] array")
        if table.shape[1] == 0:
            raise ValueError("block_table must have at least one page per sequence")
        if table.size and (table.min() < np.iinfo(np.int32).min or
                           table.max() > np.iinfo(np.int32).max):
            raise ValueError("block_table entries must fit in int32")
        table = np.ascontiguousarray(table, dtype=np.int32)
        for name, t in (("k", kt), ("v", vt)):
            if t.array.shape[1] != self.page_size:
                raise ValueError(f"{name} must be pages [num_pages, page_size={self.page_size}, "
                                 f"heads, dim], got shape {t.array.shape}")
        if kt.array.shape[0] != vt.array.shape[0]:
            raise ValueError(f"k and v must have the same number of pages, got shapes "
                             f"{kt.array.shape} and {vt.array.shape}")
        capacity = table.shape[1] * self.page_size
        lens_q = _lengths(seqlens_q, "seqlens_q", batch, seq_q)
        lens_kv = _lengths(seqlens_kv, "seqlens_kv", batch, capacity)
        return self._launch(qt, kt, vt, lens_q, lens_kv, table, capacity, given, extra)

    def _run_packed(self, qt: _Tensor, kt: _Tensor, vt: _Tensor, cu_q: Any, cu_kv: Any,
                    seqlens_q: Any, seqlens_kv: Any, block_table: Any, given: Any,
                    extra: Tuple[float, Any, Any] = _NO_EXTRA) -> Any:
        for name, t in (("q", qt), ("k", kt), ("v", vt)):
            if t.dtype != self.dtype:
                raise TypeError(f"{name} has dtype {t.dtype}, the kernel was compiled for "
                                f"{self.dtype} (q, k and v must share one dtype)")
        if cu_q is not None and seqlens_q is not None:
            raise ValueError("pass cu_seqlens_q or seqlens_q, not both (packed lengths are the "
                             "offsets' differences)")
        if cu_kv is not None and seqlens_kv is not None:
            raise ValueError("pass cu_seqlens_kv or seqlens_kv, not both")
        if cu_kv is not None and self.page_size:
            raise ValueError("a paged KV cache takes block_table and seqlens_kv, not "
                             "cu_seqlens_kv")
        if block_table is not None and not self.page_size:
            raise ValueError("block_table is for kernels compiled with page_size (a paged KV "
                             "cache); this kernel reads contiguous k and v")
        q4 = qt.bits[None] if cu_q is not None else qt.bits
        k4 = kt.bits[None] if cu_kv is not None else kt.bits
        v4 = vt.bits[None] if cu_kv is not None else vt.bits
        if k4.shape[1] != v4.shape[1] or k4.shape[0] != v4.shape[0]:
            raise ValueError(f"k and v must have the same rows, got shapes {kt.array.shape} and "
                             f"{vt.array.shape}")
        cuq = None if cu_q is None else _offsets(cu_q, "cu_seqlens_q", q4.shape[1])
        cukv = None if cu_kv is None else _offsets(cu_kv, "cu_seqlens_kv", k4.shape[1])
        batch = len(cuq) - 1 if cuq is not None else len(cukv) - 1
        if cuq is not None and cukv is not None and len(cukv) != len(cuq):
            raise ValueError(f"cu_seqlens_q and cu_seqlens_kv must hold the same number of "
                             f"offsets, got {len(cuq)} and {len(cukv)}")
        if cuq is None and q4.shape[0] != batch:
            raise ValueError(f"q has batch {q4.shape[0]}, cu_seqlens_kv has {batch} sequences")
        table = None
        if self.page_size:
            if block_table is None:
                raise ValueError(f"this kernel reads a paged KV cache (page_size "
                                 f"{self.page_size}): pass block_table")
            table = np.ascontiguousarray(
                _integers(block_table, "block_table", 2, batch, "[B, max_pages] array"),
                dtype=np.int32)
            seq_kv = table.shape[1] * self.page_size
        else:
            seq_kv = k4.shape[1]
            if cukv is None and k4.shape[0] != batch:
                raise ValueError(f"k has batch {k4.shape[0]}, cu_seqlens_q has {batch} "
                                 f"sequences")
        seq_q = q4.shape[1]
        lens_q = _lengths(seqlens_q, "seqlens_q", batch, seq_q)
        lens_kv = _lengths(seqlens_kv, "seqlens_kv", batch, seq_kv)
        heads_q = q4.shape[2]
        packed_q = cuq is not None
        shape = (seq_q, heads_q, self.head_dim_v) if packed_q else \
            (batch, seq_q, heads_q, self.head_dim_v)
        stats_shape = (heads_q, seq_q) if packed_q else (batch, heads_q, seq_q)
        if given is not None:
            out, out_bits, lse, entropy = self._given_outputs(given, shape, stats_shape)
            results = [x for x, asked in ((given[0], True), (given[1], self.return_lse),
                                          (given[2], self.return_entropy)) if asked]
        else:
            out = np.zeros(shape, dtype=_bf16_storage(qt) if self.dtype == "bfloat16"
                           else self.dtype)
            out_bits = out.view(np.uint16) if self.dtype == "bfloat16" else out
            lse = np.full(stats_shape, -np.inf, np.float32) if self.return_lse else None
            entropy = np.zeros(stats_shape, np.float32) if self.return_entropy else None
        if seq_q and seq_kv and batch:
            o4 = out_bits[None] if packed_q else out_bits
            stat = (lambda x: None if x is None else (x[None] if packed_q else x))  # noqa: E731
            self._kernel.launch(q4, k4, v4, o4, stat(lse), stat(entropy), lens_q, lens_kv, table,
                                cuq, cukv, *extra)
        else:  # no keys at all: o = 0, lse = -inf (the sinks), entropy = 0 (SPEC §3)
            out_bits[...] = 0
            if lse is not None:
                lse[...] = _no_key_lse(extra, packed_q)
            if entropy is not None:
                entropy[...] = 0
        if given is not None:
            return results[0] if len(results) == 1 else tuple(results)
        o = _export(out, qt)
        if lse is None and entropy is None:
            return o
        return tuple([o] + [_stat_export(x, qt) for x in (lse, entropy) if x is not None])

    def _given_outputs(self, given: Any, shape: Tuple[int, ...], stats_shape: Tuple[int, ...]):
        """The caller's out= / lse= / entropy=, checked: (out, out's bits, lse, entropy)."""
        out, lse, entropy = given
        wanted = (("lse", lse, self.return_lse), ("entropy", entropy, self.return_entropy))
        for name, array, asked in wanted:
            if asked and array is None:
                raise ValueError(f"the kernel returns {name}: pass {name}= too (float32 "
                                 f"{list(stats_shape)}), or no preallocated output at all")
            if not asked and array is not None:
                raise ValueError(f"the kernel was not compiled to return {name} ({name}= given)")
        if out is None:
            raise ValueError("out= is missing (the other outputs were given)")
        ot = _as_tensor(out, "out", len(shape))
        if ot.dtype != self.dtype:
            raise TypeError(f"out has dtype {ot.dtype}, the kernel writes {self.dtype}")
        if ot.array.shape != shape:
            raise ValueError(f"out must have shape {list(shape)}, got {list(ot.array.shape)}")
        if not ot.bits.flags.writeable:
            raise ValueError("out is read-only")
        stats = []
        for name, array, asked in wanted:
            if not asked:
                stats.append(None)
                continue
            if hasattr(array, "__dlpack__") and not isinstance(array, np.ndarray):
                array = np.from_dlpack(array)
            if not isinstance(array, np.ndarray) or array.dtype != np.float32 or \
                    array.shape != stats_shape or not array.flags.c_contiguous or \
                    not array.flags.writeable:
                raise ValueError(f"{name} must be a writable, C-contiguous float32 array of shape "
                                 f"{list(stats_shape)}")
            stats.append(array)
        return ot.array, ot.bits, stats[0], stats[1]

    def _launch(self, qt: _Tensor, kt: _Tensor, vt: _Tensor, lens_q: Any, lens_kv: Any,
                table: Any, seq_kv: int, given: Any = None,
                extra: Tuple[float, Any, Any] = _NO_EXTRA) -> Any:
        batch, seq_q, heads_q, _ = qt.array.shape
        if given is not None:
            shape = (batch, seq_q, heads_q, self.head_dim_v)
            out, out_bits, lse, entropy = self._given_outputs(given, shape,
                                                              (batch, heads_q, seq_q))
            if batch and seq_q and seq_kv:
                self._kernel.launch(qt.bits, kt.bits, vt.bits, out_bits, lse, entropy, lens_q,
                                    lens_kv, table, None, None, *extra)
            else:  # no keys: o = 0, lse = -inf (the sinks), entropy = 0 (SPEC section 3)
                out_bits[...] = 0
                if lse is not None:
                    lse[...] = _no_key_lse(extra, False)
                if entropy is not None:
                    entropy[...] = 0
            results = [x for x, asked in ((given[0], True), (given[1], self.return_lse),
                                          (given[2], self.return_entropy)) if asked]
            return results[0] if len(results) == 1 else tuple(results)
        if self.dtype == "bfloat16":
            # Without ml_dtypes a bfloat16 result is its bits, exported as the input's kind.
            out = np.zeros((batch, seq_q, heads_q, self.head_dim_v), dtype=_bf16_storage(qt))
            out_bits = out.view(np.uint16)
        else:
            out = np.zeros((batch, seq_q, heads_q, self.head_dim_v), dtype=self.dtype)
            out_bits = out
        stats_shape = (batch, heads_q, seq_q)
        lse = np.full(stats_shape, -np.inf, np.float32) if self.return_lse else None
        entropy = np.zeros(stats_shape, np.float32) if self.return_entropy else None
        if batch and seq_q and seq_kv:
            self._kernel.launch(qt.bits, kt.bits, vt.bits, out_bits, lse, entropy, lens_q,
                                lens_kv, table, None, None, *extra)
        elif lse is not None and extra[2] is not None:
            lse[...] = _no_key_lse(extra, False)  # no keys: each row's LSE is its head's sink
        # else: nothing to compute; no keys means o = 0, lse = -inf, entropy = 0 (SPEC section 3).
        o = _export(out, qt)
        if lse is None and entropy is None:
            return o
        result = [o]
        if lse is not None:
            result.append(_stat_export(lse, qt))
        if entropy is not None:
            result.append(_stat_export(entropy, qt))
        return tuple(result)


def compile(*, heads_q: int, head_dim: int, heads_kv: Optional[int] = None,
            head_dim_v: Optional[int] = None, dtype: Any = "float32", variant: str = "softmax",
            scale: Optional[float] = None, causal: bool = False,
            window: Tuple[int, int] = (-1, -1), global_tokens: int = 0, softcap: float = 0.0,
            return_lse: bool = False, return_entropy: bool = False,
            feature_map: str = "elu_plus_one", normalize: bool = True,
            target: str = "cpu", page_size: int = 0, alibi: bool = False,
            sinks: bool = False) -> Kernel:
    """Compiles (or finds in the memory / disk caches) a kernel for one attention problem.

    heads_kv defaults to heads_q (MHA; GQA when it divides heads_q, MQA when 1); head_dim_v
    defaults to head_dim. dtype: "float32", "float16", "bfloat16" (or a numpy dtype).
    variant "softmax" takes scale (default 1/sqrt(head_dim)), causal, window=(left, right)
    (-1 = unbounded), global_tokens, softcap (0 = none), return_lse, return_entropy; variant
    "linear" takes scale (default 1), causal, feature_map ("elu_plus_one", "relu", "identity")
    and normalize. The returned :class:`Kernel` is called as ``kernel(q, k, v)``; batch and
    sequence lengths are free. target: "cpu", "vulkan" (the Vulkan device the runtime opens,
    ATTN_VULKAN_DEVICE picks one; inputs and outputs stay host arrays, copied to and from it) or
    "cuda" (the GPU of the CUDA context current when compiling, e.g. torch's, else
    ATTN_CUDA_DEVICE's; torch CUDA tensors in and out, on torch's current stream; host arrays are
    copied to and from the GPU). page_size (a power of two from 1 to 256; 0 = none): the kernel
    reads a paged KV cache (see :meth:`Kernel.__call__`), softmax on the CPU target. alibi /
    sinks: the kernel takes per-head ALiBi slopes / sink logits at each call (``alibi_slopes=``,
    ``sinks=``), softmax on the CPU target.

    Raises ValueError / TypeError for bad arguments, attn.AttnError when the problem cannot be
    built (unsupported head dim or target, no Vulkan device, compiler failure).
    """
    return Kernel(**_problem_spec(**locals()))


def _problem_spec(*, heads_q: int, head_dim: int, heads_kv: Optional[int] = None,
                  head_dim_v: Optional[int] = None, dtype: Any = "float32",
                  variant: str = "softmax", scale: Optional[float] = None, causal: bool = False,
                  window: Tuple[int, int] = (-1, -1), global_tokens: int = 0,
                  softcap: float = 0.0, return_lse: bool = False, return_entropy: bool = False,
                  feature_map: str = "elu_plus_one", normalize: bool = True,
                  target: str = "cpu", page_size: int = 0, alibi: bool = False,
                  sinks: bool = False) -> dict:
    """compile()'s arguments checked and normalized: the keyword arguments of Kernel()."""
    heads_q = _int(heads_q, "heads_q")
    head_dim = _int(head_dim, "head_dim")
    heads_kv = heads_q if heads_kv is None else _int(heads_kv, "heads_kv")
    head_dim_v = head_dim if head_dim_v is None else _int(head_dim_v, "head_dim_v")
    for name, value in (("heads_q", heads_q), ("heads_kv", heads_kv), ("head_dim", head_dim),
                        ("head_dim_v", head_dim_v)):
        if value <= 0:
            raise ValueError(f"{name} must be positive, got {value}")
    if heads_q % heads_kv:
        raise ValueError(f"heads_q ({heads_q}) must be a multiple of heads_kv ({heads_kv})")
    dtype = _dtype_arg(dtype)
    _choice(variant, "variant", _VARIANTS)
    _choice(target, "target", _TARGETS)
    _choice(feature_map, "feature_map", _FEATURE_MAPS)
    if scale is None:
        scale_value = 0.0
    else:
        scale_value = _float(scale, "scale")
        if scale_value <= 0:
            raise ValueError(f"scale must be positive, got {scale_value}")
    if (not isinstance(window, (tuple, list)) or len(window) != 2):
        raise TypeError(f"window must be a (left, right) pair of ints, got {window!r}")
    window = (_int(window[0], "window[0]"), _int(window[1], "window[1]"))
    if window[0] < -1 or window[1] < -1:
        raise ValueError(f"window bounds must be >= 0, or -1 for unbounded, got {window}")
    global_tokens = _int(global_tokens, "global_tokens")
    if global_tokens < 0:
        raise ValueError(f"global_tokens must be >= 0, got {global_tokens}")
    softcap = _float(softcap, "softcap")
    if softcap < 0:
        raise ValueError(f"softcap must be >= 0 (0 = none), got {softcap}")
    page_size = _int(page_size, "page_size")
    if page_size and (page_size < 0 or page_size > 256 or page_size & (page_size - 1)):
        raise ValueError(f"page_size must be 0 (no paged KV cache) or a power of two from 1 to "
                         f"256, got {page_size}")
    if variant == "linear":
        if page_size:
            raise ValueError("linear attention does not read a paged KV cache (page_size)")
        if return_lse or return_entropy:
            raise ValueError("linear attention has no LSE or entropy (return_lse/return_entropy)")
        if window != (-1, -1) or global_tokens or softcap or alibi or sinks:
            raise ValueError("window, global_tokens, softcap, alibi and sinks apply to softmax "
                             "attention only")
    for name, flag in (("alibi", alibi), ("sinks", sinks)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
    return dict(variant=variant, dtype=dtype, heads_q=heads_q, heads_kv=heads_kv,
                  head_dim=head_dim, head_dim_v=head_dim_v, scale=scale_value,
                  causal=bool(causal), window=window, global_tokens=global_tokens,
                  softcap=softcap, return_lse=bool(return_lse),
                  return_entropy=bool(return_entropy), feature_map=feature_map,
                  normalize=bool(normalize), target=target, page_size=page_size,
                  alibi=bool(alibi), sinks=bool(sinks))


def _problem_of(q: Any, k: Any, v: Any, packed_q: bool = False,
                packed_kv: bool = False) -> Tuple[_Tensor, _Tensor, _Tensor]:
    """q, k, v as tensors (packed ones [T, H, D]), checked to share a dtype, kv heads and the
    head dim."""
    qt = _as_tensor(q, "q", 3 if packed_q else 4)
    kt = _as_tensor(k, "k", 3 if packed_kv else 4)
    vt = _as_tensor(v, "v", 3 if packed_kv else 4)
    if not (qt.dtype == kt.dtype == vt.dtype):
        raise TypeError(f"q, k and v must share one dtype, got {qt.dtype}, {kt.dtype}, "
                        f"{vt.dtype}")
    if kt.array.shape[-2] != vt.array.shape[-2]:
        raise ValueError(f"k and v must have the same number of heads, got shapes "
                         f"{kt.array.shape} and {vt.array.shape}")
    if kt.array.shape[-1] != qt.array.shape[-1]:
        raise ValueError(f"q and k must have the same head dim, got shapes {qt.array.shape} "
                         f"and {kt.array.shape}")
    return qt, kt, vt


def attention(q: Any, k: Any, v: Any, *, scale: Optional[float] = None, causal: bool = False,
              window: Tuple[int, int] = (-1, -1), global_tokens: int = 0, softcap: float = 0.0,
              seqlens_q: Any = None, seqlens_kv: Any = None, return_lse: bool = False,
              return_entropy: bool = False, target: str = "cpu", block_table: Any = None,
              cu_seqlens_q: Any = None, cu_seqlens_kv: Any = None, alibi_slopes: Any = None,
              sinks: Any = None) -> Any:
    """Softmax attention on BSHD tensors (FlashAttention's layout and semantics).

    q [B, Sq, Hq, D], k [B, Skv, Hkv, D], v [B, Skv, Hkv, Dv]; Hq % Hkv == 0 (GQA / MQA).
    scale defaults to 1/sqrt(D); causal masks are bottom-right aligned (as FlashAttention >= 2.1);
    window=(left, right) is a sliding window band (-1 = unbounded); global_tokens keys are seen
    by every query (Longformer's globals, StreamingLLM's attention-sink tokens); softcap > 0
    applies c * tanh(s / c) to the logits. alibi_slopes (float32 [Hq]): ALiBi, each score minus
    slope_h * |p_i - j|. sinks (float32 [Hq]): per-head sink logits (gpt-oss, FlashAttention-3's
    learnable sinks, not global tokens): exp(sink_h) joins each row's softmax denominator.
    seqlens_q / seqlens_kv are optional per-batch lengths (varlen / KV-cache batches).
    With block_table (ints [B, max_pages]) k and v are a paged KV cache: pages
    [num_pages, page_size, Hkv, D] (page_size = k.shape[1]), see :meth:`Kernel.__call__`.
    cu_seqlens_q / cu_seqlens_kv (ints [B + 1]) take packed rows as flash_attn_varlen_func:
    q [Tq, Hq, D], k / v [Tkv, Hkv, D|Dv], o [Tq, Hq, Dv], lse / entropy [Hq, Tq].

    Returns o [B, Sq, Hq, Dv] in the input's dtype, or ``(o, lse[, entropy])`` / ``(o, entropy)``
    when asked, lse and entropy float32 [B, Hq, Sq]. Outputs are numpy arrays for numpy inputs and
    the input's kind (through DLPack) for tensors whose module has from_dlpack (torch, ...).
    """
    options = dict(scale=scale, causal=causal, window=window, global_tokens=global_tokens,
                   softcap=softcap, seqlens_q=seqlens_q, seqlens_kv=seqlens_kv,
                   return_lse=return_lse, return_entropy=return_entropy, target=target,
                   block_table=block_table, cu_seqlens_q=cu_seqlens_q,
                   cu_seqlens_kv=cu_seqlens_kv, alibi_slopes=alibi_slopes, sinks=sinks)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(q, torch.Tensor):
        from . import _torch  # torch.ops.attnc.attention: traced whole by torch.compile
        return _torch.attention(q, k, v, **options)
    return _attention_impl(q, k, v, **options)


def _attention_impl(q: Any, k: Any, v: Any, *, scale: Optional[float] = None, causal: bool = False,
                    window: Tuple[int, int] = (-1, -1), global_tokens: int = 0, softcap: float = 0.0,
                    seqlens_q: Any = None, seqlens_kv: Any = None, return_lse: bool = False,
                    return_entropy: bool = False, target: str = "cpu", block_table: Any = None,
                    cu_seqlens_q: Any = None, cu_seqlens_kv: Any = None, alibi_slopes: Any = None,
                    sinks: Any = None) -> Any:
    """attention() on numpy arrays and DLPack tensors (torch tensors arrive here from the
    attnc::attention op's eager implementation)."""
    packed = cu_seqlens_q is not None or cu_seqlens_kv is not None
    qt, kt, vt = _problem_of(q, k, v, cu_seqlens_q is not None, cu_seqlens_kv is not None)
    kernel = compile(heads_q=qt.array.shape[-2], heads_kv=kt.array.shape[-2],
                     head_dim=qt.array.shape[-1], head_dim_v=vt.array.shape[-1], dtype=qt.dtype,
                     variant="softmax", scale=scale, causal=causal, window=window,
                     global_tokens=global_tokens, softcap=softcap, return_lse=return_lse,
                     return_entropy=return_entropy, target=target,
                     page_size=0 if block_table is None else kt.array.shape[1],
                     alibi=alibi_slopes is not None, sinks=sinks is not None)
    extra = (0.0, kernel._head_values(alibi_slopes, "alibi_slopes", "alibi", kernel.alibi),
             kernel._head_values(sinks, "sinks", "sinks", kernel.sinks))
    if packed:
        return kernel._run_packed(qt, kt, vt, cu_seqlens_q, cu_seqlens_kv, seqlens_q,
                                  seqlens_kv, block_table, None, extra)
    return kernel._run(qt, kt, vt, seqlens_q, seqlens_kv, block_table, None, extra)


def linear_attention(q: Any, k: Any, v: Any, *, feature_map: str = "elu_plus_one",
                     causal: bool = False, normalize: bool = True, scale: Optional[float] = None,
                     seqlens_q: Any = None, seqlens_kv: Any = None, target: str = "cpu",
                     cu_seqlens_q: Any = None, cu_seqlens_kv: Any = None) -> Any:
    """Linear (kernelized) attention, Katharopoulos et al. 2020, on BSHD tensors.

    phi = feature_map ("elu_plus_one", "relu" or "identity") is applied to scale * q and to k;
    o_i = phi(q_i)^T S / (phi(q_i)^T z + 1e-6) with S = sum_j phi(k_j) v_j^T, z = sum_j phi(k_j)
    (over j <= i's position when causal; without the denominator when normalize=False).
    Returns o [B, Sq, Hq, Dv] in the input's dtype and kind (see :func:`attention`; packed rows
    with cu_seqlens_q / cu_seqlens_kv as there).
    """
    packed = cu_seqlens_q is not None or cu_seqlens_kv is not None
    qt, kt, vt = _problem_of(q, k, v, cu_seqlens_q is not None, cu_seqlens_kv is not None)
    kernel = compile(heads_q=qt.array.shape[-2], heads_kv=kt.array.shape[-2],
                     head_dim=qt.array.shape[-1], head_dim_v=vt.array.shape[-1], dtype=qt.dtype,
                     variant="linear", scale=scale, causal=causal, feature_map=feature_map,
                     normalize=normalize, target=target)
    if packed:
        return kernel._run_packed(qt, kt, vt, cu_seqlens_q, cu_seqlens_kv, seqlens_q,
                                  seqlens_kv, None, None)
    return kernel._run(qt, kt, vt, seqlens_q, seqlens_kv)
