"""The HTTP listener under slow clients: /metrics latency with 200 trickling connections.

Not asserted (timings on a shared 2-core machine are noise): prints the scrape latency with no
other client, then while 200 clients hold connections open mid-headers, and the process's
thread count in both phases (the worker pool is fixed, so it must not grow).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time

import httpx
from prometheus_client import CollectorRegistry

from syncd.service.logs import configure_logging
from syncd.service.metrics import Metrics
from syncd.service.webserver import ListenerLimits, start_server

SLOW_CLIENTS = 200
SCRAPES = 50


def _scrape_ms(client: httpx.Client) -> list[float]:
    seconds = []
    for _ in range(SCRAPES):
        started = time.perf_counter()
        client.get("/metrics").raise_for_status()
        seconds.append((time.perf_counter() - started) * 1000)
    return seconds


def _line(label: str, samples: list[float]) -> str:
    p95 = statistics.quantiles(samples, n=20)[-1]
    return (
        f"{label:<38} p50 {statistics.median(samples):6.2f} ms  p95 {p95:6.2f} ms  "
        f"max {max(samples):6.2f} ms  threads {threading.active_count()}"
    )


def main() -> int:
    """Print /metrics latency without and with 200 slow clients; always returns 0."""
    configure_logging(level="warning", fmt="json")  # one debug event per scrape is noise here
    metrics = Metrics(registry=CollectorRegistry())
    server = start_server(
        bind="127.0.0.1",
        port=0,
        metrics_registry=metrics.registry,
        readiness=lambda: (True, "ready"),
        on_webhook=lambda _event: None,
        webhook_secret=None,
        limits=ListenerLimits(request_timeout=120),
    )
    slow: list[socket.socket] = []
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            print(_line("/metrics, no other client", _scrape_ms(client)))
            for index in range(SLOW_CLIENTS):
                conn = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                conn.sendall(f"GET /metrics HTTP/1.1\r\nX-Slow-{index}: ".encode())
                slow.append(conn)
            print(_line(f"/metrics, {SLOW_CLIENTS} slow clients connected", _scrape_ms(client)))
    finally:
        for conn in slow:
            conn.close()
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
