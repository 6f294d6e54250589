"""Fetch 10,000 rows of every `records` column from the local backend, four ways, in one run.

- ours:     LogfireClient.query_polars
- official: logfire's LogfireQueryClient.query_arrow, then polars.from_arrow
- json:     the JSON-rows path (LogfireClient.query_json_rows) into a polars DataFrame
- floor:    a bare httpx POST + pyarrow.ipc.open_stream(...).read_all() (no DataFrame at all)

Targets: ours <= 1.0x official, <= 1.15x floor, and >= 5x faster than json. The runs are interleaved and the
median of each is compared. Also prints how long a Ctrl-C takes to abort a slow query (target < 0.5 s).

Run: .venv/bin/python bench/client_fetch.py [--rows 10000] [--runs 40]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # the tests' local-backend starter

import httpx  # noqa: E402
import polars as pl  # noqa: E402
import pyarrow as pa  # noqa: E402
from _backend import start_backend  # noqa: E402

from logfire_notebook import LogfireClient  # noqa: E402
from logfire_notebook._schema import RECORDS  # noqa: E402

SQL = "SELECT * FROM records ORDER BY start_timestamp"
SLOW_SQL = (
    "SELECT count(*) AS n FROM range(400000000) a CROSS JOIN range(100) b WHERE (a.range * b.range) % 7 = 3"
)


def records(n: int) -> pa.Table:
    """n realistic rows with every column filled (sizes like real spans: JSON attributes, some stack traces)."""
    rng = random.Random(1)
    now = datetime.now(timezone.utc)
    starts = [now - timedelta(seconds=rng.uniform(60, 3 * 3600)) for _ in range(n)]
    durations = [rng.expovariate(20) for _ in range(n)]
    routes = ["/api/orders/{id}", "/api/users", "/health", "/api/search", "/api/cart/{id}/items"]
    columns: dict[str, list[object]] = {
        "start_timestamp": starts,
        "end_timestamp": [s + timedelta(seconds=d) for s, d in zip(starts, durations, strict=True)],
        "created_at": [s + timedelta(seconds=1) for s in starts],
        "duration": durations,
        "trace_id": [f"{rng.getrandbits(128):032x}" for _ in range(n)],
        "span_id": [f"{rng.getrandbits(64):016x}" for _ in range(n)],
        "parent_span_id": [f"{rng.getrandbits(64):016x}" for _ in range(n)],
        "kind": [rng.choice(["span", "log"]) for _ in range(n)],
        "level": [rng.choice([9, 9, 9, 13, 17]) for _ in range(n)],
        "span_name": [rng.choice(["GET {route}", "db query", "render", "cache lookup"]) for _ in range(n)],
        "message": [
            f"GET {rng.choice(routes)} -> {rng.choice([200, 201, 404, 500])} in {rng.random():.3f}s"
            for _ in range(n)
        ],
        "log_body": [f"body {i}" for i in range(n)],
        "service_name": [rng.choice(["web", "worker", "billing"]) for _ in range(n)],
        "service_namespace": ["shop"] * n,
        "service_version": ["1.4.2"] * n,
        "service_instance_id": [f"{rng.getrandbits(64):016x}" for _ in range(n)],
        "process_pid": [rng.randint(100, 60000) for _ in range(n)],
        "deployment_environment": [rng.choice(["prod", "staging"]) for _ in range(n)],
        "otel_scope_name": ["opentelemetry.instrumentation.fastapi"] * n,
        "otel_scope_version": ["0.48b0"] * n,
        "otel_scope_attributes": ["{}"] * n,
        "otel_status_code": [rng.choice(["OK", "UNSET", "ERROR"]) for _ in range(n)],
        "otel_status_message": [rng.choice(["", "boom"]) for _ in range(n)],
        "otel_links": ["[]"] * n,
        "otel_events": [json.dumps([{"name": "event", "attributes": {"k": i}}]) for i in range(n)],
        "otel_resource_attributes": [
            json.dumps(
                {"service.name": "web", "telemetry.sdk.language": "python", "host.name": f"host-{i % 7}"}
            )
            for i in range(n)
        ],
        "attributes": [
            json.dumps(
                {
                    "http.method": "GET",
                    "http.route": rng.choice(routes),
                    "http.status_code": rng.choice([200, 404, 500]),
                    "user": {"id": rng.randint(1, 10_000), "plan": rng.choice(["free", "pro"])},
                    "items": [rng.randint(1, 99) for _ in range(rng.randint(0, 6))],
                }
            )
            for _ in range(n)
        ],
        "attributes_json_schema": ['{"type":"object","properties":{"user":{"type":"object"}}}'] * n,
        "tags": [rng.sample(["api", "db", "slow", "retry", "auth"], rng.randint(0, 3)) for _ in range(n)],
        "is_exception": [rng.random() < 0.05 for _ in range(n)],
        "exception_type": [rng.choice(["ValueError", "KeyError", ""]) for _ in range(n)],
        "exception_message": [f"bad value {i}" for i in range(n)],
        "exception_stacktrace": [
            'Traceback (most recent call last):\n  File "app.py", line 12, in handler\nValueError: bad value'
            for _ in range(n)
        ],
        "http_method": [rng.choice(["GET", "POST"]) for _ in range(n)],
        "http_route": [rng.choice(routes) for _ in range(n)],
        "http_response_status_code": [rng.choice([200, 404, 500]) for _ in range(n)],
        "url_full": [f"https://shop.example/api/orders/{i}?q=1" for i in range(n)],
        "url_path": [f"/api/orders/{i}" for i in range(n)],
        "url_query": ["q=1"] * n,
        "telemetry_sdk_language": ["python"] * n,
        "telemetry_sdk_name": ["opentelemetry"] * n,
        "telemetry_sdk_version": ["1.27.0"] * n,
    }
    missing = {c.name for c in RECORDS} - set(columns) - {"project_id", "day"}
    assert not missing, missing  # every column but the two the store fills
    return pa.table(columns)


def measure(fn: Callable[[], int], runs: list[float]) -> None:
    gc.collect()  # garbage from the previous path (the JSON one makes millions of objects) is not this one's bill
    t0 = time.perf_counter()
    rows = fn()
    runs.append(time.perf_counter() - t0)
    assert rows > 0


def interrupt_latency(client: LogfireClient) -> float:
    """Seconds from SIGINT to KeyboardInterrupt reaching the caller, during a slow query."""
    main = threading.main_thread().ident
    sent: list[float] = []

    def fire() -> None:
        sent.append(time.perf_counter())
        signal.pthread_kill(main, signal.SIGINT)  # type: ignore[arg-type]

    timer = threading.Timer(0.5, fire)
    timer.start()
    try:
        client.query_arrow(SLOW_SQL, since="1h")
    except KeyboardInterrupt:
        return time.perf_counter() - sent[0]
    raise RuntimeError("the slow query finished before the interrupt")


def client_side_overhead(bare: httpx.Client, body: dict[str, object], token: str, runs: int) -> None:
    """The same paths on one recorded answer served from memory: the client's own cost, without server noise."""
    from logfire.query_client import LogfireQueryClient

    answer = bare.post("/v2/query", json=body, headers={"accept": "application/vnd.apache.arrow.stream"})
    content, headers = answer.content, {"content-type": answer.headers["content-type"]}

    def replay(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=content, headers=headers)

    transport = httpx.MockTransport(replay)
    url = "http://recorded"
    since = datetime.fromisoformat(str(body["min_timestamp"]))
    ours = LogfireClient(token, url, transport=transport)
    official = LogfireQueryClient(token, url, transport=transport)
    floor_client = httpx.Client(base_url=url, transport=transport, headers={"authorization": token})

    def floor() -> int:
        response = floor_client.post(
            "/v2/query", json=body, headers={"accept": "application/vnd.apache.arrow.stream"}
        )
        with pa.ipc.open_stream(response.content) as reader:
            return reader.read_all().num_rows

    paths: dict[str, Callable[[], int]] = {
        "ours": lambda: ours.query_polars(SQL, since).height,
        "official": lambda: pl.from_arrow(official.query_arrow(SQL, min_timestamp=since)).height,  # type: ignore[union-attr]
        "floor": floor,
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(runs * 4):
        order = list(paths)
        random.shuffle(order)
        for name in order:
            measure(paths[name], times[name])
    med = {name: statistics.median(values) * 1000 for name, values in times.items()}
    print(
        f"  client side only ({len(content) / 1e6:.1f} MB answer replayed from memory, median of {runs * 4}): "
        f"ours {med['ours']:.2f} ms, official {med['official']:.2f} ms, floor {med['floor']:.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=40)
    args = parser.parse_args()

    from logfire.query_client import LogfireQueryClient

    from logfire_notebook.server.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with Store(data_dir) as store:
            store.append_records(records(args.rows))
        server = start_backend(data_dir)
        url, token = server.base_url, server.token
        try:
            since = datetime.now(timezone.utc) - timedelta(days=1)
            ours = LogfireClient(token, url, timeout=60)
            official = LogfireQueryClient(token, url, timeout=httpx.Timeout(60))
            bare = httpx.Client(base_url=url, headers={"authorization": token}, timeout=60)
            body = {"sql": SQL, "min_timestamp": since.isoformat(), "limit": args.rows}

            def run_ours() -> int:
                return ours.query_polars(SQL, since, limit=args.rows).height

            def run_official() -> int:
                table = official.query_arrow(SQL, min_timestamp=since, limit=args.rows)
                return pl.from_arrow(table).height  # type: ignore[union-attr]

            def run_json() -> int:
                rows = ours.query_json_rows(SQL, since, limit=args.rows)
                return pl.DataFrame(rows["rows"], infer_schema_length=None).height

            def run_floor() -> int:
                response = bare.post(
                    "/v2/query", json=body, headers={"accept": "application/vnd.apache.arrow.stream"}
                )
                with pa.ipc.open_stream(response.content) as reader:
                    return reader.read_all().num_rows

            paths = {"ours": run_ours, "official": run_official, "json": run_json, "floor": run_floor}
            times: dict[str, list[float]] = {name: [] for name in paths}
            for fn in paths.values():  # warm up: connections, imports, the server's caches
                fn()
            frame = ours.query_polars(SQL, since, limit=args.rows)
            assert frame.height == args.rows and frame.width == len(RECORDS), frame.shape
            json_rounds = min(
                args.runs, 9
            )  # the JSON path is 10x slower and its target far off: fewer rounds
            for round_ in range(args.runs):
                order = [name for name in paths if name != "json" or round_ < json_rounds]
                random.shuffle(order)
                for name in order:
                    measure(paths[name], times[name])
            med = {name: statistics.median(values) for name, values in times.items()}

            def paired(a: str, b: str) -> float:
                # Median of the per-round ratios: each round runs every path once, so load drifts cancel out.
                return statistics.median(x / y for x, y in zip(times[a], times[b], strict=False))

            print(
                f"{args.rows:,} rows x {frame.width} columns, {args.runs} interleaved rounds ({json_rounds} for json):"
            )
            print(f"  {'path':9s} {'median':>9s} {'min':>9s}")
            for name in paths:
                print(f"  {name:9s} {med[name] * 1000:6.1f} ms {min(times[name]) * 1000:6.1f} ms")
            print("  ratios: median of per-round ratios (ratio of medians)")
            print(
                f"  ours / official = {paired('ours', 'official'):.3f}x ({med['ours'] / med['official']:.3f}x)   target <= 1.0"
            )
            print(
                f"  ours / floor    = {paired('ours', 'floor'):.3f}x ({med['ours'] / med['floor']:.3f}x)   target <= 1.15"
            )
            print(
                f"  json / ours     = {paired('json', 'ours'):.1f}x ({med['json'] / med['ours']:.1f}x)   target >= 5"
            )
            client_side_overhead(bare, body, token, args.runs)
            latencies = [interrupt_latency(ours) for _ in range(3)]
            print(
                f"  Ctrl-C during a slow query aborted it in {max(latencies) * 1000:.1f} ms (worst of 3; target < 500)"
            )
            ours.close()
            official.client.close()
            bare.close()
        finally:
            server.stop()


if __name__ == "__main__":
    main()
