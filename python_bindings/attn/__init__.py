"""attnc's fused attention kernels for Python.

Tensors are BSHD (batch, seq, heads, dim), as in FlashAttention::

    import numpy as np, attn
    q = np.random.randn(2, 128, 8, 64).astype(np.float32)
    k = np.random.randn(2, 128, 2, 64).astype(np.float32)   # GQA: 8 query heads, 2 kv heads
    v = np.random.randn(2, 128, 2, 64).astype(np.float32)
    o = attn.attention(q, k, v, causal=True)
    o, lse = attn.attention(q, k, v, return_lse=True)

Inputs are numpy arrays (float32, float16, or ml_dtypes.bfloat16) or any CPU tensor exposing
``__dlpack__`` (torch tensors work without attn depending on torch). Kernels are JIT-compiled on
first use and cached in memory and on disk (``ATTN_CACHE_DIR``).
"""

from ._attn import AttnError, set_num_threads
from ._api import (Kernel, attention, compile, context_stats, device_info, enable_metrics,
                   linear_attention, load_bundle, metrics)
from ._merge import merge

__all__ = [
    "AttnError",
    "Kernel",
    "attention",
    "compile",
    "context_stats",
    "device_info",
    "enable_metrics",
    "linear_attention",
    "load_bundle",
    "merge",
    "metrics",
    "set_num_threads",
    "__version__",
]

from ._attn import version as _version

__version__ = "%d.%d.%d" % _version()
del _version
