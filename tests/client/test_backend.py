"""The client against the real local backend over loopback: what a user gets back from each method."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pyarrow as pa
import pytest

from logfire_notebook import AsyncLogfireClient, AuthenticationError, LogfireClient, QueryError, TimeRange
from logfire_notebook._schema import schemas_payload


@pytest.fixture
def client(backend: Any) -> Any:
    with LogfireClient(backend.token, backend.base_url) as c:
        yield c


def _visible_since(backend: Any, since: datetime) -> list[dict[str, Any]]:
    return [r for r in backend.dataset.visible_records if r["start_timestamp"] >= since]


def test_polars_result_has_utc_microsecond_timestamps_and_plain_strings(client: LogfireClient) -> None:
    frame = client.query_polars("SELECT * FROM records ORDER BY start_timestamp", since="7d", limit=500)
    assert frame.height == 500
    assert frame.schema["start_timestamp"] == pl.Datetime("us", "UTC")
    assert frame.schema["end_timestamp"] == pl.Datetime("us", "UTC")
    assert frame.schema["created_at"] == pl.Datetime("us", "UTC")
    assert frame.schema["message"] == pl.String and frame.schema["attributes"] == pl.String
    assert frame.schema["tags"] == pl.List(pl.String)
    exported = frame.to_arrow().schema
    assert all("view" not in str(field.type) for field in exported)
    assert frame.to_pandas()["start_timestamp"].dt.tz is not None


def test_count_over_a_window_matches_the_data(backend: Any, client: LogfireClient) -> None:
    since = datetime.now(timezone.utc) - timedelta(days=3)
    table = client.query_arrow("SELECT count(*) AS n FROM records", min_timestamp=since)
    assert table.column("n").to_pylist() == [len(_visible_since(backend, since))]
    assert client.last_query is not None and client.last_query.min_timestamp == since


def test_relative_times_reach_the_server(backend: Any, client: LogfireClient) -> None:
    recent = client.query_arrow("SELECT count(*) AS n FROM records", since="5m").column("n")[0].as_py()
    assert recent == len(_visible_since(backend, datetime.now(timezone.utc) - timedelta(minutes=5)))
    assert 0 < recent < 200
    older = client.query_arrow(
        "SELECT count(*) AS n FROM records", time_range=TimeRange.parse("now-2d", "now-1d")
    )
    now = datetime.now(timezone.utc)
    expected = [
        r
        for r in backend.dataset.visible_records
        if now - timedelta(days=2) <= r["start_timestamp"] <= now - timedelta(days=1)
    ]
    assert abs(older.column("n")[0].as_py() - len(expected)) <= 2  # the server's now is a moment later


def test_arrow_json_and_csv_agree(client: LogfireClient) -> None:
    sql = "SELECT span_id, message, level, duration, is_exception, tags FROM records ORDER BY start_timestamp, span_id"
    arrow = client.query_arrow(sql, since="7d", limit=300)
    rows = client.query_json_rows(sql, since="7d", limit=300)
    csv = client.query_csv(sql, since="7d", limit=300)
    assert [c["name"] for c in rows["columns"]] == arrow.column_names
    assert rows["rows"] == arrow.to_pylist()
    from_csv = pl.read_csv(io.StringIO(csv), schema_overrides={"tags": pl.String})
    assert from_csv["span_id"].to_list() == arrow.column("span_id").to_pylist()


def test_row_limit_is_reported_when_hit(client: LogfireClient) -> None:
    client.query_arrow("SELECT * FROM records", since="7d")
    assert client.last_query is not None and client.last_query.rows == 100 and client.last_query.hit_limit
    client.query_arrow("SELECT * FROM records", since="7d", limit=10_000)
    assert client.last_query is not None and not client.last_query.hit_limit


def test_json_columns_decode_to_structs(client: LogfireClient) -> None:
    frame = client.query_polars(
        "SELECT attributes, otel_resource_attributes FROM records WHERE attributes <> '{}' ORDER BY start_timestamp",
        since="7d",
        limit=2000,
        json_columns=("attributes", "otel_resource_attributes"),
    )
    assert isinstance(frame.schema["attributes"], pl.Struct)
    assert isinstance(frame.schema["otel_resource_attributes"], pl.Struct)
    assert "service.name" in {f.name for f in frame.schema["otel_resource_attributes"].fields}  # type: ignore[union-attr]


def test_info_and_schemas(client: LogfireClient) -> None:
    assert client.info()["project_name"]
    assert client.schemas() == schemas_payload()


def test_query_error_from_the_engine_reaches_the_user(client: LogfireClient) -> None:
    with pytest.raises(QueryError) as info:
        client.query_arrow("SELECT no_such_column FROM records")
    assert "no_such_column" in str(info.value)
    assert client.query_arrow("SELECT 1 AS one", since="1h").num_rows == 1  # still usable


def test_environment_filter(backend: Any, client: LogfireClient) -> None:
    environments = {r["deployment_environment"] for r in backend.dataset.visible_records} - {None}
    chosen = sorted(environments)[0]
    table = client.query_arrow(
        "SELECT DISTINCT deployment_environment FROM records", since="7d", environment=chosen, limit=10
    )
    assert table.column("deployment_environment").to_pylist() == [chosen]


async def test_async_client_mirrors_the_sync_one(backend: Any) -> None:
    sql = "SELECT span_id, start_timestamp FROM records ORDER BY start_timestamp, span_id"
    async with AsyncLogfireClient(backend.token, backend.base_url) as client:
        frame = await client.query_polars(sql, since="7d", limit=50)
        table = await client.query_arrow(sql, since="7d", limit=50)
        rows = await client.query_json_rows(sql, since="7d", limit=50)
        csv = await client.query_csv(sql, since="7d", limit=50)
        info = await client.info()
    assert frame.schema["start_timestamp"] == pl.Datetime("us", "UTC")
    assert (
        frame["span_id"].to_list()
        == table.column("span_id").to_pylist()
        == [r["span_id"] for r in rows["rows"]]
    )
    assert csv.count("\n") == 51
    assert info["project_name"]
    assert isinstance(table, pa.Table)


def test_a_wrong_token_on_the_local_backend_points_to_token_create(backend: Any) -> None:
    wrong = "pylf_v1_local_" + "x" * 40
    with LogfireClient(wrong, backend.base_url) as client, pytest.raises(AuthenticationError) as info:
        client.query_arrow("SELECT 1")
    message = str(info.value)
    assert message.startswith("127.0.0.1 rejected the read token (401 Invalid token): ")
    assert "`logfire-notebook token create --data-dir DIR`" in message
    assert "`.demo-data/demo_token`" in message
    assert "logfire read-tokens" not in message and wrong not in message
