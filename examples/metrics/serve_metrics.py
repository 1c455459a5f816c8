"""Serves attnc's runtime metrics for Prometheus to scrape, while a small loop runs attention.

    ATTN_METRICS=1 python3 examples/metrics/serve_metrics.py --port 9464 [--steps N]

Then point Prometheus at http://127.0.0.1:9464/metrics (scrape_configs: - targets:
['127.0.0.1:9464']). Each "layer" is a kernel handle with its own label, so its launches, tokens,
bytes and latency percentiles are their own series. With --steps it runs that many decode steps
and keeps serving until interrupted; --once prints one scrape's text and exits.
"""

import argparse
import http.server
import threading

import numpy as np

import attn


class MetricsHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        if self.path.split("?")[0] != "/metrics":
            self.send_error(404, "only /metrics is served")
            return
        body = attn.metrics().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # quiet
        pass


def run_layers(steps: int, layers: int = 2) -> None:
    """A few decode steps of a small GQA model: one query token against a growing KV cache."""
    rng = np.random.default_rng(0)
    kernels = []
    for i in range(layers):
        kernel = attn.compile(heads_q=8, heads_kv=2, head_dim=64, causal=True)
        kernel.set_label(f"layer.{i}")
        kernels.append(kernel)
    cache = 256
    for step in range(steps):
        kv = cache + step
        for kernel in kernels:
            q = rng.standard_normal((1, 1, 8, 64), dtype=np.float32)
            k = rng.standard_normal((1, kv, 2, 64), dtype=np.float32)
            v = rng.standard_normal((1, kv, 2, 64), dtype=np.float32)
            kernel(q, k, v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9464)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--once", action="store_true", help="print one scrape and exit")
    args = parser.parse_args()
    attn.enable_metrics()  # as ATTN_METRICS=1 would
    run_layers(args.steps)
    if args.once:
        print(attn.metrics(), end="")
        return
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), MetricsHandler)
    print(f"serving attnc metrics on http://127.0.0.1:{server.server_address[1]}/metrics",
          flush=True)
    worker = threading.Thread(target=lambda: run_layers(10**9), daemon=True)
    worker.start()
    server.serve_forever()


if __name__ == "__main__":
    main()
