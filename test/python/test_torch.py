"""torch integration (skipped without torch; benchmarks/torch-venv.sh makes a venv with it):
the attnc::attention / attnc::merge custom ops under torch.compile (fullgraph: no graph break),
their fake implementations, torch dtypes, bfloat16 without ml_dtypes, and requires_grad."""

import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import attn  # noqa: E402
import attn_reference as ref  # noqa: E402


def qkv(dtype=torch.float32, B=2, Sq=33, Skv=47, Hq=8, Hkv=2, D=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randn(B, Sq, Hq, D, generator=g).to(dtype)
    k = torch.randn(B, Skv, Hkv, D, generator=g).to(dtype)
    v = torch.randn(B, Skv, Hkv, D, generator=g).to(dtype)
    return q, k, v


def as_np(t):
    return t.float().numpy()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_attention_op_eager_matches_reference(dtype):
    q, k, v = qkv(dtype)
    sinks = torch.linspace(-1, 2, 8)
    o, lse = attn.attention(q, k, v, causal=True, return_lse=True, sinks=sinks)
    assert isinstance(o, torch.Tensor) and o.dtype == dtype and lse.dtype == torch.float32
    want_o, want_lse, _ = ref.attention(as_np(q), as_np(k), as_np(v), causal=True,
                                        sinks=sinks.numpy())
    name = str(dtype).rpartition(".")[2]
    ref.assert_close(as_np(o), want_o, name)
    ref.assert_stat_close(lse.numpy(), want_lse, name)


def test_attention_under_torch_compile_fullgraph():
    q, k, v = qkv()
    slopes = torch.rand(8) * 0.3

    def layer(q, k, v, slopes):
        o, lse = attn.attention(q * 0.5, k, v, causal=True, return_lse=True,
                                alibi_slopes=slopes)
        return o.sum(dim=-1), lse + 1

    compiled = torch.compile(layer, fullgraph=True, dynamic=False)
    got_o, got_lse = compiled(q, k, v, slopes)
    want_o, want_lse = layer(q, k, v, slopes)
    torch.testing.assert_close(got_o, want_o, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(got_lse, want_lse, rtol=1e-5, atol=1e-5)
    # The graph holds the op itself, traced through its fake implementation.
    graphs = []

    def backend(gm, inputs):
        graphs.append(gm)
        return gm.forward

    torch._dynamo.reset()
    torch.compile(layer, backend=backend, fullgraph=True)(q, k, v, slopes)
    assert any("attnc.attention" in str(node.target) for g in graphs for node in g.graph.nodes)


def test_fake_tensors_give_shapes():
    from torch._subclasses.fake_tensor import FakeTensorMode
    with FakeTensorMode():
        q = torch.empty(3, 5, 8, 64)
        k = torch.empty(3, 9, 2, 64)
        v = torch.empty(3, 9, 2, 96)
        o, lse, ent = torch.ops.attnc.attention(q, k, v, 0.0, True, -1, -1, 0, 0.0, True, True,
                                                None, None, None, None, None, None, None)
        assert tuple(o.shape) == (3, 5, 8, 96) and tuple(lse.shape) == (3, 8, 5)
        assert ent.dtype == torch.float32
    torch.library.opcheck(torch.ops.attnc.attention.default,
                          (*qkv(B=1, Sq=4, Skv=6, Hq=2, Hkv=2, D=32), 0.0, False, -1, -1, 0, 0.0,
                           True, False, None, None, None, None, None, None, None))


def test_merge_on_torch_tensors():
    q, k, v = qkv(torch.bfloat16, Sq=3, Skv=40)
    o1, l1 = attn.attention(q, k[:, :25], v[:, :25], return_lse=True)
    o2, l2 = attn.attention(q, k[:, 25:], v[:, 25:], return_lse=True)
    o, lse = attn.merge([o1, o2], [l1, l2])
    assert isinstance(o, torch.Tensor) and o.dtype == torch.bfloat16
    want, want_lse = attn.attention(q, k, v, return_lse=True)
    ref.assert_close(as_np(o), as_np(want), "bfloat16")
    ref.assert_stat_close(lse.numpy(), want_lse.numpy(), "bfloat16")
    merged = torch.compile(lambda a, b: attn.merge(a, b), fullgraph=True)(
        torch.stack([o1, o2]), torch.stack([l1, l2]))
    torch.testing.assert_close(merged[1], lse)


def test_torch_dtypes_and_requires_grad():
    kernel = attn.compile(heads_q=4, head_dim=32, dtype=torch.bfloat16)
    assert kernel.dtype == "bfloat16"
    assert attn.compile(heads_q=4, head_dim=32, dtype="fp16").dtype == "float16"
    with pytest.raises(TypeError, match="dtype must be"):
        attn.compile(heads_q=4, head_dim=32, dtype=torch.int8)
    q, k, v = qkv(B=1, Hq=4, Hkv=4, D=32)
    q.requires_grad_(True)
    with pytest.raises(ValueError, match="attnc computes no gradients"):
        attn.attention(q, k, v)
    with pytest.raises(ValueError, match="attnc computes no gradients"):
        attn.compile(heads_q=4, head_dim=32)(q, k, v)
    with torch.no_grad():
        o = attn.attention(q, k, v)
    with torch.inference_mode():
        o2 = attn.compile(heads_q=4, head_dim=32)(q, k, v)
    torch.testing.assert_close(o, o2)


def test_bfloat16_without_ml_dtypes():
    """torch bfloat16 tensors need no ml_dtypes: nothing converts them (a fresh interpreter
    where importing ml_dtypes fails)."""
    code = """
import sys
sys.modules['ml_dtypes'] = None  # import ml_dtypes raises ImportError
import torch, attn
q = torch.randn(1, 9, 4, 64).to(torch.bfloat16)
k = torch.randn(1, 17, 4, 64).to(torch.bfloat16)
o, lse = attn.attention(q, k, k, causal=True, return_lse=True)
kernel = attn.compile(heads_q=4, head_dim=64, dtype=torch.bfloat16)
o2 = kernel(q, k, k)
want = torch.nn.functional.scaled_dot_product_attention(
    q.float().transpose(1, 2), k.float().transpose(1, 2), k.float().transpose(1, 2),
    is_causal=False).transpose(1, 2)
err = ((o2.float() - want).norm() / want.norm()).item()
assert o.dtype == torch.bfloat16 and err < 1e-2, err
print("ok", err)
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")
