"""attn's API surface: dtypes, strides, DLPack, Kernel objects, errors, threads."""

import os
import subprocess
import sys
import threading
import types

import numpy as np
import pytest

import attn
import attn_reference as ref
from attn import _attn


def qkv(seed=5, B=2, Sq=11, Skv=13, Hq=4, Hkv=2, D=32, Dv=None, dtype="float32"):
    rng = np.random.default_rng(seed)
    return (ref.random(rng, (B, Sq, Hq, D), dtype), ref.random(rng, (B, Skv, Hkv, D), dtype),
            ref.random(rng, (B, Skv, Hkv, D if Dv is None else Dv), dtype))


# ---- dtypes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_dtype_in_dtype_out(dtype):
    q, k, v = qkv(dtype=dtype)
    o = attn.attention(q, k, v, causal=True)
    assert o.dtype == ref.np_dtype(dtype)
    ref.assert_close(o, ref.attention(q, k, v, causal=True)[0], dtype)


def test_unsupported_dtypes():
    q, k, v = qkv()
    with pytest.raises(TypeError, match="float64"):
        attn.attention(q.astype(np.float64), k, v)
    with pytest.raises(TypeError, match="dtype"):
        attn.attention(q, k.astype(np.float16), v)
    with pytest.raises(TypeError):
        attn.attention(q.astype(np.int32), k, v)


# ---- strides ---------------------------------------------------------------------------------


def test_bhsd_transposed_inputs():
    rng = np.random.default_rng(11)
    B, S, H, D = 2, 19, 4, 64
    q_bhsd, k_bhsd, v_bhsd = (ref.random(rng, (B, H, S, D)) for _ in range(3))
    q, k, v = (x.transpose(0, 2, 1, 3) for x in (q_bhsd, k_bhsd, v_bhsd))
    assert not q.flags.c_contiguous
    o = attn.attention(q, k, v, causal=True)
    ref.assert_close(o, ref.attention(q, k, v, causal=True)[0], "float32")
    np.testing.assert_allclose(
        o, attn.attention(*(np.ascontiguousarray(x) for x in (q, k, v)), causal=True),
        rtol=1e-6, atol=1e-7)


def test_sliced_and_broadcast_inputs():
    q, k, v = qkv(Hq=4, Hkv=1)
    big = np.random.default_rng(3).standard_normal((2, 11, 8, 32)).astype(np.float32)
    q_view = big[:, :, ::2]  # every other head: a head stride of 64
    k_bcast = np.broadcast_to(k[:1], k.shape)  # batch stride 0
    o = attn.attention(q_view, k_bcast, v)
    ref.assert_close(o, ref.attention(q_view, k_bcast, v)[0], "float32")


def test_last_dim_must_be_contiguous():
    q, k, v = qkv()
    wide = np.repeat(q, 2, axis=3)
    with pytest.raises((ValueError, TypeError), match="contiguous|stride"):
        attn.attention(wide[..., ::2], k, v)


# ---- DLPack ----------------------------------------------------------------------------------


class Capsule:
    """A minimal foreign tensor: only __dlpack__ / __dlpack_device__ over a numpy array."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


def test_dlpack_inputs():
    q, k, v = qkv()
    o = attn.attention(Capsule(q), Capsule(k), Capsule(v), causal=True)
    # Capsule's module has no from_dlpack: the result is numpy.
    assert isinstance(o, np.ndarray)
    np.testing.assert_array_equal(o, attn.attention(q, k, v, causal=True))
    # Round trip: numpy's own DLPack export of a result, then back in.
    o2 = attn.attention(np.from_dlpack(o), Capsule(np.from_dlpack(k)), v)
    ref.assert_close(o2, ref.attention(o, k, v)[0], "float32")


def test_dlpack_non_contiguous():
    q, k, v = qkv()
    qt = np.ascontiguousarray(q.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)
    o = attn.attention(Capsule(qt), k, v)
    ref.assert_close(o, ref.attention(q, k, v)[0], "float32")


@pytest.fixture
def fake_framework():
    """A framework module 'fakefw' whose tensors use DLPack and which has from_dlpack."""
    mod = types.ModuleType("fakefw")

    class Tensor(Capsule):
        pass

    Tensor.__module__ = "fakefw"

    def from_dlpack(x):
        try:
            return Tensor(np.from_dlpack(x))
        except (BufferError, TypeError, RuntimeError):  # bfloat16: keep the bits
            t = Tensor(_attn.bf16_bits(x))
            t.bf16 = True
            t.keep = x
            return t

    mod.Tensor = Tensor
    mod.from_dlpack = from_dlpack
    sys.modules["fakefw"] = mod
    yield mod
    del sys.modules["fakefw"]


def test_output_in_the_input_kind(fake_framework):
    q, k, v = qkv()
    o, lse = attn.attention(*(fake_framework.Tensor(x) for x in (q, k, v)), return_lse=True)
    assert isinstance(o, fake_framework.Tensor) and isinstance(lse, fake_framework.Tensor)
    want, want_lse = attn.attention(q, k, v, return_lse=True)
    np.testing.assert_array_equal(o._array, want)
    np.testing.assert_array_equal(lse._array, want_lse)


def test_bfloat16_through_dlpack(fake_framework):
    q, k, v = qkv(dtype="bfloat16")
    # bf16_export gives a bfloat16 DLPack tensor (numpy cannot): what torch.bfloat16 looks like.
    q_dl, k_dl, v_dl = (_attn.bf16_export(x.view(np.uint16)) for x in (q, k, v))
    o = attn.attention(q_dl, k_dl, v_dl)
    np.testing.assert_array_equal(np.asarray(o).view(np.uint16) if isinstance(o, np.ndarray)
                                  else o._array, attn.attention(q, k, v).view(np.uint16))
    o_fw = attn.attention(*(fake_framework.Tensor(x) for x in (q_dl, k_dl, v_dl)))
    assert getattr(o_fw, "bf16", False)
    np.testing.assert_array_equal(o_fw._array, attn.attention(q, k, v).view(np.uint16))


def test_torch_roundtrip():
    torch = pytest.importorskip("torch")
    q, k, v = qkv()
    for dtype in (torch.float32, torch.float16, torch.bfloat16):
        tq, tk, tv = (torch.from_numpy(x).to(dtype) for x in (q, k, v))
        o = attn.attention(tq, tk, tv, causal=True)
        assert isinstance(o, torch.Tensor) and o.dtype == dtype
        name = {torch.float32: "float32", torch.float16: "float16",
                torch.bfloat16: "bfloat16"}[dtype]
        want = ref.attention(*(x.float().numpy() for x in (tq, tk, tv)), causal=True)[0]
        ref.assert_close(o.float().numpy(), want, name)
    # BHSD storage seen as BSHD.
    tq = torch.from_numpy(q).permute(0, 2, 1, 3).contiguous().permute(0, 2, 1, 3)
    o = attn.attention(tq, torch.from_numpy(k), torch.from_numpy(v))
    ref.assert_close(o.numpy(), ref.attention(q, k, v)[0], "float32")


# ---- Kernel objects --------------------------------------------------------------------------


def test_compiled_kernel_reuse_and_repr():
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32, causal=True, return_lse=True)
    assert "causal=True" in repr(kernel)
    for seed, (Sq, Skv) in enumerate([(11, 13), (1, 40), (30, 30)]):
        q, k, v = qkv(seed=seed, Sq=Sq, Skv=Skv)
        o, lse = kernel(q, k, v)
        want_o, want_lse, _ = ref.attention(q, k, v, causal=True)
        ref.assert_close(o, want_o, "float32")
        ref.assert_stat_close(lse, want_lse, "float32")
    stats = attn.context_stats()
    assert stats["kernels_compiled"] + stats["disk_cache_hits"] >= 1
    del kernel  # attn_kernel_destroy


def test_device_info():
    cpu = attn.device_info()
    assert cpu["name"] in ("host", "x86-64-v3", "x86-64-v4") and cpu["subgroup_size"] == 0
    with pytest.raises(ValueError, match="target must be one of"):
        attn.device_info("tpu")


def test_kernel_checks_arguments_against_its_problem():
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32)
    q, k, v = qkv(Hq=2, Hkv=2)
    with pytest.raises(ValueError, match="heads"):
        kernel(q, k, v)
    q, k, v = qkv(Dv=64)
    with pytest.raises(ValueError, match="head dim"):
        kernel(q, k, v)
    with pytest.raises(TypeError, match="float16"):
        kernel(*(x.astype(np.float16) for x in qkv()))
    with pytest.raises(ValueError, match="seqlens_q"):
        kernel(*qkv(), seqlens_q=[1, 2, 3])
    with pytest.raises(ValueError, match="seqlens_kv"):
        kernel(*qkv(), seqlens_kv=[1, 99])


def test_threads_share_a_kernel():
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32)
    q, k, v = qkv(Sq=64, Skv=64)
    want = kernel(q, k, v)
    results = [None] * 4

    def work(i):
        results[i] = kernel(q, k, v)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for r in results:
        np.testing.assert_array_equal(r, want)


# ---- errors ----------------------------------------------------------------------------------


def test_errors_are_python_exceptions():
    q, k, v = qkv()
    assert issubclass(attn.AttnError, RuntimeError)
    with pytest.raises(ValueError, match="4 dims"):
        attn.attention(q[0], k, v)
    with pytest.raises(TypeError, match="numpy array"):
        attn.attention(q.tolist(), k, v)
    with pytest.raises(ValueError, match="multiple of heads_kv"):
        attn.attention(*qkv(Hq=3, Hkv=2))
    with pytest.raises(ValueError, match="batch"):
        attn.attention(q, k[:1], v[:1])
    with pytest.raises(ValueError, match="target"):
        attn.attention(q, k, v, target="tpu")
    with pytest.raises(ValueError, match="window"):
        attn.attention(q, k, v, window=(-2, 0))
    with pytest.raises(TypeError, match="window"):
        attn.attention(q, k, v, window=4)
    with pytest.raises(ValueError, match="softcap"):
        attn.attention(q, k, v, softcap=-1.0)
    with pytest.raises(ValueError, match="scale"):
        attn.attention(q, k, v, scale=float("nan"))
    with pytest.raises(ValueError, match="feature_map"):
        attn.linear_attention(q, k, v, feature_map="softmax")


def test_c_api_errors_carry_its_message():
    # An unsupported head dim passes Python's checks and fails in attn_kernel_create.
    with pytest.raises(attn.AttnError, match="head_dim 48"):
        attn.attention(*qkv(D=48))
    with pytest.raises(attn.AttnError, match="UNSUPPORTED"):
        attn.attention(*qkv(), target="cuda")
    # ATTN_STATUS_INVALID_ARGUMENT maps to ValueError (bypassing the package's own checks).
    with pytest.raises(ValueError, match="ATTN_STATUS_INVALID_ARGUMENT"):
        _attn.Kernel(target=0, variant=0, dtype=0, heads_q=3, heads_kv=2, head_dim=32,
                     head_dim_v=32, scale=0.0, causal=False, window_left=-1, window_right=-1,
                     global_tokens=0, softcap=0.0, return_lse=False, return_entropy=False,
                     feature_map=0, normalize=True)


def test_limits_are_errors():
    # heads_q = 2**40 once aborted the process inside the kernel generator.
    with pytest.raises(ValueError, match="ATTN_MAX_HEADS"):
        attn.compile(heads_q=2**40, heads_kv=1, head_dim=64)
    with pytest.raises(ValueError, match="ATTN_MAX_GQA_GROUP"):
        attn.compile(heads_q=512, heads_kv=1, head_dim=64)


def _build_bundle(tmp_path, *flags, name="kernel.attnb"):
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    path = tmp_path / name
    subprocess.run([attnc, *flags, "--emit=bundle", "-o", str(path)], check=True)
    return path


def test_load_bundle_runs_like_a_compiled_kernel(tmp_path):
    path = _build_bundle(tmp_path, "--heads-q=4", "--heads-kv=2", "--head-dim=32", "--causal",
                         "--lse")
    kernel = attn.load_bundle(path)
    assert (kernel.variant, kernel.dtype, kernel.heads_q, kernel.heads_kv) == \
        ("softmax", "float32", 4, 2)
    assert kernel.causal and kernel.return_lse
    q, k, v = (np.random.default_rng(s).standard_normal(shape, dtype=np.float32)
               for s, shape in ((1, (2, 9, 4, 32)), (2, (2, 13, 2, 32)), (3, (2, 13, 2, 32))))
    o, lse = kernel(q, k, v)
    o_ref, lse_ref = attn.attention(q, k, v, causal=True, return_lse=True)
    np.testing.assert_allclose(o, o_ref, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lse, lse_ref, rtol=1e-5, atol=1e-6)


def test_two_bundles_each_run_their_own_code(tmp_path):
    # The loader once named both libraries /proc/self/fd/N: the second bundle ran the first's code
    # (a causal kernel returned the dense result; D=128 then D=64 read past the buffers).
    dense = attn.load_bundle(_build_bundle(tmp_path, "--heads-q=2", "--head-dim=128",
                                           name="dense.attnb"))
    causal = attn.load_bundle(_build_bundle(tmp_path, "--heads-q=2", "--head-dim=64", "--causal",
                                            name="causal.attnb"))
    rng = np.random.default_rng(7)
    for kernel, d, is_causal in ((dense, 128, False), (causal, 64, True), (dense, 128, False)):
        q, k, v = (ref.random(rng, (2, 21, 2, d)) for _ in range(3))
        ref.assert_close(kernel(q, k, v), ref.attention(q, k, v, causal=is_causal)[0], "float32")


def test_load_bundle_rejects_a_damaged_file(tmp_path):
    path = _build_bundle(tmp_path, "--heads-q=1", "--head-dim=32")
    data = bytearray(path.read_bytes())
    data[-64] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(attn.AttnError, match="checksum mismatch"):
        attn.load_bundle(path)
    with pytest.raises(attn.AttnError, match="cannot open the bundle"):
        attn.load_bundle(tmp_path / "missing.attnb")
    with pytest.raises(TypeError):
        attn.load_bundle(3)


def test_load_bundle_of_a_model_by_problem(tmp_path):
    """A bundle of several kernels (a model's shapes, two CPU levels): load_bundle takes the
    problem as compile()'s arguments and returns that kernel, at the best level this CPU runs."""
    model = os.path.join(os.path.dirname(__file__), "..", "runtime", "Inputs", "model.mlir")
    path = _build_bundle(tmp_path, model, "--cpu=x86-64-v3,x86-64-v4", name="model.attnb")
    with pytest.raises(attn.AttnError, match="the bundle holds 6 kernels"):
        attn.load_bundle(path)
    prefill = attn.load_bundle(path, heads_q=8, heads_kv=2, head_dim=64, causal=True,
                               return_lse=True)
    sinks = attn.load_bundle(path, heads_q=8, heads_kv=2, head_dim=64, causal=True,
                             return_lse=True, sinks=True)
    linear = attn.load_bundle(path, heads_q=4, head_dim=32, variant="linear", causal=True)
    assert (prefill.sinks, sinks.sinks, linear.variant) == (False, True, "linear")
    rng = np.random.default_rng(4)
    q = rng.standard_normal((1, 20, 8, 64)).astype(np.float32)
    k = rng.standard_normal((1, 30, 2, 64)).astype(np.float32)
    v = rng.standard_normal((1, 30, 2, 64)).astype(np.float32)
    logits = rng.standard_normal(8).astype(np.float32)
    o, lse = sinks(q, k, v, sinks=logits)
    want, want_lse = attn.attention(q, k, v, causal=True, return_lse=True, sinks=logits)
    np.testing.assert_allclose(o, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(lse, want_lse, rtol=1e-5, atol=1e-6)
    with pytest.raises(attn.AttnError, match="none for this problem"):
        attn.load_bundle(path, heads_q=8, heads_kv=2, head_dim=64)
    with pytest.raises(ValueError, match="heads_q"):
        attn.load_bundle(path, heads_q=0, head_dim=64)


def test_version():
    assert attn.__version__.count(".") == 2


def test_foreign_tensor_errors():
    q, k, v = qkv()

    class OnGpu(Capsule):
        def __dlpack_device__(self):
            return (2, 0)  # kDLCUDA

    class Unexportable(Capsule):
        def __dlpack__(self, **kwargs):
            raise RuntimeError("cannot export a tensor that requires grad")

    with pytest.raises(ValueError, match="host memory"):
        attn.attention(OnGpu(q), k, v)
    with pytest.raises(TypeError, match="requires grad"):
        attn.attention(Unexportable(q), k, v)
    with pytest.raises(ValueError, match="4 dims"):
        attn.attention(_attn.bf16_export(np.zeros((2, 3), np.uint16)), k, v)


def test_empty_inputs():
    q, k, v = qkv()
    o, lse = attn.attention(q[:, :0], k, v, return_lse=True)
    assert o.shape == (2, 0, 4, 32) and lse.shape == (2, 4, 0)
    o, lse, ent = attn.attention(q, k[:, :0], v[:, :0], return_lse=True, return_entropy=True)
    assert np.all(o == 0) and np.all(np.isneginf(lse)) and np.all(ent == 0)
    assert attn.attention(q[:0], k[:0], v[:0]).shape == (0, 11, 4, 32)


def _in_fresh_interpreter(code):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_threads_follow_affinity_and_can_be_set():
    # The default pool: the CPUs this process may run on (one, after sched_setaffinity).
    assert _in_fresh_interpreter(
        "import os; os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}); import attn; "
        "print(attn.context_stats()['num_threads'])") == "1"
    # Sized from Python before the first kernel; refused (with the reason) after it.
    out = _in_fresh_interpreter(
        "import attn, numpy as np; attn.set_num_threads(3); q = np.ones((1, 4, 2, 32), "
        "np.float32); attn.attention(q, q, q); print(attn.context_stats()['num_threads']); "
        "attn.set_num_threads(3)\n"
        "try:\n  attn.set_num_threads(2)\nexcept attn.AttnError as e:\n  print(e)")
    assert out.splitlines()[0] == "3"
    assert "already runs 3 threads" in out.splitlines()[1]
    with pytest.raises(ValueError, match="at least 1"):
        attn.set_num_threads(0)


def test_scale_per_call():
    """scale= replaces the kernel's scale for one call, without a recompile."""
    q, k, v = qkv(seed=9)
    kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32, causal=True, return_lse=True)
    before = attn.context_stats()["kernels_compiled"]
    for scale in (0.05, 0.7):
        o, lse = kernel(q, k, v, scale=scale)
        want_o, want_lse, _ = ref.attention(q, k, v, causal=True, scale=np.float32(scale))
        ref.assert_close(o, want_o, "float32")
        ref.assert_stat_close(lse, want_lse, "float32")
    # The packed path and preallocated outputs take it too.
    out = np.empty_like(q)
    lse_out = np.empty((2, 4, 11), np.float32)
    kernel(q, k, v, scale=0.05, out=out, lse=lse_out)
    ref.assert_close(out, ref.attention(q, k, v, causal=True, scale=np.float32(0.05))[0],
                     "float32")
    assert attn.context_stats()["kernels_compiled"] == before
    for bad in (0, -1.0, float("inf"), 1e300):
        with pytest.raises(ValueError, match="scale"):
            kernel(q, k, v, scale=bad)
