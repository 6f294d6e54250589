"""Hostile and broken OTLP input: each bad request is a 400 (or 413) that names what is wrong, the connection
and the server stay usable, neighbours sent at the same time are stored, and oversized values are cut."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from _backend import Backend, start_backend
from _ingest_helpers import count, rows
from _memory import MiB, PeakMemory, resident_bytes
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

PROTOBUF = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("ingest-hostile") / "data")
    yield server
    server.stop()


def histogram(name: str, count_: int, buckets: list[int]) -> bytes:
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = name
    point = metric.histogram.data_points.add()
    point.time_unix_nano = time.time_ns()
    point.count = count_
    point.bucket_counts.extend(buckets)
    point.explicit_bounds.extend([1.0] * (len(buckets) - 1))
    return request.SerializeToString()


def json_span(service: str, **span: Any) -> dict[str, Any]:
    now = time.time_ns()
    fields = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "00f067aa0ba902b7",
        "name": "hostile",
        "startTimeUnixNano": str(now - 1000),
        "endTimeUnixNano": str(now),
        **span,
    }
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]}
    return {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [fields]}]}]}


def test_a_histogram_count_past_32_bits_is_stored_and_its_neighbours_too(backend: Backend) -> None:
    big = histogram("big.count", 3_000_000_000, [1_000_000_000, 2_000_000_000])
    small = [histogram(f"small.{i}", 1, [1, 0]) for i in range(150)]

    def send(body: bytes) -> int:
        return httpx.post(
            f"{backend.base_url}/v1/metrics", content=body, headers=PROTOBUF, timeout=60
        ).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(send, [big, *small]))
    assert statuses == [200] * 151
    found = rows(
        backend,
        "SELECT histogram_count, histogram_bucket_counts FROM metrics WHERE metric_name = 'big.count'",
    )
    assert found == [
        {"histogram_count": 3_000_000_000, "histogram_bucket_counts": [1_000_000_000, 2_000_000_000]}
    ]
    assert count(backend, "metrics", "metric_name LIKE 'small.%'") == 150


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (
            json_span("pid", attributes=[]) | {},
            None,
        ),
        (
            {
                "resourceSpans": [
                    {
                        "resource": {
                            "attributes": [{"key": "process.pid", "value": {"intValue": "9999999999"}}]
                        },
                        "scopeSpans": [
                            {"spans": [json_span("x")["resourceSpans"][0]["scopeSpans"][0]["spans"][0]]}
                        ],
                    }
                ]
            },
            "process_pid",
        ),
        (
            json_span(
                "status", attributes=[{"key": "http.status_code", "value": {"intValue": "9999999999"}}]
            ),
            "http_response_status_code",
        ),
        (json_span("kind", kind={}), "kind"),
        (json_span("trace", traceId="00"), "trace id"),
        (json_span("zero", traceId="0" * 32), "trace id"),
        (json_span("span", spanId="abcd"), "span id"),
        (json_span("negative", startTimeUnixNano="2000", endTimeUnixNano="1000"), "ends before it starts"),
    ],
)
def test_bad_otlp_input_is_a_400_that_names_the_field_and_the_connection_stays_usable(
    backend: Backend, body: dict[str, Any], words: str | None
) -> None:
    with httpx.Client(base_url=backend.base_url, timeout=60) as client:
        response = client.post("/v1/traces", content=json.dumps(body).encode(), headers=JSON)
        if words is None:  # the control: a good request is stored
            assert response.status_code == 200
            return
        assert response.status_code == 400, response.text
        assert words in response.json()["message"]
        again = client.post("/v1/traces", content=json.dumps(json_span("after-a-400")).encode(), headers=JSON)
        assert again.status_code == 200


def test_deeply_nested_bodies_and_values_are_400(backend: Backend) -> None:
    value: dict[str, Any] = {"stringValue": "x"}
    for _ in range(80):
        value = {"kvlistValue": {"values": [{"key": "k", "value": value}]}}
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "deep"
    nested = span.attributes.add()
    nested.key = "deep"
    inner = nested.value
    for _ in range(80):
        entry = inner.kvlist_value.values.add()
        entry.key = "k"
        inner = entry.value
    inner.string_value = "x"
    with httpx.Client(base_url=backend.base_url, timeout=60) as client:
        as_json = client.post("/v1/traces", content=b"[" * 100_000 + b"]" * 100_000, headers=JSON)
        assert as_json.status_code == 400
        as_proto = client.post("/v1/traces", content=request.SerializeToString(), headers=PROTOBUF)
        assert as_proto.status_code == 400
        attribute = json_span("deep-json", attributes=[{"key": "deep", "value": value}])
        as_json_value = client.post("/v1/traces", content=json.dumps(attribute).encode(), headers=JSON)
        assert as_json_value.status_code == 400
        assert "Traceback" not in as_json_value.json()["message"]
        assert (
            client.post(
                "/v1/traces", content=json.dumps(json_span("after-deep")).encode(), headers=JSON
            ).status_code
            == 200
        )


def test_non_finite_numbers_are_kept_as_valid_json(backend: Backend) -> None:
    attrs = [
        {"key": "nan", "value": {"doubleValue": "NaN"}},
        {"key": "inf", "value": {"doubleValue": "Infinity"}},
        {"key": "fine", "value": {"doubleValue": 1.5}},
    ]
    body = json_span("non-finite", attributes=attrs, spanId="00f067aa0ba90200")
    assert (
        httpx.post(
            f"{backend.base_url}/v1/traces", content=json.dumps(body).encode(), headers=JSON
        ).status_code
        == 200
    )
    found = rows(
        backend,
        "SELECT attributes, json_valid(attributes) AS ok FROM records WHERE service_name = 'non-finite'",
    )
    assert found[0]["ok"] is True
    assert json.loads(found[0]["attributes"]) == {"nan": "NaN", "inf": "Infinity", "fine": 1.5}


def test_an_oversized_attribute_is_cut_with_a_marker_and_the_widget_query_still_runs(
    backend: Backend,
) -> None:
    huge = "y" * (50 * MiB)
    body = json_span(
        "oversized", spanId="00f067aa0ba90300", attributes=[{"key": "big", "value": {"stringValue": huge}}]
    )
    packed = gzip.compress(json.dumps(body).encode())
    assert len(packed) < MiB
    before = resident_bytes(backend.process.pid)
    with PeakMemory(backend.process.pid) as memory:
        response = httpx.post(
            f"{backend.base_url}/v1/traces",
            content=packed,
            headers={**JSON, "Content-Encoding": "gzip"},
            timeout=60,
        )
    assert response.status_code == 200, response.text
    assert memory.peak - before < 800 * MiB
    stored = rows(backend, "SELECT attributes->>'big' AS big FROM records WHERE service_name = 'oversized'")[
        0
    ]["big"]
    assert len(stored) == 64 * 1024
    assert stored.endswith("…[truncated by logfire-notebook]")
    widget = httpx.post(
        f"{backend.base_url}/v2/query",
        json={
            "sql": "SELECT * FROM records ORDER BY start_timestamp DESC",
            "min_timestamp": "2000-01-01T00:00:00Z",
            "limit": 1000,
        },
        headers={"Authorization": backend.token},
        timeout=60,
    )
    assert widget.status_code == 200


def test_a_row_with_too_many_large_attributes_is_refused_with_413(backend: Backend) -> None:
    attrs = [{"key": f"k{i}", "value": {"stringValue": "z" * 60_000}} for i in range(40)]
    body = json_span("too-many", spanId="00f067aa0ba90400", attributes=attrs)
    response = httpx.post(
        f"{backend.base_url}/v1/traces", content=json.dumps(body).encode(), headers=JSON, timeout=60
    )
    assert response.status_code == 413
    assert "attributes" in response.json()["message"]
    assert count(backend, "records", "service_name = 'too-many'") == 0


def test_a_log_past_2262_is_stored_once_and_answered_200(backend: Backend) -> None:
    # Its Loki copy needs int64 nanoseconds: the copy failed after the rows were committed, the sender got a
    # 500 and would retry, storing the log twice.
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    request = ExportLogsServiceRequest()
    records = request.resource_logs.add().scope_logs.add()
    far, near = records.log_records.add(), records.log_records.add()
    far.time_unix_nano, far.body.string_value = 2**64 - 1, "far-future-log"
    near.time_unix_nano, near.body.string_value = time.time_ns(), "present-log"
    response = httpx.post(
        f"{backend.base_url}/v1/logs", content=request.SerializeToString(), headers=PROTOBUF
    )
    assert response.status_code == 200, response.text
    assert count(backend, where="message IN ('far-future-log', 'present-log')") == 2
    assert backend.log_path is not None
    assert "Traceback" not in backend.log_path.read_text(errors="replace")
    lines = httpx.get(
        f"{backend.base_url}/loki/api/v1/query_range",
        params={"query": '{service_name=~".+"} |= "present-log"'},
    ).json()["data"]["result"]
    assert [v[1] for s in lines for v in s["values"]] == ["present-log"]
