"""Runtime metrics through Python: attn.metrics() is Prometheus text that a real parser
(prometheus_client's) reads, with the counts of a known run; off by default; the example server
serves it on 127.0.0.1 and is scraped here. Each run is a subprocess: the module context (and
whether it has metrics) is made once per process."""

import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

parser = pytest.importorskip("prometheus_client.parser")

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "metrics" / "serve_metrics.py"


def families(text):
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


def value(fams, family, sample_name, **labels):
    for s in fams[family].samples:
        if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
            return s.value
    raise KeyError((sample_name, labels))


def test_a_known_run_parses_and_counts():
    out = subprocess.run([sys.executable, str(EXAMPLE), "--once", "--steps", "7"],
                         capture_output=True, text=True, check=True, env=dict(os.environ))
    fams = families(out.stdout)
    kernel = "softmax_f32_hq8_hkv2_d64_causal"
    for layer in ("layer.0", "layer.1"):
        labels = dict(kernel=kernel, target="cpu", label=layer)
        assert value(fams, "attn_kernel_launches", "attn_kernel_launches_total", **labels) == 7
        assert value(fams, "attn_kernel_tokens", "attn_kernel_tokens_total", **labels) == 7
        # Q + O: 1 token x 8 heads x 128; K + V: (256 + step) keys x 2 heads x 128; 4 bytes.
        want = sum(4 * (8 * 128 + (256 + s) * 2 * 128) for s in range(7))
        assert value(fams, "attn_kernel_bytes", "attn_kernel_bytes_total", **labels) == want
        assert value(fams, "attn_kernel_latency_seconds", "attn_kernel_latency_seconds_count",
                     **labels) == 7
        assert value(fams, "attn_kernel_latency_seconds", "attn_kernel_latency_seconds_bucket",
                     le="+Inf", **labels) == 7
        p50 = value(fams, "attn_kernel_recent_latency_seconds",
                    "attn_kernel_recent_latency_seconds", quantile="0.5", **labels)
        p99 = value(fams, "attn_kernel_recent_latency_seconds",
                    "attn_kernel_recent_latency_seconds", quantile="0.99", **labels)
        assert 0 < p50 <= p99
    assert fams["attn_kernel_latency_seconds"].type == "histogram"
    assert fams["attn_kernel_recent_latency_seconds"].type == "summary"
    # run_layers' two kernels are gone by the scrape: their handles were destroyed.
    assert value(fams, "attn_kernels_alive", "attn_kernels_alive") == 0


def test_health_and_drift_in_python():
    code = r"""
import numpy as np, attn
from prometheus_client.parser import text_string_to_metric_families as parse
attn.enable_metrics()
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 32, 4, 32), dtype=np.float32)
k = rng.standard_normal((1, 32, 2, 32), dtype=np.float32)
v = rng.standard_normal((1, 32, 2, 32), dtype=np.float32)
kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32, causal=True, return_entropy=True)
kernel.set_label("l0")
kernel.set_health(nonfinite=True, entropy=True)
kernel(q, k, v)
kernel.snapshot_entropy_baseline()
q[0, 5, 3, 7] = np.nan
kernel(q, k, v)
fams = {f.name: f for f in parse(attn.metrics())}
bad = {s.labels["head"]: s.value for s in fams["attn_output_nonfinite"].samples
       if s.labels["tensor"] == "o"}
print("bad", sorted(bad.items()))
print("drift", [s.value for s in fams["attn_entropy_drift_nats"].samples])
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=dict(os.environ)).stdout
    assert "bad [('0', 0), ('1', 0), ('2', 0), ('3', 32)]" in out, out
    drift = float(out.split("drift [")[1].split("]")[0])
    assert drift > 0  # the NaN row left head 3's mean over other rows


def test_off_by_default():
    env = {k: v for k, v in os.environ.items() if k != "ATTN_METRICS"}
    code = ("import attn, numpy as np\n"
            "attn.attention(*[np.ones((1, 4, 2, 32), np.float32)] * 3)\n"
            "try:\n    attn.metrics()\nexcept attn.AttnError as e:\n    print('off:', e)\n"
            "try:\n    attn.enable_metrics()\nexcept attn.AttnError as e:\n    print('late:', e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env).stdout
    assert "off:" in out and "ATTN_METRICS=1" in out
    assert "late:" in out and "before the first kernel" in out


def test_the_example_server_is_scraped():
    proc = subprocess.Popen([sys.executable, str(EXAMPLE), "--port", "0", "--steps", "3"],
                            stdout=subprocess.PIPE, text=True, env=dict(os.environ))
    try:
        line = proc.stdout.readline()
        assert line.startswith("serving attnc metrics on "), line
        url = line.split()[-1]
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            fams = families(response.read().decode())
        launches = value(fams, "attn_kernel_launches", "attn_kernel_launches_total",
                         label="layer.0")
        assert launches >= 3  # the serving loop keeps launching
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_grafana_dashboard_queries_existing_metrics():
    """examples/metrics/grafana-dashboard.json queries only series attn.metrics() exports, with
    labels they carry: a run with health and entropy on (so every family is present) is parsed,
    and every metric name and grouping/selector label in the dashboard's expressions is looked
    up in it."""
    import json
    import re
    code = r"""
import numpy as np, attn
attn.enable_metrics()
rng = np.random.default_rng(0)
q = rng.standard_normal((1, 16, 4, 32), dtype=np.float32)
k = rng.standard_normal((1, 16, 2, 32), dtype=np.float32)
v = rng.standard_normal((1, 16, 2, 32), dtype=np.float32)
kernel = attn.compile(heads_q=4, heads_kv=2, head_dim=32, causal=True, return_lse=True,
                      return_entropy=True)
kernel.set_label("layer.0")
kernel.set_health(nonfinite=True, entropy=True)
kernel(q, k, v)
kernel.snapshot_entropy_baseline()
kernel(q, k, v)
print(attn.metrics())
"""
    text = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, env=dict(os.environ)).stdout
    samples = {}
    for fam in parser.text_string_to_metric_families(text):
        for s in fam.samples:
            samples.setdefault(s.name, set()).update(s.labels)
    dashboard = json.loads((ROOT / "examples" / "metrics" / "grafana-dashboard.json").read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)) and len(ids) >= 10
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert {"datasource", "kernel", "label"} <= variables
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    exprs += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    assert exprs
    for expr in exprs:
        names = re.findall(r"\battn_[a-z_]+\b", expr)
        assert names, expr
        labels = set()
        for group in re.findall(r"\bby \(([^)]*)\)", expr):
            labels.update(x.strip() for x in group.split(","))
        labels.update(re.findall(r"([a-z_]+)=~?\"", expr))
        for name in names:
            assert name in samples, f"{name} (in {expr!r}) is not in attn.metrics()"
            missing = labels - samples[name]
            assert not missing, f"{name} has no labels {missing} (in {expr!r})"
