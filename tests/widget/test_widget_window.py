"""Rows by window: a large DataFrame stays in the kernel, the browser gets its first rows with the result and
asks for the others, sorted here on the whole frame. No backend needed (a DataFrame shown as is)."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
from _captured import Captured as _CapturedBase

from logfire_notebook import LogfireTable
from logfire_notebook._widget_window import (
    HEAD_ROWS,
    MAX_WINDOW_ROWS,
    WHOLE_MAX_ROWS,
    Sort,
    WindowedFrame,
    _first_in_order,
    _row_order,
)

END = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)


def log_frame(n: int, seed: int = 3) -> pl.DataFrame:
    rng = random.Random(seed)
    return pl.DataFrame(
        {
            "start_timestamp": [END - timedelta(seconds=i) for i in range(n)],
            "level": [rng.choice((9, 9, 13, 17)) for _ in range(n)],
            "span_name": [rng.choice(("GET /", "db.query", None, "cache.get")) for _ in range(n)],
            "duration": [rng.choice((0.5, float("nan"), None, 0.1, 2.0)) for _ in range(n)],
            "message": [f"row {i}" for i in range(n)],
        }
    )


class Captured(_CapturedBase):
    def window(self, **params: Any) -> tuple[dict[str, Any], pa.Table | None]:
        request = {"type": "request", "id": len(self.sent) + 1, "kind": "window", **params}
        self._on_message(self, request, [])
        reply, buffers = self.sent[-1]
        assert reply["id"] == request["id"]
        return reply, pa.ipc.open_stream(buffers[0]).read_all() if buffers else None


def messages(table: pa.Table) -> list[str]:
    return [str(m) for m in table.column("message").to_pylist()]


def python_order(frame: pl.DataFrame, column: str, descending: bool) -> list[int]:
    """The order the browser's own sort gives a whole result: stable, nulls and NaN last either way."""
    values = frame.get_column(column).to_list()

    def missing(v: Any) -> bool:
        return v is None or (isinstance(v, float) and math.isnan(v))

    present = [i for i, v in enumerate(values) if not missing(v)]
    present.sort(key=lambda i: values[i], reverse=descending)  # stable in both directions
    return present + [i for i, v in enumerate(values) if missing(v)]


@pytest.mark.parametrize("column", ["level", "span_name", "duration", "message", "start_timestamp"])
@pytest.mark.parametrize("descending", [False, True])
def test_the_kernels_sort_and_its_top_rows_give_the_browsers_order(column: str, descending: bool) -> None:
    frame = log_frame(600)
    expected = python_order(frame, column, descending)
    assert _row_order(frame, Sort(column, descending)).to_list() == expected
    # The top rows end inside a run of equal keys, inside the nulls, or past the end.
    for k in (1, 150, 500, 700):
        assert _first_in_order(frame, Sort(column, descending), k).to_list() == expected[:k], k


def test_a_large_frame_sends_its_first_rows_with_the_result_and_the_rest_by_window() -> None:
    frame = log_frame(100_000)
    table = Captured(data=frame)
    head = pa.ipc.open_stream(table.head).read_all()
    assert table.status["rows"] == 100_000
    assert head.num_rows == HEAD_ROWS < 100_000
    assert messages(head)[:3] == ["row 0", "row 1", "row 2"]

    reply, rows = table.window(revision=table.revision, offset=50_000, count=300, sort=None)
    assert reply["ok"] is True and (reply["offset"], reply["count"], reply["rows"]) == (50_000, 300, 100_000)
    assert rows is not None and messages(rows) == [f"row {i}" for i in range(50_000, 50_300)]
    assert rows.schema.names == head.schema.names

    # The last window is cut at the end, never padded.
    reply, rows = table.window(revision=table.revision, offset=99_900, count=300, sort=None)
    assert reply["count"] == 100 and rows is not None and messages(rows)[-1] == "row 99999"


def test_a_sorted_window_is_the_whole_frames_order_not_the_windows() -> None:
    frame = log_frame(20_000)
    table = Captured(data=frame)
    expected = frame.sort("message", descending=True, maintain_order=True).get_column("message").to_list()
    sort = {"column": "message", "direction": "desc"}
    _, top = table.window(revision=table.revision, offset=0, count=200, sort=sort)
    _, middle = table.window(revision=table.revision, offset=10_000, count=200, sort=sort)
    assert top is not None and middle is not None
    assert messages(top) == expected[:200]
    assert messages(middle) == expected[10_000:10_200]
    ascending = {"column": "level", "direction": "asc"}
    _, levels = table.window(revision=table.revision, offset=19_800, count=200, sort=ascending)
    assert levels is not None and levels.column("level").to_pylist() == [17] * 200


def test_headers_clicked_in_a_row_sort_the_whole_frame_once_for_the_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import logfire_notebook._widget_window as windowing

    later: list[Any] = []  # the full orders' delayed starts, fired below once every header was clicked

    class Later:
        def __init__(self, _delay: float, function: Any, args: Any) -> None:
            later.append(lambda: function(*args))
            self.daemon = True

        def start(self) -> None:
            pass

    monkeypatch.setattr(windowing.threading, "Timer", Later)
    frame = log_frame(20_000)
    table = Captured(data=frame)
    for column in ("level", "span_name", "message"):
        sort = {"column": column, "direction": "asc"}
        _, top = table.window(revision=table.revision, offset=0, count=200, sort=sort)
        assert top is not None and top.num_rows == 200
    for start in later:
        start()
    windows = table._windows
    assert windows is not None and list(windows._orders) == [Sort("message", False)]
    expected = frame.sort("message", maintain_order=True).get_column("message").to_list()
    sort = {"column": "message", "direction": "asc"}
    _, deep = table.window(revision=table.revision, offset=15_000, count=100, sort=sort)
    assert deep is not None and messages(deep) == expected[15_000:15_100]


def test_a_new_table_reaches_the_browser_in_one_update_after_it_opens() -> None:
    # Every message before the first paint delays it (the widget shows once the cell's output arrives).
    class Counted(LogfireTable):
        def send_state(self, key: Any = None) -> None:
            if getattr(self, "comm", None) is not None:  # (anywidget's own traits come before the comm)
                self.__dict__.setdefault("updates", []).append(key)
            super().send_state(key)

    table = Counted(data=log_frame(10_000))
    assert len(table.__dict__["updates"]) == 1
    assert table.status["state"] == "ready" and table.head


def test_a_small_result_travels_whole() -> None:
    table = Captured(data=log_frame(WHOLE_MAX_ROWS))
    assert pa.ipc.open_stream(table.head).read_all().num_rows == WHOLE_MAX_ROWS == table.status["rows"]


def test_the_local_range_filter_runs_on_the_whole_frame_and_counts_exactly() -> None:
    frame = log_frame(100_000)
    table = Captured(data=frame)
    first_revision = table.revision
    table.min_timestamp = (END - timedelta(seconds=30_000)).isoformat()
    table.max_timestamp = END.isoformat()
    assert table.status["rows"] == 30_000 == table.df.height  # (END itself is outside: the end is exclusive)
    assert sum(table.timeline["histogram"]["counts"]) == 30_000
    assert messages(pa.ipc.open_stream(table.head).read_all())[0] == "row 1"
    # A window of the replaced result is refused as stale; the browser has the new head already.
    reply, rows = table.window(revision=first_revision, offset=0, count=10, sort=None)
    assert reply["stale"] is True and rows is None
    reply, rows = table.window(revision=table.revision, offset=29_990, count=50, sort=None)
    assert rows is not None and messages(rows)[-1] == "row 30000"


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"offset": -1, "count": 10}, "non-negative integer offset"),
        ({"offset": "0", "count": 10}, "non-negative integer offset"),
        ({"offset": 0, "count": MAX_WINDOW_ROWS + 1}, "at most 5,000 rows"),
        ({"offset": 0, "count": 10, "sort": {"column": "nope", "direction": "asc"}}, "no column 'nope'"),
        ({"offset": 0, "count": 10, "sort": {"column": "level", "direction": "up"}}, "asc|desc"),
        ({"offset": 0, "count": 10, "sort": "level"}, "asc|desc"),
    ],
)
def test_a_bad_window_request_gets_one_sentence_with_its_id(params: dict[str, Any], says: str) -> None:
    table = Captured(data=log_frame(10_000))
    reply, rows = table.window(revision=table.revision, **params)
    assert reply["ok"] is False and rows is None
    assert says in reply["error"] and "\n" not in reply["error"]


def test_windows_past_the_end_are_empty_not_errors() -> None:
    frame = WindowedFrame(log_frame(3_000))
    assert frame.window(5_000, 100).height == 0
    assert frame.window(2_950, 100, Sort("level", False)).height == 50
