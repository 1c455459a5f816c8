"""The JIT takes configurations from a tuning database written by attnc tune (ATTN_TUNING_DB),
says which it used (Kernel.config), and falls back to its heuristic, with a warning, on a file it
cannot use. Each case runs in a fresh interpreter: the database is read when the process's
context is created."""

import os
import subprocess
import sys

import pytest

import attn

_CHILD = r"""
import sys
import numpy as np
import attn, attn_reference as ref
k = attn.compile(heads_q=2, head_dim=32, causal=True)
rng = np.random.default_rng(7)
q, kk, v = (ref.random(rng, (1, 70, 2, 32)) for _ in range(3))
ref.assert_close(k(q, kk, v), ref.attention(q, kk, v, causal=True)[0], "float32")
other = attn.compile(heads_q=2, head_dim=64)
print(k.config["source"], other.config["source"], k.config["text"])
"""


_VULKAN_CHILD = r"""
import numpy as np
import attn, attn_reference as ref
k = attn.compile(heads_q=4, heads_kv=2, head_dim=32, causal=True, target="vulkan")
rng = np.random.default_rng(11)
for sq, skv in [(70, 70), (1, 600)]:  # prefill, then split-KV decode
    q = ref.random(rng, (2, sq, 4, 32))
    kk, v = (ref.random(rng, (2, skv, 2, 32)) for _ in range(2))
    ref.assert_close(k(q, kk, v), ref.attention(q, kk, v, causal=True)[0], "float32")
print(k.config["source"], k.config["text"])
"""


def _run(env_db, child=_CHILD):
    env = dict(os.environ, ATTN_TUNING_DB=env_db)
    env["PYTHONPATH"] = os.pathsep.join(
        [os.path.dirname(__file__), os.path.dirname(os.path.dirname(attn.__file__))]
        + env.get("PYTHONPATH", "").split(os.pathsep))
    return subprocess.run([sys.executable, "-c", child], env=env, capture_output=True,
                          text=True, check=True)


def test_config_says_heuristic_without_a_database():
    k = attn.compile(heads_q=2, head_dim=32, causal=True)
    c = k.config
    assert c["source"] in ("heuristic", "tuned")  # tuned only when ATTN_TUNING_DB is set
    assert c["block_q"] >= 1 and c["block_k"] >= c["vector_width"] >= 4
    assert c["text"].startswith("cpu ")


def test_the_jit_uses_a_tuned_entry_and_says_so(tmp_path):
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    db = tmp_path / "tuning.db"
    # The device a tuned entry is for includes the threads kernels run on: the context's default.
    subprocess.run([attnc, "tune", "--heads-q=2", "--head-dim=32", "--causal", f"--db={db}",
                    "--shape=1x64x64", "--max-configs=2", "--reps=3", "--sample-ms=1",
                    f"--tune-threads={os.cpu_count()}"], check=True, capture_output=True)
    result = _run(str(db))
    tuned, other, text = result.stdout.split(maxsplit=2)
    assert (tuned, other) == ("tuned", "heuristic"), result.stdout
    assert "cpu tuned" in text
    assert "warning" not in result.stderr


def test_the_vulkan_jit_uses_a_tuned_entry(tmp_path):
    attnc = os.environ.get("ATTNC")
    if not attnc:
        pytest.skip("needs attnc (ctest sets ATTNC)")
    db = tmp_path / "tuning.db"
    sweep = subprocess.run(
        [attnc, "tune", "--target=vulkan", "--heads-q=4", "--heads-kv=2", "--head-dim=32",
         "--causal", f"--db={db}", "--shape=1x64x64", "--shape=2x1x512", "--max-configs=3",
         "--reps=3", "--warmup=1", "--sample-ms=1"], capture_output=True, text=True)
    if sweep.returncode != 0 and "needs a Vulkan device" in sweep.stderr:
        if os.environ.get("ATTN_REQUIRE_VULKAN") == "1":
            raise RuntimeError(f"ATTN_REQUIRE_VULKAN=1, but: {sweep.stderr}")
        pytest.skip(sweep.stderr.strip())
    assert sweep.returncode == 0, sweep.stderr
    result = _run(str(db), _VULKAN_CHILD)
    source, text = result.stdout.split(maxsplit=1)
    assert source == "tuned" and text.startswith("vulkan tuned"), result.stdout
    assert "warning" not in result.stderr


def test_an_unusable_database_is_a_warning_and_the_heuristic(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("this is not an SQLite database, only text\n")
    result = _run(str(bad))
    assert result.stdout.split()[:2] == ["heuristic", "heuristic"]
    assert "tuning database ignored" in result.stderr
    assert bad.read_text() == "this is not an SQLite database, only text\n"
