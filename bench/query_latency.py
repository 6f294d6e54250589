"""Query latency of the local backend at 1,000,000 records, against DuckDB itself as the floor.

    .venv/bin/python bench/query_latency.py [--records 1000000] [--runs 30]

Fills a fresh data dir through `Store` (the standard test dataset, repeated with shifted times and fresh
ids), starts `logfire-notebook serve` on it and measures over loopback HTTP:
- p50 of an aggregation (hourly counts and mean duration per service) as Arrow,
- p50 of a 10,000-row Arrow fetch of whole records,
- p50s of Logfire-dialect queries: the JSON key-exists operator `?` (floor: DuckDB's own `json_exists`),
  and `metric_quantile`, `metric_rate`, `metric_sum` over the `metrics` table (about 50 tiles of the
  dataset's metrics; floor: the same query, macros and `value` view run by DuckDB directly),
- the server's resident memory after the queries.
Between server rounds it opens the same database file directly in DuckDB, with the server's settings, and
runs the same aggregation and fetch on the same rows (the floor); it prints the ratios. Targets: aggregation p50 <= 250 ms and
<= 1.5x the floor; server memory <= 1 GiB.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402
import pyarrow as pa  # noqa: E402
import pyarrow.compute as pc  # noqa: E402

AGGREGATION = (
    "SELECT time_bucket('1 hour', start_timestamp) AS bucket, service_name, count(*) AS n, avg(duration) AS d "
    "FROM records GROUP BY bucket, service_name ORDER BY bucket, service_name"
)
FETCH = "SELECT * FROM records ORDER BY start_timestamp DESC"
KEY_EXISTS = (
    "SELECT span_name, count(*) AS n, avg(duration) AS d FROM records WHERE attributes ? 'http.route' "
    "GROUP BY span_name ORDER BY n DESC"
)
KEY_EXISTS_NATIVE = KEY_EXISTS.replace(
    "attributes ? 'http.route'", "json_exists(attributes, '$.\"http.route\"')"
)
METRIC_QUERIES = {
    "metric_quantile": (
        "SELECT time_bucket('1 hour', recorded_timestamp) AS x, metric_name, metric_quantile(0.95, value) AS p95 "
        "FROM metrics WHERE metric_type IN ('histogram', 'exponential_histogram') GROUP BY x, metric_name ORDER BY x"
    ),
    "metric_rate": (
        "SELECT time_bucket('1 hour', recorded_timestamp) AS x, metric_name, "
        "metric_rate(value, recorded_timestamp) AS per_s FROM metrics WHERE metric_type = 'sum' "
        "GROUP BY x, metric_name ORDER BY x"
    ),
    "metric_sum": (
        "SELECT metric_name, SUM(metric_sum(value)) / NULLIF(SUM(metric_count(value)), 0) AS mean "
        "FROM metrics GROUP BY metric_name ORDER BY metric_name"
    ),
}
METRIC_TILES = 50
ARROW = "application/vnd.apache.arrow.stream"


def fill(data_dir: Path, records: int) -> tuple[str, str]:
    """Writes about `records` rows; returns the ISO min/max timestamps that cover them all."""
    import _dataset

    from logfire_notebook.server.store import Store

    base = _dataset.build()
    table = base.records_table()
    tiles = -(-records // table.num_rows)
    shift = timedelta(days=30) / tiles
    written = 0
    with Store(data_dir) as store:
        for k in range(tiles):
            n = min(table.num_rows, records - written)
            tile = table.slice(0, n)
            suffix = pa.scalar(f"{k:06x}")
            for col in ("start_timestamp", "end_timestamp", "created_at"):
                shifted = pc.subtract(tile.column(col), pa.scalar(shift * k, pa.duration("us")))
                tile = tile.set_column(tile.schema.get_field_index(col), col, shifted)
            for col in ("span_id", "trace_id"):
                ids = pc.binary_join_element_wise(tile.column(col), suffix, "")
                tile = tile.set_column(tile.schema.get_field_index(col), col, ids)
            tile = tile.drop_columns(["day"])
            store.append_records(tile)
            if k < METRIC_TILES:
                store.append_metrics(_shifted(base.metrics_table(), shift * k))
            written += n
    return (base.now - timedelta(days=40)).isoformat(), base.now.isoformat()


def _shifted(table: pa.Table, by: timedelta) -> pa.Table:
    for col in ("recorded_timestamp", "start_timestamp", "created_at"):
        if col in table.column_names:
            shifted = pc.subtract(table.column(col), pa.scalar(by, pa.duration("us")))
            table = table.set_column(table.schema.get_field_index(col), col, shifted)
    return table.drop_columns([c for c in ("day",) if c in table.column_names])


def timings(fn: Callable[[], object], runs: int) -> list[float]:
    fn()  # warm up
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def rss_mib(pid: int) -> tuple[float, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="server and floor take turns this many times")
    parser.add_argument(
        "--keep", type=Path, default=None, help="fill this data dir and keep it (reused if filled)"
    )
    args = parser.parse_args()

    from _backend import start_backend

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = args.keep or Path(tmp) / "data"
        window_file = data_dir / "bench-window.txt"
        if window_file.exists():
            since, until = window_file.read_text().split()
        else:
            t0 = time.perf_counter()
            since, until = fill(data_dir, args.records)
            fill_s = time.perf_counter() - t0
            window_file.write_text(f"{since} {until}")
            print(
                f"filled {args.records:,} records through Store in {fill_s:.1f} s ({args.records / fill_s:,.0f}/s)"
            )

        import duckdb

        from logfire_notebook.server import dialect
        from logfire_notebook.server.store import DB_FILE, store_config

        window = (
            f"kind <> 'pending_span' AND start_timestamp >= TIMESTAMPTZ '{since}' "
            f"AND start_timestamp < TIMESTAMPTZ '{until}'"
        )
        direct_agg_sql = dialect.rewrite(AGGREGATION).replace(
            "FROM records", f"FROM (SELECT * FROM store.records WHERE {window})"
        )
        direct_fetch_sql = (
            FETCH.replace("FROM records", f"FROM store.records WHERE {window}") + " LIMIT 10000"
        )
        from logfire_notebook.server import sql_metrics

        direct = {
            "? (key exists)": KEY_EXISTS_NATIVE.replace(
                "FROM records", f"FROM (SELECT * FROM store.records WHERE {window})"
            )
        }
        metrics_window = (
            f"recorded_timestamp >= TIMESTAMPTZ '{since}' AND recorded_timestamp < TIMESTAMPTZ '{until}'"
        )
        for label, sql in METRIC_QUERIES.items():
            view = sql_metrics.view_select(
                "store.metrics",
                metrics_window,
                range_start=f"TIMESTAMPTZ '{since}'",
                increase=sql_metrics.needs_increase(sql),
            )
            direct[label] = dialect.rewrite(sql).replace("FROM metrics", f"FROM ({view})")
        dialect_sql = {"? (key exists)": KEY_EXISTS, **METRIC_QUERIES}
        http_dialect_t: dict[str, list[float]] = {k: [] for k in dialect_sql}
        floor_dialect_t: dict[str, list[float]] = {k: [] for k in dialect_sql}
        # Server and floor take turns (the data dir opens in one process at a time), several rounds, so
        # that background load on the machine falls on both sides alike.
        http_agg_t: list[float] = []
        http_fetch_t: list[float] = []
        floor_agg_t: list[float] = []
        floor_fetch_t: list[float] = []
        per_round = max(1, args.runs // args.rounds)
        rss = peak = 0.0
        for _ in range(args.rounds):
            server = start_backend(data_dir)
            try:
                client = httpx.Client(
                    base_url=server.base_url, headers={"Authorization": server.token}, timeout=120
                )

                def over_http(sql: str, limit: int, client: httpx.Client = client) -> pa.Table:
                    body = {"sql": sql, "min_timestamp": since, "max_timestamp": until, "limit": limit}
                    response = client.post("/v2/query", json=body, headers={"Accept": ARROW})
                    response.raise_for_status()
                    return pa.ipc.open_stream(response.content).read_all()

                agg_rows = over_http(AGGREGATION, 10_000).num_rows
                total = over_http("SELECT count(*) AS n FROM records", 1).column("n")[0].as_py()
                http_agg_t += timings(lambda: over_http(AGGREGATION, 10_000), per_round)
                http_fetch_t += timings(lambda: over_http(FETCH, 10_000), per_round)
                for label, sql in dialect_sql.items():
                    http_dialect_t[label] += timings(lambda sql=sql: over_http(sql, 10_000), per_round)
                r, p = rss_mib(server.process.pid)
                rss, peak = max(rss, r), max(peak, p)
                client.close()
            finally:
                server.stop()

            con = duckdb.connect(str(data_dir / DB_FILE), config=store_config())
            con.execute("SET TimeZone = 'UTC'")
            floor_agg_t += timings(lambda con=con: con.sql(direct_agg_sql).to_arrow_table(), per_round)
            floor_fetch_t += timings(lambda con=con: con.sql(direct_fetch_sql).to_arrow_table(), per_round)
            con.execute("LOAD json")
            for macro in dialect.MACROS:
                con.execute(macro)
            for label, sql in direct.items():
                floor_dialect_t[label] += timings(
                    lambda con=con, sql=sql: con.sql(f"SELECT * FROM ({sql}) LIMIT 10000").to_arrow_table(),
                    per_round,
                )
            con.close()
        http_agg, http_fetch = statistics.median(http_agg_t), statistics.median(http_fetch_t)
        floor_agg, floor_fetch = statistics.median(floor_agg_t), statistics.median(floor_fetch_t)

    print(f"records in the window: {total:,}; aggregation result rows: {agg_rows:,}")
    print(
        f"aggregation p50: {http_agg * 1000:7.1f} ms over HTTP, {floor_agg * 1000:7.1f} ms in DuckDB directly"
        f"  -> ratio {http_agg / floor_agg:.2f}x  (targets: <= 250 ms, <= 1.5x)"
    )
    print(
        f"10,000-row Arrow fetch p50: {http_fetch * 1000:7.1f} ms over HTTP, {floor_fetch * 1000:7.1f} ms directly"
        f"  -> ratio {http_fetch / floor_fetch:.2f}x"
    )
    for label in dialect_sql:
        http_t, floor_t = statistics.median(http_dialect_t[label]), statistics.median(floor_dialect_t[label])
        print(
            f"{label:>16} p50: {http_t * 1000:7.1f} ms over HTTP, {floor_t * 1000:7.1f} ms in DuckDB directly"
            f"  -> ratio {http_t / floor_t:.2f}x  (target: <= 1.5x)"
        )
    print(
        f"server memory after the queries: {rss:.0f} MiB resident, {peak:.0f} MiB peak  (target: <= 1024 MiB)"
    )


if __name__ == "__main__":
    main()
