"""Live mode's kernel side: a poll runs a keyset query (rows newer than the newest shown) and puts new rows on
top of the shown result; with nothing new it publishes nothing."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import polars as pl
import pytest
from _otlp_spans import send_spans

from logfire_notebook import LogfireClient, LogfireTable
from logfire_notebook._live import LATE, live_poll
from logfire_notebook.widget import _loop


@pytest.fixture(scope="module")
def backend(make_backend: Any) -> Any:
    """One server for the module, its own store: the spans sent here must not change the shared dataset.
    Each test sends and reads its own service's spans."""
    return make_backend()


def sql(service: str, columns: str = "start_timestamp, span_name") -> str:
    return f"SELECT {columns} FROM records WHERE service_name = '{service}' ORDER BY start_timestamp DESC"


def poll(table: LogfireTable) -> dict[str, Any]:
    return asyncio.run_coroutine_threadsafe(live_poll(table), _loop()).result(timeout=60)


def test_a_poll_adds_only_the_rows_newer_than_the_newest_shown_on_top(backend: Any) -> None:
    send_spans(backend.base_url, "live-newer", ["first", "second"])
    with LogfireClient(backend.token, backend.base_url) as client:
        table = LogfireTable(sql("live-newer"), since="10m", client=client)
        assert table.df.get_column("span_name").to_list() == ["second", "first"]
        revision = table.revision
        assert poll(table) == {"ok": True, "new": 0}
        assert table.revision == revision  # nothing new: nothing sent to the browser

        send_spans(backend.base_url, "live-newer", ["third", "fourth"])
        reply = poll(table)
        assert reply["ok"] is True and reply["new"] == 2 and table.revision == revision + 1
        assert table.df.get_column("span_name").to_list() == ["fourth", "third", "second", "first"]
        assert table.status["rows"] == 4
        table.close()


def test_live_needs_a_range_ending_now_and_a_sane_interval() -> None:
    table = LogfireTable(data=pl.DataFrame({"n": [1]}))
    assert poll(table) == {"ok": False, "error": "Live needs a query whose range ends at now."}
    with pytest.raises(ValueError, match="at least 1 second"):
        table.live_interval = 0.1


def test_a_late_row_older_than_the_newest_shown_is_caught_by_its_arrival_time(backend: Any) -> None:
    # A span that started two minutes ago and arrives only now (a long request, exported at its end).
    send_spans(backend.base_url, "live-late", ["recent"])
    with LogfireClient(backend.token, backend.base_url) as client:
        table = LogfireTable(sql("live-late", "*"), since="10m", client=client)
        assert table.df.get_column("span_name").to_list() == ["recent"]
        assert poll(table) == {"ok": True, "new": 0}

        send_spans(backend.base_url, "live-late", ["late"], ago=120)
        assert poll(table)["new"] == 1
        assert table.df.get_column("span_name").to_list() == ["late", "recent"]
        assert poll(table) == {"ok": True, "new": 0}  # each row once
        table.close()


def test_without_created_at_a_late_row_is_caught_within_the_overlap_and_shown_once(backend: Any) -> None:
    send_spans(backend.base_url, "live-overlap", ["recent"])
    columns = "start_timestamp, trace_id, span_id, span_name"
    with LogfireClient(backend.token, backend.base_url) as client:
        table = LogfireTable(sql("live-overlap", columns), since="10m", client=client)
        send_spans(backend.base_url, "live-overlap", ["late"], ago=20)  # well within LATE
        assert poll(table)["new"] == 1
        assert table.df.get_column("span_name").to_list() == ["late", "recent"]
        assert poll(table) == {"ok": True, "new": 0}
        table.close()


def test_an_empty_result_polls_only_the_time_since_the_last_poll(backend: Any) -> None:
    asked: list[tuple[datetime, datetime]] = []
    with LogfireClient(backend.token, backend.base_url) as client:
        table = LogfireTable(sql("live-empty"), since="7d", client=client)
        assert table.df.height == 0
        query_arrow = table._source.query_arrow

        async def recording(query: str, start: datetime, end: datetime, limit: int) -> Any:
            asked.append((start, end))
            return await query_arrow(query, start, end, limit)

        table._source.query_arrow = recording  # type: ignore[method-assign]
        assert poll(table) == {"ok": True, "new": 0}
        assert poll(table) == {"ok": True, "new": 0}
        # Not the seven days again: at most LATE before the previous poll.
        assert all(end - start <= LATE + timedelta(seconds=30) for start, end in asked), asked
        send_spans(backend.base_url, "live-empty", ["arrived"])
        assert poll(table)["new"] == 1
        assert table.df.get_column("span_name").to_list() == ["arrived"]
        table.close()
