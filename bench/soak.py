"""Soak of the local backend: 20 concurrent query clients and an OTLP sender, in bursts with idle gaps.

    .venv/bin/python bench/soak.py [--seconds 60] [--clients 20] [--queries 2000]

Starts `logfire-notebook serve` on a data dir filled with the tests' standard dataset, then

1. the baseline: one client runs the query mix alone (after a warm-up) and the idle p99 is taken;
2. the soak: `--clients` threads run the mix (the widget's rows + timeline pair, an aggregation, a JSON
   attribute filter) while one thread sends OTLP span batches, in 15 s bursts separated by 11 s idle gaps
   (longer than the server keeps an idle worker thread), until `--seconds` have passed and at least
   `--queries` queries have been answered.

Prints the errors (target 0), the soak p50/p99 and its p99 as a ratio to the idle p99, the OTLP requests,
and the server's resident memory (with its decoding workers) after the first 10% of queries and at the end
(target: flat, ratio <= 1.25). Exits 1 if any request failed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402

ARROW = "application/vnd.apache.arrow.stream"
WINDOW = {"min_timestamp": "2000-01-01T00:00:00Z"}
MIX = [
    {"sql": "SELECT * FROM records ORDER BY start_timestamp DESC", "limit": 200},
    {
        "sql": "SELECT time_bucket(INTERVAL '1 hour', start_timestamp) AS t, level, count(*) AS n "
        "FROM records GROUP BY t, level",
        "limit": 10_000,
    },
    {
        "sql": "SELECT service_name, level_name(max(level)) AS worst, avg(duration) AS d FROM records "
        "GROUP BY service_name ORDER BY service_name",
        "limit": 100,
    },
    {
        "sql": "SELECT span_name, attributes->>'http.route' AS route FROM records "
        "WHERE attributes->>'http.route' IS NOT NULL ORDER BY start_timestamp DESC",
        "limit": 500,
    },
]
BURST, GAP = 15.0, 11.0


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


class Soak:
    def __init__(self, base_url: str, token: str, pid: int, target_queries: int, seconds: float) -> None:
        self.base_url, self.token, self.pid = base_url, token, pid
        self.target_queries, self.seconds = target_queries, seconds
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.otlp_sent = 0
        self.memory_early: int | None = None
        self.start = time.monotonic()
        self.stop = threading.Event()

    def active(self) -> bool:
        """True in a burst, False in an idle gap."""
        return (time.monotonic() - self.start) % (BURST + GAP) < BURST

    def done(self) -> bool:
        elapsed = time.monotonic() - self.start
        return elapsed >= self.seconds and len(self.latencies) >= self.target_queries

    def query_client(self, seed: int) -> None:
        from _memory import resident_bytes

        rng = random.Random(seed)
        with httpx.Client(
            base_url=self.base_url, headers={"Authorization": self.token}, timeout=60
        ) as client:
            while not self.stop.is_set():
                if not self.active():
                    time.sleep(0.05)
                    continue
                body = {**rng.choice(MIX), **WINDOW}
                started = time.perf_counter()
                try:
                    response = client.post("/v2/query", json=body, headers={"Accept": ARROW})
                    ok = response.status_code == 200
                    problem = f"{response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__}: {exc}"
                took = time.perf_counter() - started
                with self.lock:
                    if ok:
                        self.latencies.append(took)
                    else:
                        self.errors.append(problem)
                    if self.memory_early is None and len(self.latencies) >= self.target_queries // 10:
                        self.memory_early = resident_bytes(self.pid)
                time.sleep(rng.uniform(0, 0.05))

    def otlp_sender(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

        rng = random.Random(0)
        with httpx.Client(base_url=self.base_url, timeout=60) as client:
            while not self.stop.is_set():
                if not self.active():
                    time.sleep(0.05)
                    continue
                request = ExportTraceServiceRequest()
                scope = request.resource_spans.add()
                attr = scope.resource.attributes.add()
                attr.key, attr.value.string_value = "service.name", "soak-sender"
                spans = scope.scope_spans.add()
                now = time.time_ns()
                for i in range(100):
                    span = spans.spans.add()
                    span.trace_id, span.span_id = rng.randbytes(16), rng.randbytes(8)
                    span.name = f"soak span {i % 7}"
                    span.start_time_unix_nano, span.end_time_unix_nano = now - 5_000_000, now
                try:
                    response = client.post(
                        "/v1/traces",
                        content=request.SerializeToString(),
                        headers={"Content-Type": "application/x-protobuf"},
                    )
                    ok, problem = response.status_code == 200, f"OTLP {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"OTLP {type(exc).__name__}: {exc}"
                with self.lock:
                    if ok:
                        self.otlp_sent += 1
                    else:
                        self.errors.append(problem)
                time.sleep(0.2)


def idle_baseline(base_url: str, token: str, runs: int) -> list[float]:
    latencies = []
    with httpx.Client(base_url=base_url, headers={"Authorization": token}, timeout=60) as client:
        for i in range(runs + len(MIX)):
            body = {**MIX[i % len(MIX)], **WINDOW}
            started = time.perf_counter()
            response = client.post("/v2/query", json=body, headers={"Accept": ARROW})
            response.raise_for_status()
            if i >= len(MIX):  # the first round warms up
                latencies.append(time.perf_counter() - started)
    return latencies


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()

    import _dataset
    from _backend import start_backend
    from _memory import MiB, resident_bytes

    from logfire_notebook.server.store import Store

    with tempfile.TemporaryDirectory(prefix="logfire-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        with Store(data_dir) as store:
            _dataset.fill(store)
        server = start_backend(data_dir)
        try:
            idle = idle_baseline(server.base_url, server.token, 200)
            soak = Soak(server.base_url, server.token, server.process.pid, args.queries, args.seconds)
            threads = [
                threading.Thread(target=soak.query_client, args=(i,), daemon=True)
                for i in range(args.clients)
            ]
            threads.append(threading.Thread(target=soak.otlp_sender, daemon=True))
            for thread in threads:
                thread.start()
            while not soak.done():
                time.sleep(0.2)
            soak.stop.set()
            for thread in threads:
                thread.join()
            memory_end = resident_bytes(server.process.pid)
            elapsed = time.monotonic() - soak.start
        finally:
            server.stop()

    idle_p99, soak_p99 = percentile(idle, 99), percentile(soak.latencies, 99)
    early = soak.memory_early or memory_end
    print(
        f"soak: {elapsed:.0f} s, {args.clients} query clients + 1 OTLP sender, {BURST:g} s bursts / {GAP:g} s gaps"
    )
    print(f"  errors                 {len(soak.errors)}   (target 0)")
    for problem in soak.errors[:5]:
        print(f"    {problem}")
    print(f"  queries answered       {len(soak.latencies)}")
    print(f"  OTLP requests stored   {soak.otlp_sent} (100 spans each)")
    print(f"  idle p50 / p99         {statistics.median(idle) * 1000:.1f} / {idle_p99 * 1000:.1f} ms")
    print(
        f"  soak p50 / p99         {statistics.median(soak.latencies) * 1000:.1f} / {soak_p99 * 1000:.1f} ms"
    )
    print(f"  p99 ratio soak / idle  {soak_p99 / idle_p99:.1f}x")
    print(
        f"  server memory          {early / MiB:.0f} MiB after {args.queries // 10} queries, "
        f"{memory_end / MiB:.0f} MiB after {len(soak.latencies)}: ratio {memory_end / early:.2f} (target <= 1.25)"
    )
    return 1 if soak.errors else 0


if __name__ == "__main__":
    sys.exit(main())
