"""Loki API on the local backend: LogQL query latency at 1,000,000 lines against direct SQL on the same
store as the floor, and push throughput from other processes.

    .venv/bin/python bench/loki_query.py [--lines 1000000] [--runs 15] [--push-seconds 10]

Fills a fresh data dir with `--lines` log lines over 24 h in 3 services (streams by service and level; JSON
lines, 2% with status >= 500, 1% with "timeout"), starts `logfire-notebook serve` on it and measures over
loopback HTTP the p50 of:
- a selector + line filter returning 1,000 lines: {service="checkout"} |= "timeout", limit 1000;
- {service="checkout"} | json | status >= 500 (limit 100, newest first);
- sum by (level) (count_over_time({service="checkout"}[5m])) over 24 h at a 5 m step;
- sum by (status) (count_over_time({service="checkout"} | json | status >= 500 [5m])), the same way;
- {service="search"} with limit 5,000 and `categorize-labels` (what `%%logql` asks): a full page of lines
  with OpenTelemetry-like structured metadata on each (the `search` entries carry trace and span ids and
  code attributes, as Loki fed by OTLP has them), read as bytes (the client's decoding is bench/loki_client.py);
- the table's timeline count over those entries: sum by (level, detected_level) (count_over_time(
  {service="search"}[5m])) over 24 h at a 5 m step, grouped by a metadata label.
The floor is the same work as plain SQL on the same database file, opened in DuckDB with the server's
settings, half its runs before the server starts and half after it stops (the load drifts); it prints the
ratios. Targets: each p50 <= 2x its floor and < 300 ms; the two OTLP-like cases have none (the page's floor reads the
rows but writes no JSON and sends nothing), its ratio shows what shaping and sending the answer costs.
The `| json` metric runs in DuckDB (server/loki/sqlpipe.py); each JSON line was classified once when stored
(`json_plain`, server/loki/jsonshape.py), so its per-query checks for Python-only lines are skipped.
Finally it starts the server again on an empty data dir and pushes JSON batches of 1,000 lines from two
sender processes for `--push-seconds`: target >= 50,000 lines/s.

Figures at 1,000,000 lines on a shared 2-core machine, p50 / floor, three runs at load average 3.2-6.8:
sum by (level) 29 / 15 ms (1.96x), 27 / 16 (1.76x), 97 / 11 (9.3x: the load rose during the server's runs);
sum by (status) over | json 225 / 127 (1.77x), 220 / 137 (1.61x), 270 / 78 (3.46x); | json 17-25 / 58-93 ms;
the line filter 1.11x-1.55x; push 34,100-38,800 lines/s at that load (62,400 at load 5). In one process at
load 6, the | json metric's SQL takes 1.46x the floor's CPU time (1.77x before its number check used CASE,
not OR); the count's SQL is the floor's, and the server adds ~2 ms of Python plus HTTP (~2 ms for /ready).
The two OTLP-like cases, 300,000 lines, load 0.6-1.6, two runs each, before -> after the server's plain
log-query path (no Entry per entry, metadata parsed once) and its grouping of a `sum by` on the named
metadata keys only (a group per trace id before): the 5,000-line page 173-215 -> 75-118 ms (floor 25-28 ms);
the timeline count 868-892 -> 96-97 ms (floor 28-31 ms).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402

NS = 1_000_000_000
SERVICES = ("checkout", "search", "auth")
LEVELS = ("debug", "info", "warn", "error")
TENANT = "bench"
END = 1_767_225_600 * NS  # 2026-01-01T00:00:00Z
START = END - 24 * 3600 * NS
STEP = 300 * NS

LINE_FILTER = '{service="checkout"} |= "timeout"'
JSON_FILTER = '{service="checkout"} | json | status >= 500'
METRIC = 'sum by (level) (count_over_time({service="checkout"}[5m]))'
JSON_METRIC = 'sum by (status) (count_over_time({service="checkout"} | json | status >= 500 [5m]))'
PAGE = '{service="search"}'
PAGE_NAME = "5,000 lines with metadata (categorize-labels)"
TIMELINE = 'sum by (level, detected_level) (count_over_time({service="search"}[5m]))'
TIMELINE_NAME = "timeline count by detected_level (metadata)"


def otel_metadata(rng: random.Random, i: int, level: str) -> dict[str, str]:
    """What OTLP logs bring as structured metadata (server/loki/otlp.py): ids, the level, code attributes."""
    return {
        "trace_id": f"{rng.getrandbits(128):032x}",
        "span_id": f"{rng.getrandbits(64):016x}",
        "detected_level": level,
        "severity_number": "9",
        "code.function": "search_items",
        "code.filepath": "app/search/handlers.py",
        "code.lineno": str(100 + i % 40),
        "user.id": str(i % 977),
    }


def fill(data_dir: Path, lines: int) -> None:
    from logfire_notebook.server.loki.storage import LokiStore, PushStream
    from logfire_notebook.server.store import Store

    rng = random.Random(7)
    with Store(data_dir) as store:
        loki = LokiStore.of(store)
        batch = 100_000
        for first in range(0, lines, batch):
            streams: dict[tuple[str, str], PushStream] = {}
            for i in range(first, min(first + batch, lines)):
                ts = START + (i * (END - START)) // lines
                service = SERVICES[i % 3]
                level = LEVELS[rng.choice((0, 1, 1, 1, 1, 2, 3))]
                roll = rng.random()
                status = 503 if roll < 0.02 else 404 if roll < 0.05 else 200
                msg = "upstream timeout" if 0.05 <= roll < 0.06 else "request served"
                line = json.dumps(
                    {
                        "status": status,
                        "path": f"/api/{i % 50}",
                        "latency_ms": rng.randint(1, 900),
                        "msg": msg,
                    }
                )
                key = (service, level)
                stream = streams.get(key)
                if stream is None:
                    stream = streams[key] = PushStream({"service": service, "level": level})
                metadata = otel_metadata(rng, i, level) if service == "search" else None
                stream.entries.append((ts, line, metadata))
            loki.append(TENANT, list(streams.values()))


def timings(run: Callable[[], object], runs: int) -> list[float]:
    run()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return times


def p50(run: Callable[[], object], runs: int) -> float:
    return statistics.median(timings(run, runs))


def server_p50s(base_url: str, runs: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with httpx.Client(base_url=base_url, headers={"X-Scope-OrgID": TENANT}, timeout=120) as client:

        def query(q: str, headers: dict[str, str] | None = None, **params: object) -> Callable[[], object]:
            def run() -> object:
                r = client.get(
                    "/loki/api/v1/query_range",
                    params={"query": q, "start": START, "end": END, **params},
                    headers=headers,
                )
                r.raise_for_status()
                return r.json() if headers is None else r.content

            return run

        checks = {
            "line filter, 1,000 lines": (query(LINE_FILTER, limit=1000), 1000),
            "| json | status >= 500": (query(JSON_FILTER, limit=100), 100),
            "sum by (level) (count_over_time [5m])": (query(METRIC, step="5m"), None),
            "sum by (status) (... | json | status >= 500 [5m])": (query(JSON_METRIC, step="5m"), None),
            PAGE_NAME: (
                query(PAGE, {"X-Loki-Response-Encoding-Flags": "categorize-labels"}, limit=5000),
                5000,
            ),
            TIMELINE_NAME: (query(TIMELINE, step="5m"), None),
        }
        for name, (run, expect) in checks.items():
            body = run()
            if isinstance(body, bytes):
                body = json.loads(body)  # checked once, not timed
            result = body["data"]["result"]  # type: ignore[index]
            if name == PAGE_NAME:
                got = sum(len(s["values"]) for s in result)
                assert got == expect and all(v[2]["structuredMetadata"] for s in result for v in s["values"])
            elif expect is not None:
                got = sum(len(s["values"]) for s in result)
                assert 0 < got <= expect, f"{name}: {got} lines"  # 1,000 at 1,000,000 lines
            elif name == TIMELINE_NAME:
                assert {s["metric"]["detected_level"] for s in result} == set(LEVELS), result
            elif "json" in name:
                assert [s["metric"] for s in result] == [{"status": "503"}], result
            else:
                assert {s["metric"]["level"] for s in result} == set(LEVELS), result
            out[name] = p50(run, runs)
    return out


def floor_timings(data_dir: Path, runs: int) -> dict[str, list[float]]:
    """The same work as plain SQL on the same DuckDB file: the floor."""
    import duckdb

    from logfire_notebook.server.loki.storage import stream_id
    from logfire_notebook.server.store import DB_FILE, store_config

    db = duckdb.connect(str(data_dir / DB_FILE), config=store_config())
    ids = ", ".join(str(stream_id(TENANT, {"service": "checkout", "level": lv})) for lv in LEVELS)
    where = f"tenant = '{TENANT}' AND stream_id IN ({ids}) AND ts >= {START} AND ts < {END}"
    search = ", ".join(str(stream_id(TENANT, {"service": "search", "level": lv})) for lv in LEVELS)
    sqls = {
        "line filter, 1,000 lines": f"SELECT ts, stream_id, line FROM store.loki_entries WHERE {where} "
        "AND contains(line, 'timeout') ORDER BY ts DESC LIMIT 1000",
        "| json | status >= 500": f"SELECT ts, stream_id, line FROM store.loki_entries WHERE {where} "
        "AND TRY_CAST(json_extract_string(line, '$.status') AS DOUBLE) >= 500 ORDER BY ts DESC LIMIT 100",
        "sum by (level) (count_over_time [5m])": f"SELECT stream_id, (ts - {START - STEP}) // {STEP} AS k, count(*) "
        f"FROM store.loki_entries WHERE {where} GROUP BY ALL",
        "sum by (status) (... | json | status >= 500 [5m])": "SELECT json_extract_string(line, '$.status') AS s, "
        f"(ts - {START - STEP}) // {STEP} AS k, count(*) FROM store.loki_entries WHERE {where} "
        "AND TRY_CAST(json_extract_string(line, '$.status') AS DOUBLE) >= 500 GROUP BY ALL",
        PAGE_NAME: f"SELECT ts, stream_id, line, metadata FROM store.loki_entries WHERE tenant = '{TENANT}' "
        f"AND stream_id IN ({search}) AND ts >= {START} AND ts < {END} ORDER BY ts DESC LIMIT 5000",
        TIMELINE_NAME: "SELECT stream_id, json_extract_string(metadata, '$.detected_level') AS d, "
        f"(ts - {START - STEP}) // {STEP} AS k, count(*) FROM store.loki_entries WHERE tenant = '{TENANT}' "
        f"AND stream_id IN ({search}) AND ts >= {START} AND ts < {END} GROUP BY ALL",
    }
    out = {name: timings(lambda sql=sql: db.execute(sql).fetchall(), runs) for name, sql in sqls.items()}
    db.close()
    return out


def make_body(seed: int, lines: int) -> bytes:
    now = time.time_ns()
    values = [
        [str(now - (seed * lines + i) * 1000), f'level=info seed={seed} i={i} msg="pushed line"']
        for i in range(lines)
    ]
    return json.dumps(
        {"streams": [{"stream": {"service": "pusher", "sender": str(seed % 2)}, "values": values}]}
    ).encode()


def sender(url: str, seed: int, go: float, stop: float, results: mp.Queue) -> None:  # type: ignore[type-arg]
    bodies = [make_body(seed * 100 + k, 1000) for k in range(20)]
    sent = 0
    with httpx.Client(timeout=60) as client:
        while time.time() < go:
            time.sleep(0.01)
        k = 0
        while time.time() < stop:
            r = client.post(
                url, content=bodies[k % len(bodies)], headers={"Content-Type": "application/json"}
            )
            assert r.status_code == 204, r.text
            sent += 1000
            k += 1
    results.put(sent)


def push_rate(base_url: str, seconds: float, senders: int = 2) -> float:
    ctx = mp.get_context("spawn")
    results: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    go = time.time() + 3
    stop = go + seconds
    procs = [
        ctx.Process(target=sender, args=(f"{base_url}/loki/api/v1/push", n, go, stop, results))
        for n in range(senders)
    ]
    for p in procs:
        p.start()
    total = sum(results.get(timeout=seconds + 120) for _ in procs)
    for p in procs:
        p.join()
    return total / seconds


def main() -> int:
    from _backend import start_backend

    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--push-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        t0 = time.perf_counter()
        fill(data_dir, args.lines)
        print(f"filled {args.lines:,} lines over 24 h in {time.perf_counter() - t0:.1f} s")
        # Half the floor's runs before the server's, half after: on a shared machine the load drifts, and
        # a floor measured at one end only of the server's runs skews the ratio.
        before = floor_timings(data_dir, args.runs // 2)
        server = start_backend(data_dir)
        try:
            served = server_p50s(server.base_url, args.runs)
        finally:
            server.stop()
        after = floor_timings(data_dir, args.runs - args.runs // 2)
        floors = {name: statistics.median(before[name] + after[name]) for name in after}
        ok = True
        for name, value in served.items():
            ratio = value / floors[name]
            met = value <= 2 * floors[name] and value < 0.3
            verdict = f"target <= 2x and < 300 ms: {'met' if met else 'MISSED'}"
            if name in (PAGE_NAME, TIMELINE_NAME):
                met, verdict = True, "(no target)"
            ok &= met
            print(
                f"{name:50s} p50 {value * 1000:7.1f} ms   floor {floors[name] * 1000:7.1f} ms   "
                f"ratio {ratio:4.2f}   {verdict}"
            )
        push_dir = Path(tmp) / "push"
        server = start_backend(push_dir)
        try:
            rate = push_rate(server.base_url, args.push_seconds)
        finally:
            server.stop()
        print(
            f"push from 2 processes: {rate:,.0f} lines/s   target >= 50,000 lines/s: {'met' if rate >= 50_000 else 'MISSED'}"
        )
        ok &= rate >= 50_000
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
