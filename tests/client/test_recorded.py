"""The real recorded Logfire responses parse to the right values in every format, the same as the official SDK."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import polars as pl
import pytest

from logfire_notebook import LogfireClient
from logfire_notebook._schema import schemas_payload

from ._cassettes import transport

TOKEN = "pylf_v1_us_recordedTokenSecret0123"
START = datetime(2020, 1, 1, tzinfo=timezone.utc)
READ_SQL = """
        SELECT kind, message, is_exception, tags
        FROM records
        ORDER BY is_exception, message
        LIMIT 2
        """


def _ours(cassette: str, requests: list[httpx.Request] | None = None) -> LogfireClient:
    return LogfireClient(TOKEN, "http://localhost:3000", transport=transport(cassette, requests))


def _official(cassette: str) -> object:
    from logfire.query_client import LogfireQueryClient

    return LogfireQueryClient(TOKEN, "http://localhost:3000", transport=transport(cassette))


def test_arrow_answer_reads_to_the_recorded_rows() -> None:
    with _ours("v2/test_query_arrow_read_sync.yaml") as client:
        table = client.query_arrow(READ_SQL, min_timestamp=START)
    assert table.to_pylist() == [
        {"kind": "log", "message": "about to raise an error", "is_exception": False, "tags": []},
        {"kind": "log", "message": "aha 0", "is_exception": False, "tags": ["tag1", "tag2"]},
    ]
    official = _official("v2/test_query_arrow_read_sync.yaml")
    assert table.equals(official.query_arrow(READ_SQL, min_timestamp=START))  # type: ignore[attr-defined]


def test_arrow_answer_as_polars_keeps_types_readable_by_other_tools() -> None:
    with _ours("v2/test_query_arrow_read_sync.yaml") as client:
        frame = client.query_polars(READ_SQL, min_timestamp="2020-01-01")
    assert frame.schema == pl.Schema(
        {"kind": pl.String, "message": pl.String, "is_exception": pl.Boolean, "tags": pl.List(pl.String)}
    )
    assert frame["tags"].to_list() == [[], ["tag1", "tag2"]]
    arrow_types = {field.name: str(field.type) for field in frame.to_arrow().schema}
    assert "view" not in " ".join(arrow_types.values())


def test_json_rows_answer_matches_the_official_client() -> None:
    with _ours("v2/test_query_json_rows_read_sync.yaml") as client:
        result = client.query_json_rows(READ_SQL, min_timestamp=START)
    assert result["rows"] == [
        {"kind": "log", "message": "about to raise an error", "is_exception": False, "tags": []},
        {"kind": "log", "message": "aha 0", "is_exception": False, "tags": ["tag1", "tag2"]},
    ]
    assert result["columns"][3] == {
        "name": "tags",
        "datatype": {"List": {"name": "item", "datatype": "Utf8", "nullable": True}},
        "nullable": True,
    }
    official = _official("v2/test_query_json_rows_read_sync.yaml")
    assert result == official.query_json_rows(READ_SQL, min_timestamp=START)  # type: ignore[attr-defined]


def test_csv_answer_is_the_recorded_text() -> None:
    with _ours("v2/test_query_csv_read_sync.yaml") as client:
        text = client.query_csv(READ_SQL, min_timestamp=START)
    assert text.splitlines() == [
        "kind,message,is_exception,tags",
        "log,about to raise an error,false,[]",
        'log,aha 0,false,"[""tag1"",""tag2""]"',
    ]
    assert client.last_query is not None and client.last_query.rows == 2


def test_every_query_argument_is_sent_as_the_official_client_sends_it() -> None:
    requests: list[httpx.Request] = []
    with _ours("v2/test_query_body_params_sync.yaml", requests) as client:
        result = client.query_json_rows(
            "SELECT count(*) AS n FROM records",
            min_timestamp=START,
            max_timestamp="2099-01-01T00:00:00Z",
            timezone="UTC",
            environment="production",
        )
    assert result["rows"] == [{"n": 0}]
    assert requests[0].headers["authorization"] == TOKEN
    assert (
        requests[0].headers["accept"] == "application/json, application/problem+json;q=0.9"
    )  # as the SDK sends it


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, "is_exception,count(*)\nfalse,37\ntrue,1\n"),
        ({"min_timestamp": "2030-01-01"}, "is_exception,count(*)\n"),
        ({"max_timestamp": datetime(2020, 1, 1)}, "is_exception,count(*)\n"),
        ({"limit": 1}, "is_exception,count(*)\nfalse,37\n"),
    ],
)
def test_query_parameters_reach_the_server(kwargs: dict[str, object], expected: str) -> None:
    sql = "\n        SELECT is_exception, count(*)\n        FROM records\n        GROUP BY is_exception\n        ORDER BY is_exception\n        "
    kwargs = {"min_timestamp": START, **kwargs}
    with _ours("v2/test_query_params_sync.yaml") as client:
        assert client.query_csv(sql, **kwargs) == expected  # type: ignore[arg-type]


def test_info_answer_names_organization_and_project() -> None:
    with _ours("v2/test_info_sync.yaml") as client:
        info = client.info()
    assert info["organization_name"] == "viicos"
    assert info["project_name"] == "logfire-sdk-cassettes"


def test_schemas_answer_is_the_local_schema_payload() -> None:
    with LogfireClient(
        TOKEN, "https://logfire-us.pydantic.dev", transport=transport("v1/schemas.yaml")
    ) as client:
        schemas = client.schemas()
    names = [table["name"] for table in schemas["tables"]]
    assert "records" in names and "metrics" in names
    records = next(table for table in schemas["tables"] if table["name"] == "records")
    assert records["schema"]["start_timestamp"]["data_type"] == "TIMESTAMP WITH TIME ZONE"
    ours = next(table for table in schemas_payload()["tables"] if table["name"] == "records")
    assert set(ours["schema"]) == set(records["schema"])
