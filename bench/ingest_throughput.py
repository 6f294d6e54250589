"""OTLP ingest throughput of the local backend, with queries running at the same time.

    .venv/bin/python bench/ingest_throughput.py [--senders 3] [--seconds 15] [--batch 1000]

Builds ExportTraceServiceRequest batches shaped like the logfire SDK's output (logfire.* attributes, a JSON
schema, JSON-encoded arguments, code.* attributes, an exception event on some spans), pre-encodes them,
starts `logfire-notebook serve` on a fresh data dir and has several sender processes POST them to
/v1/traces (protobuf, keep-alive) for a fixed time while a query thread keeps asking /v2/query for an
aggregation. It prints acknowledged spans per second and the query latency during ingest.

Baseline, measured in the same run: the raw `Store.append_records` rate for the same spans already mapped
to Arrow (the floor that storage alone imposes, no HTTP, no decoding). Target: >= 20,000 spans/s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

QUERY = (
    "SELECT service_name, span_name, count(*) AS n, avg(duration) AS d FROM records "
    "WHERE start_timestamp > now() - interval '1 hour' GROUP BY service_name, span_name ORDER BY n DESC LIMIT 20"
)


def make_batch(batch: int, seed: int) -> bytes:
    """One pre-encoded export request: `batch` spans like the logfire SDK makes (a trace per 10 spans)."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, InstrumentationScope, KeyValue
    from opentelemetry.proto.resource.v1.resource_pb2 import Resource
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    def kv(key: str, value: object) -> KeyValue:
        if isinstance(value, bool):
            return KeyValue(key=key, value=AnyValue(bool_value=value))
        if isinstance(value, int):
            return KeyValue(key=key, value=AnyValue(int_value=value))
        return KeyValue(key=key, value=AnyValue(string_value=str(value)))

    now = time.time_ns()
    spans = []
    for i in range(batch):
        trace_id = (seed * 10**9 + i // 10).to_bytes(16, "big")
        start = now - (batch - i) * 1_000_000
        attrs = [
            kv("code.filepath", "app/handlers.py"),
            kv("code.lineno", 40 + i % 30),
            kv("code.function", "handle_order"),
            kv("logfire.msg_template", "processing order {order_id}"),
            kv("logfire.msg", f"processing order {i}"),
            kv("logfire.span_type", "span"),
            kv("order_id", i),
            kv("customer", json.dumps({"id": i % 97, "plan": "pro", "tags": ["a", "b"]})),
            kv(
                "logfire.json_schema",
                '{"type":"object","properties":{"order_id":{},"customer":{"type":"object"}}}',
            ),
        ]
        span = Span(
            trace_id=trace_id,
            span_id=(i + 1).to_bytes(8, "big"),
            parent_span_id=b"" if i % 10 == 0 else (i - i % 10 + 1).to_bytes(8, "big"),
            name="processing order {order_id}",
            kind=Span.SPAN_KIND_INTERNAL,
            start_time_unix_nano=start,
            end_time_unix_nano=start + 750_000,
            attributes=attrs,
        )
        if i % 50 == 0:
            span.status.CopyFrom(Status(code=Status.STATUS_CODE_ERROR, message="ValueError: bad order"))
            event = span.events.add(name="exception", time_unix_nano=start + 500_000)
            event.attributes.extend(
                [
                    kv("exception.type", "ValueError"),
                    kv("exception.message", "bad order"),
                    kv(
                        "exception.stacktrace",
                        'Traceback (most recent call last):\n  File "x.py"\nValueError: bad order\n',
                    ),
                ]
            )
        spans.append(span)
    resource = Resource(
        attributes=[
            kv("service.name", "bench-svc"),
            kv("service.version", "1.0.0"),
            kv("deployment.environment.name", "bench"),
            kv("telemetry.sdk.name", "opentelemetry"),
            kv("telemetry.sdk.language", "python"),
            kv("telemetry.sdk.version", "1.45.2"),
            kv("process.pid", 1234),
        ]
    )
    scope = ScopeSpans(scope=InstrumentationScope(name="logfire", version="5.4.0"), spans=spans)
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[scope])]
    )
    return request.SerializeToString()


def sender(url: str, bodies: list[bytes], batch: int, go: float, stop: float, results: mp.Queue) -> None:  # type: ignore[type-arg]
    import httpx

    sent = 0
    errors = 0
    with httpx.Client(timeout=60) as client:
        while time.time() < go:
            time.sleep(0.001)
        k = 0
        while time.time() < stop:
            response = client.post(
                url, content=bodies[k % len(bodies)], headers={"Content-Type": "application/x-protobuf"}
            )
            k += 1
            if response.status_code == 200:
                sent += batch
            else:
                errors += 1
    results.put((sent, errors))


def baseline_store_rate(bodies: list[bytes], rounds: int) -> tuple[float, float]:
    """(raw Store.append_records spans/s, decode+map spans/s), in this process on a scratch data dir."""
    from logfire_notebook.server.otlp_records import spans_to_table
    from logfire_notebook.server.otlp_wire import decode_request
    from logfire_notebook.server.store import Store

    spans_to_table(decode_request("traces", bodies[0], None, None))  # imports, caches
    t = time.perf_counter()
    tables = [spans_to_table(decode_request("traces", b, None, None)) for b in bodies]
    map_rate = sum(tb.num_rows for tb in tables) / (time.perf_counter() - t)
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp)) as store:
        store.append_records(tables[0])  # warm up
        rows = 0
        t = time.perf_counter()
        for r in range(rounds):
            rows += store.append_records(tables[r % len(tables)])
        return rows / (time.perf_counter() - t), map_rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--senders", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--batch", type=int, default=1000, help="spans per request")
    args = parser.parse_args()

    from _backend import start_backend

    bodies = [make_batch(args.batch, seed) for seed in range(1, 5)]
    store_rate, map_rate = baseline_store_rate(bodies, rounds=20)

    with tempfile.TemporaryDirectory() as tmp:
        backend = start_backend(Path(tmp) / "data")
        try:
            import httpx

            url = f"{backend.base_url}/v1/traces"
            results: mp.Queue = mp.get_context("fork").Queue()  # type: ignore[type-arg]
            go = time.time() + 1.0
            stop = go + args.seconds
            procs = [
                mp.get_context("fork").Process(
                    target=sender, args=(url, bodies, args.batch, go, stop, results)
                )
                for _ in range(args.senders)
            ]
            for p in procs:
                p.start()
            latencies: list[float] = []
            query_errors: list[str] = []

            def query_loop() -> None:
                with httpx.Client(timeout=60, headers={"Authorization": backend.token}) as client:
                    while time.time() < go:
                        time.sleep(0.001)
                    while time.time() < stop:
                        t = time.perf_counter()
                        response = client.post(
                            f"{backend.base_url}/v2/query",
                            json={"sql": QUERY, "min_timestamp": "2000-01-01T00:00:00Z"},
                            headers={"Accept": "application/vnd.apache.arrow.stream"},
                        )
                        latencies.append(time.perf_counter() - t)
                        if response.status_code != 200:
                            query_errors.append(response.text[:200])
                        time.sleep(0.05)

            querier = threading.Thread(target=query_loop)
            querier.start()
            outcomes = [results.get() for _ in procs]
            for p in procs:
                p.join()
            querier.join()
            elapsed = args.seconds
            acked = sum(s for s, _ in outcomes)
            failed = sum(e for _, e in outcomes)
            stored = httpx.post(
                f"{backend.base_url}/v2/query",
                json={"sql": "SELECT count(*) AS n FROM records", "min_timestamp": "2000-01-01T00:00:00Z"},
                headers={"Authorization": backend.token},
                timeout=60,
            ).json()["data"][0]["n"]
        finally:
            backend.stop()

    rate = acked / elapsed
    print(f"machine: {os.cpu_count()} cores; {args.senders} sender processes, {args.batch} spans per request")
    print(f"baseline  Store.append_records (already mapped, no HTTP): {store_rate:>10,.0f} spans/s")
    print(f"reference decode+map to Arrow in one process:             {map_rate:>10,.0f} spans/s")
    print(f"OTLP ingest over HTTP with queries running:               {rate:>10,.0f} spans/s")
    print(
        f"  ratio to the store baseline: {rate / store_rate:.2f}   target >= 20,000 spans/s: {'met' if rate >= 20_000 else 'MISSED'}"
    )
    print(f"  acknowledged {acked:,} spans, stored {stored:,}; failed requests: {failed}")
    if latencies:
        print(
            f"queries during ingest: {len(latencies)}, p50 {statistics.median(latencies) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms, errors {len(query_errors)}"
        )
    for error in query_errors[:3]:
        print("  query error:", error)
    return 0


if __name__ == "__main__":
    sys.exit(main())
