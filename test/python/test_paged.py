"""A paged KV cache (block_table) against the float64 reference on the same keys, contiguous."""

import numpy as np
import pytest

import attn
import attn_reference as ref


def paged_cache(rng, k, v, lens, page):
    """k, v [B, S, H, D] as shuffled pages (spare pages NaN) and the block table (-1 past a
    sequence's last page)."""
    B, S = k.shape[:2]
    max_pages = -(-S // page)
    num_pages = B * max_pages + 2
    order = rng.permutation(num_pages)
    kp = np.full((num_pages, page) + k.shape[2:], np.nan, k.dtype)
    vp = np.full((num_pages, page) + v.shape[2:], np.nan, v.dtype)
    table = np.full((B, max_pages), -1, np.int32)
    n = 0
    for b in range(B):
        for i in range(-(-lens[b] // page)):
            table[b, i] = order[n]
            n += 1
        for j in range(lens[b]):
            kp[table[b, j // page], j % page] = k[b, j]
            vp[table[b, j // page], j % page] = v[b, j]
    return kp, vp, table


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("page", [1, 16, 256])
@pytest.mark.parametrize("Sq,causal", [(1, False), (9, True)])
def test_paged_matches_reference(dtype, page, Sq, causal):
    rng = np.random.default_rng(7)
    B, S, Hq, Hkv, D = 3, 300, 8, 2, 64
    q = ref.random(rng, (B, Sq, Hq, D), dtype)
    k = ref.random(rng, (B, S, Hkv, D), dtype)
    v = ref.random(rng, (B, S, Hkv, D), dtype)
    lens = np.array([300, 17, 129], np.int32)
    kp, vp, table = paged_cache(rng, k, v, lens, page)
    kernel = attn.compile(heads_q=Hq, heads_kv=Hkv, head_dim=D, dtype=dtype, causal=causal,
                          return_lse=True, page_size=page)
    assert kernel.page_size == page
    o, lse = kernel(q, kp, vp, block_table=table, seqlens_kv=lens)
    want_o, want_lse, _ = ref.attention(q, k, v, causal=causal, seqlens_kv=lens)
    ref.assert_close(o, want_o, dtype)
    ref.assert_stat_close(lse, want_lse, dtype)
    # The functional form reads the page size off k.
    o2 = attn.attention(q, kp, vp, causal=causal, block_table=table, seqlens_kv=lens)
    ref.assert_close(o2, want_o, dtype)


def test_paged_errors():
    rng = np.random.default_rng(3)
    q = ref.random(rng, (2, 1, 4, 32))
    kp = ref.random(rng, (5, 8, 4, 32))
    table = np.array([[0, 1], [2, 3]], np.int32)
    kernel = attn.compile(heads_q=4, head_dim=32, page_size=8)
    with pytest.raises(ValueError, match="pass block_table"):
        kernel(q, kp, kp)
    with pytest.raises(ValueError, match=r"block_table\[1\]\[0\] is 7, expected a page index in "
                                         r"0..4"):
        kernel(q, kp, kp, block_table=np.array([[0, 1], [7, 3]], np.int32))
    # Entries past a sequence's last page are not read, so not checked either.
    kernel(q, kp, kp, block_table=np.array([[0, 1], [2, 99]], np.int32),
           seqlens_kv=np.array([16, 8], np.int32))
    with pytest.raises(ValueError, match="one row per batch"):
        kernel(q, kp, kp, block_table=table[:1])
    with pytest.raises(ValueError, match="page_size=8"):
        kernel(q, ref.random(rng, (5, 4, 4, 32)), kp, block_table=table)
    with pytest.raises(ValueError, match="seqlens_kv must be in"):
        kernel(q, kp, kp, block_table=table, seqlens_kv=np.array([17, 1], np.int32))
    with pytest.raises(ValueError, match="power of two"):
        attn.compile(heads_q=4, head_dim=32, page_size=12)
    with pytest.raises(ValueError, match="linear attention"):
        attn.compile(heads_q=4, head_dim=32, page_size=8, variant="linear")
    with pytest.raises(ValueError, match="block_table is for kernels compiled with page_size"):
        attn.compile(heads_q=4, head_dim=32)(q, kp, kp, block_table=table)


def test_paged_bundle(tmp_path):
    """A bundle built with attnc --page-size loads as a paged kernel (no compiler involved)."""
    import os
    import subprocess
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    path = tmp_path / "paged.attnb"
    subprocess.run([attnc, "--heads-q=4", "--heads-kv=2", "--head-dim=32", "--page-size=4",
                    "--emit=bundle", "-o", str(path)], check=True)
    kernel = attn.load_bundle(path)
    assert kernel.page_size == 4 and "page_size=4" in repr(kernel)
    rng = np.random.default_rng(5)
    q = ref.random(rng, (2, 3, 4, 32))
    k = ref.random(rng, (2, 10, 2, 32))
    v = ref.random(rng, (2, 10, 2, 32))
    lens = np.array([10, 6], np.int32)
    kp, vp, table = paged_cache(rng, k, v, lens, 4)
    o = kernel(q, kp, vp, block_table=table, seqlens_kv=lens)
    want, _, _ = ref.attention(q, k, v, seqlens_kv=lens)
    ref.assert_close(o, want, "float32")
