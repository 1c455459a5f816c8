"""target="cuda": the functional API and attn.compile on the CUDA backend against the float64
reference, with host arrays and with torch CUDA tensors (on torch's current stream). Without a
CUDA driver (every machine here) only the error paths run: the kernel is refused with a clear
attn.AttnError, and CUDA tensors given to a host kernel are refused by name. On a GPU machine
ATTN_REQUIRE_CUDA=1 makes a missing GPU a failure instead of a skip."""

import os
import subprocess

import numpy as np
import pytest

import attn
import attn_reference as ref
from test_attention import VARIANTS, run_case


def _cuda_unavailable():
    try:
        attn.compile(heads_q=1, head_dim=64, dtype="bfloat16", target="cuda")
    except attn.AttnError as error:
        if "CUDA" in str(error):
            return str(error)
        raise
    return None


_UNAVAILABLE = _cuda_unavailable()
if _UNAVAILABLE and os.environ.get("ATTN_REQUIRE_CUDA") == "1":
    raise RuntimeError(f"ATTN_REQUIRE_CUDA=1, but: {_UNAVAILABLE}")
needs_gpu = pytest.mark.skipif(_UNAVAILABLE is not None, reason=str(_UNAVAILABLE))


@pytest.mark.skipif(_UNAVAILABLE is None, reason="this machine has a CUDA GPU")
def test_no_driver_is_a_clear_error():
    with pytest.raises(attn.AttnError, match="no CUDA driver|no usable GPU|reports no GPU"):
        attn.compile(heads_q=8, heads_kv=2, head_dim=128, dtype="float16", causal=True,
                     target="cuda")
    with pytest.raises(attn.AttnError, match="UNSUPPORTED"):
        q = np.zeros((1, 4, 2, 64), np.float32)
        attn.attention(q, q, q, target="cuda")


def test_cuda_bundle(tmp_path):
    """A CUDA bundle (PTX: no architecture to match) loads where there is a GPU, and is refused
    with the driver's absence otherwise."""
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    path = tmp_path / "cuda.attnb"
    subprocess.run([attnc, "--target=cuda", "--arch=sm_80", "--cuda-toolkit=/nonexistent",
                    "--heads-q=8", "--heads-kv=2",
                    "--head-dim=128", "--dtype=bf16", "--causal", "--emit=bundle", "-o",
                    str(path)], check=True)
    if _UNAVAILABLE is not None:
        with pytest.raises(attn.AttnError, match="CUDA"):
            attn.load_bundle(path)
        return
    kernel = attn.load_bundle(path)
    assert (kernel.target, kernel.dtype, kernel.causal) == ("cuda", "bfloat16", True)
    rng = np.random.default_rng(5)
    q = ref.random(rng, (1, 40, 8, 128), "bfloat16")
    k = ref.random(rng, (1, 90, 2, 128), "bfloat16")
    v = ref.random(rng, (1, 90, 2, 128), "bfloat16")
    ref.assert_close(kernel(q, k, v), ref.attention(q, k, v, causal=True)[0], "bfloat16")


class _FakeCudaTensor:
    """Only what _as_tensor looks at: a DLPack device of kind CUDA."""

    def __dlpack__(self, stream=None):
        raise AssertionError("a host kernel must not import a CUDA tensor")

    def __dlpack_device__(self):
        return (2, 0)


def test_cuda_tensors_need_target_cuda():
    kernel = attn.compile(heads_q=2, head_dim=32)
    x = np.zeros((1, 3, 2, 32), np.float32)
    with pytest.raises(ValueError, match="CUDA tensors need target='cuda'"):
        kernel(_FakeCudaTensor(), x, x)


@needs_gpu
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_variant_host_arrays(name):
    for dtype in ("float32", "bfloat16"):
        run_case(target="cuda", dtype=dtype, **VARIANTS[name])


@needs_gpu
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_torch_cuda_tensors(dtype):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(11)
    q = ref.random(rng, (2, 77, 8, 128), dtype)
    k = ref.random(rng, (2, 300, 2, 128), dtype)
    v = ref.random(rng, (2, 300, 2, 128), dtype)
    to = {"float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]

    def dev(a):
        bits = a.view(np.uint16) if dtype == "bfloat16" else a
        t = torch.from_numpy(bits.copy()).cuda()
        return t.view(torch.bfloat16) if dtype == "bfloat16" else t

    kernel = attn.compile(heads_q=8, heads_kv=2, head_dim=128, dtype=dtype, causal=True,
                          return_lse=True, target="cuda")
    o, lse = kernel(dev(q), dev(k), dev(v))
    torch.cuda.current_stream().synchronize()
    assert o.device == dev(q).device and o.dtype == to
    want_o, want_lse, _ = ref.attention(q, k, v, causal=True)
    got = o.float().cpu().numpy().astype(ref.np_dtype(dtype))
    ref.assert_close(got, want_o, dtype)
    ref.assert_stat_close(lse.cpu().numpy(), want_lse, dtype)
    with pytest.raises(ValueError, match="requires grad"):
        kernel(dev(q).requires_grad_(True), dev(k), dev(v))
