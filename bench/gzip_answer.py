"""Does gzip pay for a 10,000-row JSON answer? Measured over loopback, with the same server gzipping and not.

    .venv/bin/python bench/gzip_answer.py [--runs 10]

Fills a data dir with the standard test dataset (repeated to about 12,000 records), then starts
`logfire-notebook serve` on it twice: once with LOGFIRE_NOTEBOOK_GZIP=always, once with =never (the
baseline). Each time, an httpx client that accepts gzip (as the official SDK's and ours do) fetches
`SELECT * FROM records` as JSON with limit 10,000 and decodes it. Prints bytes on the wire, the p50 end to
end over loopback, the ratio gzip/plain, and what the same bytes would add on a 100 Mbit/s and a 1 Gbit/s
link (transfer time only), which is where the server's default policy (`remote`: gzip only for clients on
another host) comes from.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import httpx  # noqa: E402

SQL = "SELECT * FROM records"


def fill(data_dir: Path) -> str:
    import _dataset
    import pyarrow as pa
    import pyarrow.compute as pc

    from logfire_notebook.server.store import Store

    base = _dataset.build()
    table = base.records_table().drop_columns(["day"])
    with Store(data_dir) as store:
        for k in range(4):
            tile = table
            for col in ("span_id", "trace_id"):
                ids = pc.binary_join_element_wise(tile.column(col), pa.scalar(f"{k:02x}"), "")
                tile = tile.set_column(tile.schema.get_field_index(col), col, ids)
            store.append_records(tile)
    return (base.now - timedelta(days=8)).isoformat()


def measure(data_dir: Path, since: str, policy: str, runs: int) -> tuple[int, float]:
    from _backend import start_backend

    os.environ["LOGFIRE_NOTEBOOK_GZIP"] = policy
    server = start_backend(data_dir)
    try:
        with httpx.Client(
            base_url=server.base_url, headers={"Authorization": server.token}, timeout=120
        ) as client:
            body = {"sql": SQL, "min_timestamp": since, "limit": 10_000}

            def once() -> int:
                with client.stream("POST", "/v2/query", json=body, headers={"Accept-Encoding": "gzip"}) as r:
                    wire = sum(len(chunk) for chunk in r.iter_raw())
                    r.raise_for_status()
                return wire

            def fetch() -> int:
                response = client.post("/v2/query", json=body, headers={"Accept-Encoding": "gzip"})
                assert len(response.json()["data"]) == 10_000
                return len(response.content)

            wire = once()
            fetch()  # warm up
            times = []
            for _ in range(runs):
                start = time.perf_counter()
                fetch()
                times.append(time.perf_counter() - start)
    finally:
        server.stop()
        os.environ.pop("LOGFIRE_NOTEBOOK_GZIP", None)
    return wire, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        since = fill(data_dir)
        plain_bytes, plain_t = measure(data_dir, since, "never", args.runs)
        gzip_bytes, gzip_t = measure(data_dir, since, "always", args.runs)
    print(
        f"10,000-row JSON answer: {plain_bytes / 1e6:.1f} MB plain, {gzip_bytes / 1e6:.1f} MB gzipped "
        f"({plain_bytes / gzip_bytes:.1f}x smaller)"
    )
    print(
        f"loopback p50: {plain_t * 1000:.0f} ms plain, {gzip_t * 1000:.0f} ms gzipped "
        f"-> ratio {gzip_t / plain_t:.2f}x (gzip pays over loopback if < 1)"
    )
    for label, bits_per_s in (("100 Mbit/s", 100e6), ("1 Gbit/s", 1e9)):
        plain_link = plain_t + plain_bytes * 8 / bits_per_s
        gzip_link = gzip_t + gzip_bytes * 8 / bits_per_s
        print(
            f"on a {label} link (loopback time + transfer): {plain_link * 1000:.0f} ms plain, "
            f"{gzip_link * 1000:.0f} ms gzipped -> ratio {gzip_link / plain_link:.2f}x"
        )


if __name__ == "__main__":
    main()
