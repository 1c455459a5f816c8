import os
"""Type stubs of the attn package (attnc's fused attention kernels)."""

from typing import Any, Literal, Optional, Sequence, Tuple, Union, overload

import numpy as np

__version__: str

_Tensor = Any  # a numpy array (float32, float16, ml_dtypes.bfloat16) or a CPU __dlpack__ tensor
_Lengths = Optional[Union[Sequence[int], np.ndarray, Any]]
_Target = Literal["cpu", "cuda", "vulkan"]
_FeatureMap = Literal["elu_plus_one", "relu", "identity"]

class AttnError(RuntimeError):
    """A runtime failure other than a bad argument; carries the C API's message."""

class Kernel:
    variant: Literal["softmax", "linear"]
    dtype: Literal["float32", "float16", "bfloat16"]
    heads_q: int
    heads_kv: int
    head_dim: int
    head_dim_v: int
    scale: float
    causal: bool
    window: Tuple[int, int]
    global_tokens: int
    softcap: float
    return_lse: bool
    return_entropy: bool
    feature_map: _FeatureMap
    normalize: bool
    target: _Target
    page_size: int
    alibi: bool
    sinks: bool
    @property
    def config(self) -> dict: ...
    def __call__(self, q: _Tensor, k: _Tensor, v: _Tensor, *, seqlens_q: _Lengths = None,
                 seqlens_kv: _Lengths = None, block_table: Any = None, out: Any = None,
                 lse: Any = None, entropy: Any = None, cu_seqlens_q: _Lengths = None,
                 cu_seqlens_kv: _Lengths = None, scale: Optional[float] = None,
                 alibi_slopes: Any = None, sinks: Any = None) -> Any: ...

def compile(*, heads_q: int, head_dim: int, heads_kv: Optional[int] = None,
            head_dim_v: Optional[int] = None, dtype: Any = "float32",
            variant: Literal["softmax", "linear"] = "softmax", scale: Optional[float] = None,
            causal: bool = False, window: Tuple[int, int] = (-1, -1), global_tokens: int = 0,
            softcap: float = 0.0, return_lse: bool = False, return_entropy: bool = False,
            feature_map: _FeatureMap = "elu_plus_one", normalize: bool = True,
            target: _Target = "cpu", page_size: int = 0, alibi: bool = False,
            sinks: bool = False) -> Kernel: ...

@overload
def attention(q: _Tensor, k: _Tensor, v: _Tensor, *, scale: Optional[float] = None,
              causal: bool = False, window: Tuple[int, int] = (-1, -1), global_tokens: int = 0,
              softcap: float = 0.0, seqlens_q: _Lengths = None, seqlens_kv: _Lengths = None,
              return_lse: Literal[False] = False, return_entropy: Literal[False] = False,
              target: _Target = "cpu", block_table: Any = None, cu_seqlens_q: _Lengths = None,
              cu_seqlens_kv: _Lengths = None, alibi_slopes: Any = None,
              sinks: Any = None) -> Any: ...
@overload
def attention(q: _Tensor, k: _Tensor, v: _Tensor, *, scale: Optional[float] = None,
              causal: bool = False, window: Tuple[int, int] = (-1, -1), global_tokens: int = 0,
              softcap: float = 0.0, seqlens_q: _Lengths = None, seqlens_kv: _Lengths = None,
              return_lse: bool = False, return_entropy: bool = False,
              target: _Target = "cpu", block_table: Any = None, cu_seqlens_q: _Lengths = None,
              cu_seqlens_kv: _Lengths = None, alibi_slopes: Any = None,
              sinks: Any = None) -> Union[Any, Tuple[Any, ...]]: ...

def linear_attention(q: _Tensor, k: _Tensor, v: _Tensor, *,
                     feature_map: _FeatureMap = "elu_plus_one", causal: bool = False,
                     normalize: bool = True, scale: Optional[float] = None,
                     seqlens_q: _Lengths = None, seqlens_kv: _Lengths = None,
                     target: _Target = "cpu") -> Any: ...

def merge(o_parts: Union[Sequence[Any], np.ndarray],
          lse_parts: Union[Sequence[Any], np.ndarray]) -> Tuple[np.ndarray, np.ndarray]: ...

def load_bundle(path: Union[str, "os.PathLike[str]"], **problem: Any) -> Kernel:
    """Loads the kernel of an `attnc --emit=bundle` file (no compiler involved); of a bundle of
    many, the one for `problem` (compile()'s keyword arguments)."""

def context_stats() -> dict[str, int]: ...
def device_info(target: _Target = "cpu") -> dict[str, Any]: ...
