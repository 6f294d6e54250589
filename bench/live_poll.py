"""Live mode's cost in the kernel: CPU and requests per minute while Live is on, with nothing new and with
100 new rows per second arriving.

A local backend (the tests' `start_backend`) holds the standard test dataset; a LogfireTable over the last
hour polls as the browser's Live loop does (one poll, then `--interval` seconds, never two at once), for
`--seconds` per case. A sender thread posts 100 spans/s over OTLP for the second case. Measured: polls and
HTTP requests per minute, and the kernel's CPU seconds per minute (this process: the widget, its event-loop
thread, polars; the backend's and the sender's CPU are not counted).

Baseline, measured in the same run: the same widget re-running the whole range on the same schedule (what a
plain "refresh every N s" does). Ratio: Live's CPU / the baseline's.

    .venv/bin/python bench/live_poll.py [--seconds 20] [--interval 5]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import _dataset  # noqa: E402
from _backend import start_backend  # noqa: E402
from _otlp_spans import send_spans  # noqa: E402

SQL = "SELECT start_timestamp, level, service_name, span_name, message FROM records ORDER BY start_timestamp DESC"


def sender(base_url: str, stop: Any, per_second: int) -> None:
    while not stop.is_set():
        t0 = time.monotonic()
        send_spans(base_url, "bench-live", [f"tick {i}" for i in range(per_second)])
        stop.wait(max(0.0, 1 - (time.monotonic() - t0)))


def measure(table: Any, seconds: float, interval: float, step: Any) -> tuple[float, float, float, int]:
    """Runs `step` every `interval` s for `seconds`; returns polls/min, requests/min, CPU s/min, new rows."""
    from logfire_notebook.widget import _loop

    requests = 0
    source = table._source
    original_query = source.query_arrow

    # Every HTTP query of the Logfire source goes through query_arrow (its timeline count too).
    async def counted_query(*args: Any, **kwargs: Any) -> Any:
        nonlocal requests
        requests += 1
        return await original_query(*args, **kwargs)

    source.query_arrow = counted_query
    polls = new = 0
    cpu0, t0 = time.process_time(), time.monotonic()
    try:
        while time.monotonic() - t0 < seconds:
            new += asyncio.run_coroutine_threadsafe(step(), _loop()).result(timeout=120)
            polls += 1
            time.sleep(interval)
    finally:
        source.query_arrow = original_query
    minutes = (time.monotonic() - t0) / 60
    return polls / minutes, requests / minutes, (time.process_time() - cpu0) / minutes, new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--interval", type=float, default=5)
    args = parser.parse_args()

    from logfire_notebook import LogfireClient, LogfireTable
    from logfire_notebook._live import live_poll
    from logfire_notebook.server.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with Store(data_dir) as store:
            store.append_records(_dataset.build(datetime.now(timezone.utc)).records_table())
        backend = start_backend(data_dir)
        try:
            with LogfireClient(backend.token, backend.base_url) as client:
                table = LogfireTable(SQL, since="1h", limit=10_000, client=client)

                async def live() -> int:
                    reply = await live_poll(table)
                    assert reply["ok"], reply
                    return int(reply["new"])

                async def refresh() -> int:
                    result = await table._compute(table._spec())
                    table._publish(table._generation, result)
                    return 0

                print(
                    f"{'case':<28} {'polls/min':>10} {'requests/min':>13} {'kernel CPU s/min':>17} {'new rows':>9}"
                )
                rows: dict[str, tuple[float, float, float, int]] = {}
                for name, step, rate in [
                    ("live, nothing new", live, 0),
                    ("refresh, nothing new", refresh, 0),
                    ("live, 100 rows/s", live, 100),
                    ("refresh, 100 rows/s", refresh, 100),
                ]:
                    # The sender is a process of its own, so its CPU is not counted as the kernel's.
                    stop = multiprocessing.Event()
                    process = multiprocessing.Process(
                        target=sender, args=(backend.base_url, stop, rate), daemon=True
                    )
                    if rate:
                        process.start()
                    try:
                        rows[name] = measure(table, args.seconds, args.interval, step)
                    finally:
                        stop.set()
                        if rate:
                            process.join()
                    p, r, c, n = rows[name]
                    print(f"{name:<28} {p:>10.1f} {r:>13.1f} {c:>17.2f} {n:>9}")
                table.close()
        finally:
            backend.stop()
    for case in ("nothing new", "100 rows/s"):
        live_cpu, base_cpu = rows[f"live, {case}"][2], rows[f"refresh, {case}"][2]
        print(f"ratio, {case}: live CPU / refresh CPU = {live_cpu / max(base_cpu, 1e-6):.2f}")


if __name__ == "__main__":
    main()
