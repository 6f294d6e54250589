"""The storage layer: appends with any subset of columns, defaults, durability, one process per data dir."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pytest
from _backend import start_backend

from logfire_notebook.server.store import LOCAL_PROJECT_ID, Store


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    return store.cursor().execute(sql).fetchall()


def test_append_fills_project_created_at_and_utc_day(tmp_path: Path) -> None:
    late_evening_in_new_york = datetime(2024, 1, 1, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
    with Store(tmp_path) as store:
        written = store.append_records(
            pa.table(
                {
                    "start_timestamp": pa.array(
                        [late_evening_in_new_york], pa.timestamp("us", tz="America/New_York")
                    ),
                    "end_timestamp": [late_evening_in_new_york],
                    "kind": ["span"],
                    "level": pa.array([9], pa.int64()),  # any integer width is accepted
                    "message": ["hi"],
                    "span_name": ["hi"],
                    "service_name": ["svc"],
                    "span_id": ["1"],
                    "trace_id": ["2"],
                }
            )
        )
        assert written == 1
        [(project, created, day, tags)] = _rows(
            store, "SELECT project_id, created_at, day, tags FROM store.records"
        )
    assert project == LOCAL_PROJECT_ID
    assert isinstance(created, datetime) and abs(created - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert day == date(2024, 1, 2)  # the UTC date
    assert tags is None


def test_metrics_day_comes_from_recorded_timestamp(tmp_path: Path) -> None:
    at = datetime(2024, 3, 5, 12, tzinfo=timezone.utc)
    with Store(tmp_path) as store:
        store.append_metrics(
            pa.table(
                {
                    "recorded_timestamp": [at],
                    "metric_name": ["m"],
                    "metric_type": ["gauge"],
                    "unit": ["1"],
                    "service_name": ["svc"],
                    "scalar_value": [0.5],
                    "histogram_bucket_counts": pa.array([[1, 2]], pa.list_(pa.int64())),
                }
            )
        )
        assert _rows(store, "SELECT day, histogram_bucket_counts FROM store.metrics") == [
            (date(2024, 3, 5), [1, 2])
        ]


def test_unknown_columns_and_missing_timestamps_are_refused_with_their_names(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        with pytest.raises(ValueError, match="colour"):
            store.append_records(
                pa.table({"colour": ["red"], "start_timestamp": [datetime.now(timezone.utc)]})
            )
        with pytest.raises(ValueError, match="start_timestamp"):
            store.append_records(pa.table({"message": ["no time"]}))
        assert store.append_records(pa.table({"message": pa.array([], pa.string())})) == 0


CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, timezone
    from pathlib import Path
    import pyarrow as pa
    from logfire_notebook.server.store import Store

    store = Store(Path(sys.argv[1]))
    now = datetime.now(timezone.utc)
    n = 5000
    store.append_records(pa.table({
        "start_timestamp": [now] * n, "end_timestamp": [now] * n, "kind": ["log"] * n, "level": [9] * n,
        "message": ["m"] * n, "span_name": ["m"] * n, "service_name": ["s"] * n,
        "span_id": [str(i) for i in range(n)], "trace_id": ["t"] * n,
    }))
    print("appended", flush=True)
    time.sleep(60)
    """
)


def test_rows_survive_sigkill_right_after_append_returns(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"appended\n"
        # While the child holds the data dir, another process cannot open it, and is told why.
        with pytest.raises(RuntimeError, match="another logfire-notebook server"):
            Store(tmp_path)
        child.send_signal(signal.SIGKILL)
        child.wait()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        for pipe in (child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()
    with Store(tmp_path) as store:
        assert store.count("records") == 5000


def test_second_server_on_the_same_data_dir_exits_with_one_clear_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    Store(data_dir).close()
    server = start_backend(data_dir)
    try:
        second = subprocess.run(
            [
                sys.executable,
                "-m",
                "logfire_notebook.cli",
                "serve",
                "--port",
                "1",
                "--data-dir",
                str(data_dir),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()
    assert second.returncode == 1
    assert "another logfire-notebook server" in second.stderr
    assert "Traceback" not in second.stderr
