"""Results past the 10,000-row cap: every row exactly once, even where thousands share a timestamp."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from logfire_notebook import AsyncLogfireClient, LogfireClient, LogfireError, QueryError
from logfire_notebook._paging import PageProgress

ROWS = 36_000
SHARED = 12_500  # rows with the very same start_timestamp: more than one page's worth


def _fill(store: Any) -> None:
    now = datetime.now(timezone.utc).replace(microsecond=0)
    burst = now - timedelta(hours=2)
    starts = [
        burst if i < SHARED else now - timedelta(minutes=1 + i % 600, microseconds=i % 7) for i in range(ROWS)
    ]
    # A few trace ids shared by many spans, so the trace_id tie-break is exercised as well as span_id.
    table = pa.table(
        {
            "start_timestamp": pa.array(starts, pa.timestamp("us", "UTC")),
            "end_timestamp": pa.array(starts, pa.timestamp("us", "UTC")),
            "trace_id": [f"{(i * 7919) % 97:032x}" for i in range(ROWS)],
            "span_id": [f"{(i * 104729) % 2**40:016x}" for i in range(ROWS)],
            "kind": ["span"] * ROWS,
            "level": [9 + (i % 3) * 4 for i in range(ROWS)],
            "message": [f"row {i}" for i in range(ROWS)],
            "span_name": ["work"] * ROWS,
            "service_name": ["pager"] * ROWS,
            "attributes": [f'{{"i": {i}}}' for i in range(ROWS)],
        }
    )
    store.append_records(table)


@pytest.fixture(scope="module")
def big(make_backend: Any) -> Any:
    return make_backend(_fill)


def _direct_count(client: LogfireClient, where: str = "true") -> int:
    return int(
        client.query_arrow(f"SELECT count(*) AS n FROM records WHERE {where}", since="1d")
        .column("n")[0]
        .as_py()
    )


def test_query_all_returns_every_row_once(big: Any) -> None:
    reports: list[PageProgress] = []
    with LogfireClient(big.token, big.base_url) as client:
        expected = _direct_count(client)
        frame = client.query_all("SELECT * FROM records", since="1d", progress=reports.append)
    assert expected == ROWS
    assert frame.height == expected
    assert frame.select("trace_id", "span_id").n_unique() == expected
    assert sorted(frame["message"].to_list()) == sorted(f"row {i}" for i in range(ROWS))
    assert frame.schema["start_timestamp"] == pl.Datetime("us", "UTC")
    # Progress: one report per page, rows growing, the last one complete.
    assert [r.pages for r in reports] == list(range(1, len(reports) + 1))
    assert len(reports) == 4
    assert [r.rows for r in reports] == [10_000, 20_000, 30_000, 36_000]
    assert reports[-1].done and reports[-1].fraction == 1.0
    assert all(a.fraction <= b.fraction for a, b in itertools.pairwise(reports))


def test_query_all_keeps_the_users_filter_and_columns(big: Any) -> None:
    with LogfireClient(big.token, big.base_url) as client:
        expected = _direct_count(client, "level = 13")
        frame = client.query_all(
            "SELECT start_timestamp, trace_id, span_id, message, attributes FROM records WHERE level = 13;",
            since="1d",
            json_columns=["attributes"],
            progress=False,
        )
    assert frame.height == expected == ROWS // 3
    assert frame.columns == ["start_timestamp", "trace_id", "span_id", "message", "attributes"]
    assert frame["attributes"].struct.field("i").n_unique() == expected


def test_iter_batches_yields_pages_of_at_most_the_page_size(big: Any) -> None:
    with LogfireClient(big.token, big.base_url) as client:
        sizes = [
            page.num_rows
            for page in client.iter_batches("SELECT * FROM records", since="1d", page_size=7_000)
        ]
    assert sizes == [7_000] * 5 + [1_000]


def test_an_empty_window_gives_an_empty_frame_with_the_columns(big: Any) -> None:
    with LogfireClient(big.token, big.base_url) as client:
        frame = client.query_all(
            "SELECT start_timestamp, trace_id, span_id FROM records", since="now-30d", until="now-20d"
        )
    assert frame.height == 0
    assert frame.columns == ["start_timestamp", "trace_id", "span_id"]


async def test_async_query_all_matches_the_direct_count(big: Any) -> None:
    async with AsyncLogfireClient(big.token, big.base_url) as client:
        frame = await client.query_all("SELECT * FROM records", since="1d")
        pages = [page.num_rows async for page in client.iter_batches("SELECT * FROM records", since="1d")]
    assert frame.height == ROWS
    assert frame.select("trace_id", "span_id").n_unique() == ROWS
    assert pages == [10_000, 10_000, 10_000, 6_000]


def test_query_all_explains_missing_key_columns(big: Any) -> None:
    with LogfireClient(big.token, big.base_url) as client, pytest.raises(QueryError) as info:
        client.query_all("SELECT message FROM records", since="1d")
    assert str(info.value).startswith("--all (query_all) pages by (start_timestamp, trace_id, span_id)")
    assert "SELECT * FROM records WHERE" in str(info.value)


def test_query_all_refuses_a_limit_that_would_cut_pages_short(big: Any) -> None:
    with (
        LogfireClient(big.token, big.base_url) as client,
        pytest.raises(LogfireError, match="remove the LIMIT"),
    ):
        client.query_all("SELECT * FROM records LIMIT 50", since="1d")
