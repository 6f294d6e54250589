"""The official SDK's `LogfireQueryClient` against the local backend, as a Logfire user would run it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pytest
from _backend import Backend
from logfire.query_client import LogfireQueryClient

SQL = "SELECT kind, message, is_exception, tags FROM records ORDER BY is_exception, message LIMIT 2"


@pytest.fixture
def client(backend: Backend):
    with LogfireQueryClient(read_token=backend.token, base_url=backend.base_url) as c:
        yield c


def _expected_first_two(backend: Backend) -> list[dict[str, object]]:
    assert backend.dataset is not None
    rows = sorted(backend.dataset.visible_records, key=lambda r: (r["is_exception"], r["message"]))[:2]
    return [{k: r[k] for k in ("kind", "message", "is_exception", "tags")} for r in rows]


def test_sdk_json_rows_match_the_dataset(backend: Backend, client: LogfireQueryClient) -> None:
    assert backend.dataset is not None
    result = client.query_json_rows(SQL, min_timestamp=backend.dataset.now - timedelta(days=8))
    assert result["rows"] == _expected_first_two(backend)
    assert result["columns"] == [
        {"name": "kind", "datatype": "Utf8", "nullable": False},
        {"name": "message", "datatype": "Utf8", "nullable": False},
        {"name": "is_exception", "datatype": "Boolean", "nullable": True},
        {
            "name": "tags",
            "datatype": {"List": {"name": "item", "datatype": "Utf8", "nullable": True}},
            "nullable": True,
        },
    ]


def test_sdk_arrow_has_logfires_schema_and_rows(backend: Backend, client: LogfireQueryClient) -> None:
    assert backend.dataset is not None
    table = client.query_arrow(SQL, min_timestamp=backend.dataset.now - timedelta(days=8))
    assert table.schema == pa.schema(
        [
            pa.field("kind", pa.string(), nullable=False),
            pa.field("message", pa.string(), nullable=False),
            pa.field("is_exception", pa.bool_()),
            pa.field("tags", pa.list_(pa.field("item", pa.string()))),
        ]
    )
    assert table.to_pylist() == _expected_first_two(backend)


def test_sdk_csv_counts_by_level(backend: Backend, client: LogfireQueryClient) -> None:
    assert backend.dataset is not None
    csv_text = client.query_csv(
        "SELECT level, count(*) FROM records GROUP BY level ORDER BY level",
        min_timestamp=backend.dataset.now - timedelta(days=8),
    )
    lines = csv_text.splitlines()
    assert lines[0] == "level,count(*)"
    expected = sorted(Counter(r["level"] for r in backend.dataset.visible_records).items())
    assert [tuple(map(int, line.split(","))) for line in lines[1:]] == expected


def test_sdk_info_names_the_local_project(client: LogfireQueryClient) -> None:
    assert client.info() == {"organization_name": "local", "project_name": "local"}


def test_sdk_limit_and_time_window(backend: Backend, client: LogfireQueryClient) -> None:
    assert backend.dataset is not None
    now = backend.dataset.now
    result = client.query_json_rows(
        "SELECT start_timestamp FROM records ORDER BY start_timestamp",
        min_timestamp=now - timedelta(days=2),
        max_timestamp=now - timedelta(days=1),
        limit=10_000,
    )
    expected = [
        r
        for r in backend.dataset.visible_records
        if now - timedelta(days=2) <= r["start_timestamp"] < now - timedelta(days=1)
    ]
    assert len(result["rows"]) == len(expected) > 0
    limited = client.query_json_rows(
        "SELECT span_id FROM records", min_timestamp=now - timedelta(days=8), limit=7
    )
    assert len(limited["rows"]) == 7
