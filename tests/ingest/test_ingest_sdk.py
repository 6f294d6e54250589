"""The official `logfire` SDK sends to the local backend over OTLP; every mapped column reads back over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from _backend import Backend, start_backend
from _ingest_helpers import count, rows, run_sdk_program


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Backend, dict[str, str]]]:
    """A fresh backend that the SDK program has sent to; its flush has returned, nothing else waited for."""
    data_dir = tmp_path_factory.mktemp("ingest-sdk") / "data"
    backend = start_backend(data_dir)
    try:
        ids = run_sdk_program(backend.base_url, data_dir.parent)
        yield backend, ids
    finally:
        backend.stop()


def one(backend: Backend, where: str) -> dict[str, Any]:
    found = rows(backend, f"SELECT * FROM records WHERE {where}")
    assert len(found) == 1, found
    return found[0]


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_sdk_span_lands_with_logfire_columns(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    root = one(backend, f"span_id = '{ids['root']}'")
    assert root["trace_id"] == ids["root_trace"]
    assert root["parent_span_id"] is None
    assert root["kind"] == "span"
    assert root["span_name"] == "checkout {cart_id}"
    assert root["message"] == "checkout 42"
    assert root["level"] == 9
    assert root["tags"] == ["shop", "t1"]
    attributes = json.loads(root["attributes"])
    # The SDK JSON-encodes the dict argument; the backend shows it as the object it was.
    assert attributes["items"] == {"sku": "A1", "qty": [1, 2]}
    assert attributes["cart_id"] == 42
    assert not any(k in attributes for k in ("logfire.msg", "logfire.msg_template", "logfire.tags"))
    assert json.loads(root["attributes_json_schema"])["properties"]["items"]["type"] == "object"
    span = (ts(root["end_timestamp"]) - ts(root["start_timestamp"])).total_seconds()
    assert root["duration"] == pytest.approx(span, abs=1e-6)  # the timestamps are in microseconds
    assert root["duration"] > 0
    assert root["otel_status_code"] == "UNSET"
    assert root["otel_scope_name"] == "logfire"
    assert root["otel_scope_version"]
    assert root["is_exception"] is False


def test_sdk_resource_becomes_service_columns(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    root = one(backend, f"span_id = '{ids['root']}'")
    resource = json.loads(root["otel_resource_attributes"])
    assert root["service_name"] == "ingest-test" == resource["service.name"]
    assert root["service_version"] == "3.2.1"
    assert root["deployment_environment"] == "qa" == resource["deployment.environment.name"]
    assert root["service_instance_id"] == resource["service.instance.id"]
    assert root["process_pid"] == resource["process.pid"] > 0
    assert (root["telemetry_sdk_name"], root["telemetry_sdk_language"]) == ("opentelemetry", "python")
    assert root["telemetry_sdk_version"] == resource["telemetry.sdk.version"]
    assert root["service_namespace"] is None
    assert count(backend, where="service_name <> 'ingest-test'") == 0


def test_sdk_logs_at_every_level_read_back_with_their_level(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    found = rows(
        backend,
        "SELECT level, message, kind, duration, parent_span_id, span_name FROM records "
        "WHERE span_name = 'level {name} reached' ORDER BY level",
    )
    assert [(r["level"], r["message"]) for r in found] == [
        (1, "level trace reached"),
        (5, "level debug reached"),
        (9, "level info reached"),
        (10, "level notice reached"),
        (13, "level warn reached"),
        (17, "level error reached"),
        (21, "level fatal reached"),
    ]
    assert {r["kind"] for r in found} == {"log"}
    assert {r["duration"] for r in found} == {None}
    assert {r["parent_span_id"] for r in found} == {ids["root"]}
    names = rows(
        backend,
        "SELECT level_name(level) AS name FROM records WHERE span_name = 'level {name} reached' ORDER BY level",
    )
    assert [r["name"] for r in names] == ["trace", "debug", "info", "notice", "warn", "error", "fatal"]


def test_sdk_exceptions_fill_exception_columns(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    logged = one(backend, "span_name = 'lookup failed for {key}'")
    assert logged["is_exception"] is True
    assert logged["exception_type"] == "KeyError"
    assert logged["exception_message"] == "'missing-key'"
    assert "Traceback (most recent call last)" in logged["exception_stacktrace"]
    assert logged["level"] == 17
    assert logged["otel_status_code"] == "ERROR"

    failing = one(backend, f"span_id = '{ids['failing']}'")
    assert (failing["is_exception"], failing["exception_type"], failing["exception_message"]) == (
        True,
        "ValueError",
        "bad value 7",
    )
    assert 'raise ValueError("bad value 7")' in failing["exception_stacktrace"]
    assert failing["level"] == 17
    assert failing["otel_status_message"] == "ValueError: bad value 7"
    events = json.loads(failing["otel_events"])
    assert [e["name"] for e in events] == ["exception"]
    assert events[0]["attributes"]["exception.type"] == "ValueError"
    assert count(backend, where="is_exception") == 2


def test_http_semantic_conventions_fill_http_and_url_columns(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    new = one(backend, f"span_id = '{ids['new_http']}'")
    assert (new["http_method"], new["http_route"], new["http_response_status_code"]) == (
        "GET",
        "/users/{id}",
        404,
    )
    assert (new["url_full"], new["url_path"], new["url_query"]) == (
        "https://shop.test/users/5?verbose=1",
        "/users/5",
        "verbose=1",
    )
    old = one(backend, f"span_id = '{ids['old_http']}'")
    assert (old["http_method"], old["http_response_status_code"], old["http_route"]) == ("POST", 201, None)
    assert (old["url_full"], old["url_path"], old["url_query"]) == (
        "http://legacy.test/orders?x=1",
        "/orders",
        "x=1",
    )
    plain = one(backend, f"span_id = '{ids['root']}'")
    assert plain["http_method"] is None and plain["url_full"] is None


def test_plain_otel_spans_get_name_status_events_and_links(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    child = one(backend, f"span_id = '{ids['plain_child']}'")
    assert child["parent_span_id"] == ids["plain_parent"]
    assert (child["span_name"], child["message"], child["kind"]) == ("plain child", "plain child", "span")
    assert (child["otel_scope_name"], child["otel_scope_version"]) == ("plain-otel", "9.9")
    # Error status without logfire.level_num: Logfire's rule makes it an error.
    assert (child["otel_status_code"], child["otel_status_message"], child["level"]) == (
        "ERROR",
        "upstream failed",
        17,
    )
    assert json.loads(child["attributes"]) == {"k": "v"}
    assert child["tags"] == []
    events = json.loads(child["otel_events"])
    assert [(e["name"], e["attributes"]) for e in events] == [("cache miss", {"key": "user:5"})]
    assert child["is_exception"] is False
    links = json.loads(child["otel_links"])
    assert links == [
        {"trace_id": child["trace_id"], "span_id": ids["plain_parent"], "attributes": {"why": "retry"}}
    ]
    parent = one(backend, f"span_id = '{ids['plain_parent']}'")
    assert (parent["level"], parent["otel_status_code"], json.loads(parent["otel_links"])) == (9, "UNSET", [])


def test_stdlib_logging_and_otel_log_records_land_as_logs(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, _ = sent
    stdlib = one(backend, "span_name = 'disk %s is %d%% full'")
    assert (stdlib["kind"], stdlib["level"], stdlib["message"]) == ("log", 13, "disk /data is 91% full")
    assert json.loads(stdlib["attributes"])["logfire.logging_args"] == ["/data", 91]

    otel_log = one(backend, "otel_scope_name = 'plain-otel-logs'")
    assert otel_log["kind"] == "log"
    assert otel_log["level"] == 13
    assert otel_log["log_body"] == otel_log["message"] == "payment provider answered slowly"
    assert json.loads(otel_log["attributes"]) == {"provider": "acme", "ms": 812}
    assert otel_log["service_name"] == "ingest-test"
    assert len(otel_log["trace_id"]) == 32 and len(otel_log["span_id"]) == 16
    assert otel_log["start_timestamp"] == otel_log["end_timestamp"]


def test_sdk_metrics_land_in_metrics_table(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, _ = sent
    by_name = {
        r["metric_name"]: r for r in rows(backend, "SELECT * FROM metrics ORDER BY recorded_timestamp DESC")
    }
    counter = by_name["orders.placed"]
    assert (counter["metric_type"], counter["unit"], counter["scalar_value"]) == ("sum", "1", 3.0)
    assert (counter["is_monotonic"], counter["aggregation_temporality"]) == (True, "cumulative")
    assert counter["metric_description"] == "orders"
    assert json.loads(counter["attributes"]) == {"plan": "pro"}
    assert counter["service_name"] == "ingest-test" and counter["deployment_environment"] == "qa"
    assert counter["start_timestamp"] <= counter["recorded_timestamp"]

    updown = by_name["queue.size"]
    assert (updown["metric_type"], updown["is_monotonic"], updown["scalar_value"], updown["unit"]) == (
        "sum",
        False,
        3.0,
        "{job}",
    )
    gauge = by_name["temperature"]
    assert (gauge["metric_type"], gauge["scalar_value"], gauge["unit"]) == ("gauge", 21.5, "Cel")

    explicit = by_name["explicit.size"]
    assert explicit["metric_type"] == "histogram"
    assert explicit["histogram_explicit_bounds"] == [10.0, 100.0, 1000.0]
    assert explicit["histogram_bucket_counts"] == [1, 1, 1, 1]
    assert (explicit["histogram_count"], explicit["histogram_sum"]) == (4, 5555.0)
    assert (explicit["histogram_min"], explicit["histogram_max"]) == (5.0, 5000.0)

    exp = by_name["latency.exp"]
    assert exp["metric_type"] == "exponential_histogram"
    assert (exp["histogram_count"], exp["histogram_sum"]) == (4, 5555.0)
    assert isinstance(exp["exp_histogram_scale"], int)
    assert sum(exp["exp_histogram_positive_bucket_counts"]) == 4
    assert isinstance(exp["exp_histogram_positive_bucket_counts_offset"], int)
    assert exp["exp_histogram_zero_count"] == 0
    assert exp["scalar_value"] is None


def test_records_are_in_the_recent_time_window(sent: tuple[Backend, dict[str, str]]) -> None:
    backend, ids = sent
    root = one(backend, f"span_id = '{ids['root']}'")
    age = datetime.now(ts(root["start_timestamp"]).tzinfo) - ts(root["start_timestamp"])
    assert timedelta(0) <= age < timedelta(minutes=10)
    day = rows(backend, f"SELECT CAST(day AS TEXT) AS d FROM records WHERE span_id = '{ids['root']}'")[0]["d"]
    assert day == ts(root["start_timestamp"]).date().isoformat()


def test_sdk_logs_seen_through_sql_are_found_through_logql(sent: tuple[Backend, dict[str, str]]) -> None:
    """`logfire.info(...)` reaches the backend as a span of type `log`: LogQL finds it as SQL does."""
    import polars as pl

    from logfire_notebook import LokiClient

    backend, ids = sent
    by_sql = rows(
        backend,
        "SELECT message, level_name(level) AS level FROM records "
        "WHERE kind = 'log' AND span_name = 'level {name} reached' ORDER BY start_timestamp",
    )
    with LokiClient(backend.base_url) as loki:
        by_logql = loki.query_range(
            '{service_name="ingest-test"} |= "reached"', since="1d", limit=100, direction="forward"
        )
    assert by_logql["line"].to_list() == [r["message"] for r in by_sql] and len(by_sql) == 7
    # Loki's level names: notice is info's band of OTLP severities.
    assert by_logql["level"].to_list() == ["trace", "debug", "info", "info", "warn", "error", "fatal"]
    spans = by_logql.select(pl.col("structured_metadata").map.get("span_id"))["structured_metadata"]
    assert set(spans.to_list()) == {ids["root"]}
