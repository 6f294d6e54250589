"""The query API on the wire: POST /v2/query and GET /v1/query in every format, limits, windows, errors."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import Any

import pyarrow as pa
import pytest
from _backend import Backend
from _dataset import Dataset

SQL = "SELECT kind, message, is_exception, tags FROM records ORDER BY is_exception, message LIMIT 2"
ARROW = "application/vnd.apache.arrow.stream"


def _ds(backend: Backend) -> Dataset:
    assert backend.dataset is not None
    return backend.dataset


def _since(backend: Backend, days: int = 8) -> str:
    return (_ds(backend).now - timedelta(days=days)).isoformat()


def _v2(backend: Backend, body: dict[str, Any], accept: str | None = "application/json") -> Any:
    headers = {"Accept": accept} if accept else {}
    with backend.client() as client:
        return client.post("/v2/query", json=body, headers=headers)


def _first_two(backend: Backend) -> list[dict[str, Any]]:
    rows = sorted(_ds(backend).visible_records, key=lambda r: (r["is_exception"], r["message"]))[:2]
    return [{k: r[k] for k in ("kind", "message", "is_exception", "tags")} for r in rows]


# ---- POST /v2/query ----


def test_v2_json_without_accept_header_is_json(backend: Backend) -> None:
    response = _v2(backend, {"sql": SQL, "min_timestamp": _since(backend)}, accept=None)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["data"] == _first_two(backend)


def test_v2_arrow_stream_has_plain_utf8_and_utc_microsecond_timestamps(backend: Backend) -> None:
    sql = "SELECT start_timestamp, message, level, duration, day, tags FROM records ORDER BY start_timestamp DESC"
    response = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 50}, accept=ARROW)
    assert response.status_code == 200
    assert response.headers["content-type"] == ARROW
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.schema == pa.schema(
        [
            pa.field("start_timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
            pa.field("message", pa.string(), nullable=False),
            pa.field("level", pa.int32(), nullable=False),
            pa.field("duration", pa.float64()),
            pa.field("day", pa.date32(), nullable=False),
            pa.field("tags", pa.list_(pa.field("item", pa.string()))),
        ]
    )
    expected = sorted(_ds(backend).visible_records, key=lambda r: r["start_timestamp"], reverse=True)[:50]
    assert table.column("start_timestamp").to_pylist() == [r["start_timestamp"] for r in expected]
    assert table.column("message").to_pylist() == [r["message"] for r in expected]


def test_v2_csv_writes_true_false_and_lists_as_json(backend: Backend) -> None:
    response = _v2(backend, {"sql": SQL, "min_timestamp": _since(backend)}, accept="text/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["kind", "message", "is_exception", "tags"]
    for got, want in zip(rows[1:], _first_two(backend), strict=True):
        assert got == [
            want["kind"],
            want["message"],
            "false",
            json.dumps(want["tags"], separators=(",", ":")),
        ]


def test_v2_csv_timestamps_are_iso_with_z(backend: Backend) -> None:
    sql = "SELECT start_timestamp FROM records ORDER BY start_timestamp LIMIT 1"
    response = _v2(backend, {"sql": sql, "min_timestamp": _since(backend)}, accept="text/csv")
    first = min(r["start_timestamp"] for r in _ds(backend).visible_records)
    assert response.text == f"start_timestamp\n{first.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}\n"


def test_v2_ndjson_streams_schema_data_end(backend: Backend) -> None:
    body = {"sql": "SELECT span_id FROM records", "min_timestamp": _since(backend), "limit": 2500}
    response = _v2(backend, body, accept="application/x-ndjson")
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0] == {
        "type": "schema",
        "schema": {"fields": [{"name": "span_id", "data_type": "Utf8", "nullable": False}], "metadata": {}},
    }
    # Logfire's docs (query-api.md, "NDJSON Response Format") name a data message's rows `rows`.
    data = [row for line in lines[1:-1] for row in line["rows"]]
    assert {line["type"] for line in lines[1:-1]} == {"data"}
    assert len(data) == 2500
    assert lines[-1] == {"type": "end", "row_count": 2500}


def test_v2_default_limit_is_100_and_limit_overrides_sql_limit(backend: Backend) -> None:
    body = {"sql": "SELECT span_id FROM records", "min_timestamp": _since(backend)}
    assert len(_v2(backend, body).json()["data"]) == 100
    body = {"sql": "SELECT span_id FROM records LIMIT 5000", "min_timestamp": _since(backend), "limit": 3}
    assert len(_v2(backend, body).json()["data"]) == 3
    body = {"sql": "SELECT span_id FROM records", "min_timestamp": _since(backend), "limit": 10_000}
    assert len(_v2(backend, body).json()["data"]) == len(_ds(backend).visible_records)


def test_v2_limit_keeps_the_order_of_the_query(backend: Backend) -> None:
    sql = "SELECT start_timestamp FROM records ORDER BY start_timestamp DESC"
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 5}).json()["data"]
    latest = sorted((r["start_timestamp"] for r in _ds(backend).visible_records), reverse=True)[:5]
    assert [row["start_timestamp"] for row in rows] == [t.strftime("%Y-%m-%dT%H:%M:%S.%fZ") for t in latest]


def test_v2_time_window_filters_records_and_metrics(backend: Backend) -> None:
    ds = _ds(backend)
    lo, hi = ds.now - timedelta(days=3), ds.now - timedelta(days=2)
    body = {
        "sql": "SELECT (SELECT count(*) FROM records) AS r, (SELECT count(*) FROM metrics) AS m",
        "min_timestamp": lo.isoformat(),
        "max_timestamp": hi.isoformat(),
    }
    [row] = _v2(backend, body).json()["data"]
    assert row == {
        "r": sum(lo <= r["start_timestamp"] < hi for r in ds.visible_records),
        "m": sum(lo <= m["recorded_timestamp"] < hi for m in ds.metrics),
    }
    assert row["r"] > 0 and row["m"] > 0


def test_v2_recorded_empty_windows_give_header_only_csv(backend: Backend) -> None:
    sql = "SELECT is_exception, count(*) FROM records GROUP BY is_exception ORDER BY is_exception"
    for window in (
        {"min_timestamp": "2030-01-01T00:00:00+00:00"},
        {"min_timestamp": "2020-01-01T00:00:00+00:00", "max_timestamp": "2020-01-01T00:00:00+00:00"},
    ):
        response = _v2(backend, {"sql": sql, **window}, accept="text/csv")
        assert response.text == "is_exception,count(*)\n"


def test_v2_count_star_is_named_like_datafusion(backend: Backend) -> None:
    sql = "SELECT is_exception, count(*) FROM records GROUP BY is_exception ORDER BY is_exception"
    body = {"sql": sql, "min_timestamp": _since(backend)}
    response = _v2(backend, body, accept="text/csv")
    counts = Counter(r["is_exception"] for r in _ds(backend).visible_records)
    assert response.text == f"is_exception,count(*)\nfalse,{counts[False]}\ntrue,{counts[True]}\n"


def test_v2_pending_spans_are_not_in_records(backend: Backend) -> None:
    ds = _ds(backend)
    assert any(r["kind"] == "pending_span" for r in ds.records)
    body = {
        "sql": "SELECT kind, count(*) AS n FROM records GROUP BY kind ORDER BY kind",
        "min_timestamp": _since(backend),
    }
    rows = _v2(backend, body).json()["data"]
    assert rows == [
        {"kind": k, "n": n} for k, n in sorted(Counter(r["kind"] for r in ds.visible_records).items())
    ]


def test_v2_deployment_environment_filters_and_empty_string_means_none(backend: Backend) -> None:
    ds = _ds(backend)
    sql = "SELECT count(*) AS n FROM records"
    for envs, expected in (
        (["production"], sum(r["deployment_environment"] == "production" for r in ds.visible_records)),
        (
            ["staging", "dev"],
            sum(r["deployment_environment"] in ("staging", "dev") for r in ds.visible_records),
        ),
        ([""], sum(r["deployment_environment"] is None for r in ds.visible_records)),
        (["nowhere"], 0),
    ):
        body = {"sql": sql, "min_timestamp": _since(backend), "deployment_environment": envs}
        assert _v2(backend, body).json()["data"] == [{"n": expected}], envs


def test_v2_timezone_changes_bucketing(backend: Backend) -> None:
    sql = "SELECT date_trunc('day', start_timestamp) AS d, count(*) AS n FROM records GROUP BY d ORDER BY d"
    utc = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "timezone": "UTC"}).json()["data"]
    tokyo = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "timezone": "Asia/Tokyo"}).json()[
        "data"
    ]
    assert all(row["d"].endswith("T00:00:00.000000Z") for row in utc)
    # Midnight in Tokyo is 15:00 UTC the day before.
    assert all(row["d"].endswith("T15:00:00.000000Z") for row in tokyo)
    assert sum(r["n"] for r in utc) == sum(r["n"] for r in tokyo) == len(_ds(backend).visible_records)


def test_v2_json_schema_matches_recorded_shape(backend: Backend) -> None:
    body = {
        "sql": "SELECT count(*) AS n FROM records",
        "min_timestamp": _since(backend),
        "deployment_environment": ["nowhere"],
    }
    assert _v2(backend, body).content == (
        b'{"schema":{"fields":[{"name":"n","data_type":"Int64","nullable":false}],"metadata":{}},"data":[{"n":0}]}'
    )


def test_v2_metrics_lists_and_types(backend: Backend) -> None:
    sql = (
        "SELECT metric_name, histogram_bucket_counts, histogram_explicit_bounds, recorded_timestamp, is_monotonic "
        "FROM metrics WHERE metric_type = 'histogram' ORDER BY recorded_timestamp DESC LIMIT 1"
    )
    response = _v2(backend, {"sql": sql, "min_timestamp": _since(backend)})
    fields = {f["name"]: f["data_type"] for f in response.json()["schema"]["fields"]}
    # 64-bit: a long-running service's counts pass 2**31 (Logfire's schema says INTEGER).
    assert fields["histogram_bucket_counts"]["List"]["data_type"] == "Int64"
    assert fields["histogram_explicit_bounds"]["List"]["data_type"] == "Float64"
    assert fields["recorded_timestamp"] == {"Timestamp": ["Microsecond", "UTC"]}
    [row] = response.json()["data"]
    assert row["histogram_explicit_bounds"][:3] == [0.0, 5.0, 10.0]
    assert sum(row["histogram_bucket_counts"]) >= 0


# ---- GET /v1/query ----


def _v1(backend: Backend, params: dict[str, Any], accept: str | None = None) -> Any:
    headers = {"Accept": accept} if accept else {}
    with backend.client() as client:
        return client.get("/v1/query", params=params, headers=headers)


def test_v1_column_oriented_json_like_the_recording(backend: Backend) -> None:
    response = _v1(backend, {"sql": SQL}, accept="application/json")
    assert response.status_code == 200
    want = _first_two(backend)
    assert response.json() == {
        "columns": [
            {"name": "kind", "nullable": False, "datatype": "Utf8", "values": [r["kind"] for r in want]},
            {
                "name": "message",
                "nullable": False,
                "datatype": "Utf8",
                "values": [r["message"] for r in want],
            },
            {"name": "is_exception", "nullable": True, "datatype": "Boolean", "values": [False, False]},
            {
                "name": "tags",
                "nullable": True,
                "datatype": {"List": {"name": "item", "nullable": True, "datatype": "Utf8"}},
                "values": [r["tags"] for r in want],
            },
        ]
    }


@pytest.mark.parametrize("flag", ["json_rows", "row_oriented"])
def test_v1_row_oriented_json(backend: Backend, flag: str) -> None:
    response = _v1(backend, {"sql": SQL, flag: "true"})
    body = response.json()
    assert body["rows"] == _first_two(backend)
    assert [c["name"] for c in body["columns"]] == ["kind", "message", "is_exception", "tags"]
    assert "values" not in body["columns"][0]


def test_v1_csv_is_an_attachment(backend: Backend) -> None:
    response = _v1(backend, {"sql": SQL}, accept="text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="query_results.csv"'
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.text.splitlines()[0] == "kind,message,is_exception,tags"


def test_v1_arrow(backend: Backend) -> None:
    response = _v1(backend, {"sql": "SELECT span_id FROM records"}, accept=ARROW)
    table = pa.ipc.open_stream(response.content).read_all()
    assert table.num_rows == 500  # v1's default limit
    assert table.schema.field("span_id").type == pa.string()


def test_v1_time_window_and_limit(backend: Backend) -> None:
    sql = "SELECT is_exception, count(*) FROM records GROUP BY is_exception ORDER BY is_exception"
    assert _v1(
        backend, {"sql": sql, "min_timestamp": "2030-01-01T00:00:00+00:00"}, accept="text/csv"
    ).text == ("is_exception,count(*)\n")
    assert _v1(
        backend, {"sql": sql, "max_timestamp": "2020-01-01T00:00:00+00:00"}, accept="text/csv"
    ).text == ("is_exception,count(*)\n")
    limited = _v1(backend, {"sql": sql, "limit": "1"}, accept="text/csv").text.splitlines()
    assert len(limited) == 2 and limited[1].startswith("false,")


# ---- errors ----


def test_failing_query_is_400_with_the_engine_message(backend: Backend) -> None:
    response = _v2(backend, {"sql": "SELECT no_such_column FROM records", "min_timestamp": _since(backend)})
    assert response.status_code == 400
    detail = response.json()["detail"]
    assert "no_such_column" in detail and "Traceback" not in detail
    syntax = _v2(backend, {"sql": "SELEC 1", "min_timestamp": _since(backend)})
    assert syntax.status_code == 400 and "syntax error" in syntax.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"min_timestamp": "2024-01-01T00:00:00Z"}, "sql"),
        ({"sql": "   ", "min_timestamp": "2024-01-01T00:00:00Z"}, "sql"),
        ({"sql": "SELECT 1"}, "min_timestamp"),
        ({"sql": "SELECT 1", "min_timestamp": "yesterday-ish"}, "min_timestamp"),
        ({"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "max_timestamp": 5}, "max_timestamp"),
        ({"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "limit": 0}, "limit"),
        ({"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "limit": 10_001}, "limit"),
        ({"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "limit": "ten"}, "limit"),
        (
            {"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "timezone": "Mars/Olympus"},
            "timezone",
        ),
        (
            {"sql": "SELECT 1", "min_timestamp": "2024-01-01T00:00:00Z", "deployment_environment": [1]},
            "deployment_environment",
        ),
    ],
)
def test_malformed_request_is_422_naming_the_field(
    backend: Backend, body: dict[str, Any], field: str
) -> None:
    response = _v2(backend, body)
    assert response.status_code == 422
    assert f"`{field}`" in response.json()["detail"]


def test_unknown_accept_is_422(backend: Backend) -> None:
    response = _v2(backend, {"sql": "SELECT 1", "min_timestamp": _since(backend)}, accept="image/png")
    assert response.status_code == 422
    assert "Accept" in response.json()["detail"]


def test_body_that_is_not_json_is_422(backend: Backend) -> None:
    with backend.client() as client:
        response = client.post("/v2/query", content=b"sql=SELECT 1")
    assert response.status_code == 422
    assert "JSON" in response.json()["detail"]


def test_v1_limit_out_of_range_is_422(backend: Backend) -> None:
    response = _v1(backend, {"sql": "SELECT 1", "limit": "20000"})
    assert response.status_code == 422 and "`limit`" in response.json()["detail"]


# ---- schemas and token info ----


def test_schemas_is_logfires_payload(backend: Backend) -> None:
    from pathlib import Path

    recorded = json.loads(
        (Path(__file__).parents[1] / "fixtures" / "logfire-api" / "v1" / "schemas_response.json").read_text()
    )
    with backend.client() as client:
        assert client.get("/v1/schemas").json() == recorded


def test_read_token_info_has_the_recorded_keys(backend: Backend) -> None:
    with backend.client() as client:
        info = client.get("/v1/read-token-info").json()
    assert set(info) >= {"token_id", "organization_id", "project_id", "organization_name", "project_name"}
    assert info["project_name"] == "local"


def test_timestamps_in_json_are_utc_microseconds(backend: Backend) -> None:
    sql = "SELECT start_timestamp FROM records ORDER BY start_timestamp LIMIT 1"
    [row] = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "timezone": "Asia/Tokyo"}).json()[
        "data"
    ]
    first = min(r["start_timestamp"] for r in _ds(backend).visible_records)
    assert (
        datetime.strptime(row["start_timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        == first
    )


# ---- latest-N queries (the engine reads only the top rows' ids first) ----


@pytest.mark.parametrize("limit", [60, 300, 10_000])
def test_latest_rows_with_a_filter_are_the_true_latest(backend: Backend, limit: int) -> None:
    sql = "SELECT r.span_id, r.start_timestamp FROM records r WHERE r.level >= 'warn' ORDER BY start_timestamp DESC"
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": limit}).json()["data"]
    expected = sorted(
        (r for r in _ds(backend).visible_records if r["level"] >= 13),
        key=lambda r: r["start_timestamp"],
        reverse=True,
    )[:limit]
    assert [row["span_id"] for row in rows] == [r["span_id"] for r in expected]


def test_ordered_query_with_a_subquery_on_records_sees_the_whole_window(backend: Backend) -> None:
    sql = (
        "SELECT span_id, trace_id FROM records WHERE trace_id IN "
        "(SELECT trace_id FROM records WHERE is_exception) ORDER BY start_timestamp, span_id LIMIT 5000"
    )
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 1000}).json()["data"]
    ds = _ds(backend)
    failing = {r["trace_id"] for r in ds.visible_records if r["is_exception"]}
    expected = sorted(
        (r for r in ds.visible_records if r["trace_id"] in failing),
        key=lambda r: (r["start_timestamp"], r["span_id"]),
    )[:1000]
    assert [row["span_id"] for row in rows] == [r["span_id"] for r in expected]


def test_ordered_metrics_by_value_with_positional_order(backend: Backend) -> None:
    sql = "SELECT metric_name, scalar_value FROM metrics WHERE scalar_value IS NOT NULL ORDER BY 2 DESC, 1"
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 200}).json()["data"]
    expected = sorted(
        (
            (m["metric_name"], m["scalar_value"])
            for m in _ds(backend).metrics
            if m["scalar_value"] is not None
        ),
        key=lambda mv: (-mv[1], mv[0]),
    )[:200]
    assert [(row["metric_name"], row["scalar_value"]) for row in rows] == expected


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) AS n FROM records;",
        "SELECT count(*) AS n FROM records; -- how many",
        "SELECT count(*) AS n FROM records -- how many",
        "/* how many */ SELECT count(*) AS n FROM records ;;",
    ],
)
def test_trailing_semicolons_and_comments_are_fine(backend: Backend, sql: str) -> None:
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend)}).json()["data"]
    assert rows == [{"n": len(_ds(backend).visible_records)}]


def test_latest_rows_with_table_qualified_columns(backend: Backend) -> None:
    sql = (
        "SELECT records.span_id FROM records WHERE records.level >= 'warn' "
        "ORDER BY records.start_timestamp DESC, records.span_id"
    )
    rows = _v2(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 120}).json()["data"]
    expected = sorted(
        (r for r in _ds(backend).visible_records if r["level"] >= 13),
        key=lambda r: (-r["start_timestamp"].timestamp(), r["span_id"]),
    )[:120]
    assert [row["span_id"] for row in rows] == [r["span_id"] for r in expected]
