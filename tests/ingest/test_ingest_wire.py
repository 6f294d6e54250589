"""OTLP/HTTP on the wire: JSON and protobuf bodies, gzip, and malformed requests that store nothing."""

from __future__ import annotations

import gzip
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from _backend import Backend, start_backend
from _ingest_helpers import count, rows
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

TRACE_ID = "5b8efff798038103d269b633813fc60c"


@pytest.fixture(scope="module")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    server = start_backend(tmp_path_factory.mktemp("ingest-wire") / "data")
    yield server
    server.stop()


def otlp_json_spans(
    span_ids: list[str], *, service: str = "json-svc", trace_id: str = TRACE_ID
) -> dict[str, Any]:
    """An OTLP/JSON trace request the way the spec writes it: camelCase, hex ids, enum ints, int64 strings."""
    now = time.time_ns()
    return {
        "resourceSpans": [
            {
                "resource": {
                    "attributes": [
                        {"key": "service.name", "value": {"stringValue": service}},
                        {"key": "deployment.environment", "value": {"stringValue": "legacy-env"}},
                        {"key": "process.pid", "value": {"intValue": "4242"}},
                    ]
                },
                "scopeSpans": [
                    {
                        "scope": {
                            "name": "json-scope",
                            "version": "1.0",
                            "attributes": [{"key": "scope.attr", "value": {"boolValue": True}}],
                        },
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": "",
                                "name": f"json span {i}",
                                "kind": 2,
                                "startTimeUnixNano": str(now - 2_000_000),
                                "endTimeUnixNano": str(now),
                                "attributes": [
                                    {"key": "logfire.msg", "value": {"stringValue": f"hello {i}"}},
                                    {"key": "logfire.level_num", "value": {"intValue": 13}},
                                    {
                                        "key": "logfire.tags",
                                        "value": {"arrayValue": {"values": [{"stringValue": "j"}]}},
                                    },
                                    {"key": "n", "value": {"doubleValue": 1.5}},
                                    {
                                        "key": "nested",
                                        "value": {
                                            "kvlistValue": {
                                                "values": [{"key": "a", "value": {"intValue": "1"}}]
                                            }
                                        },
                                    },
                                ],
                                "status": {"code": 1},
                            }
                            for i, span_id in enumerate(span_ids)
                        ],
                    }
                ],
            }
        ]
    }


def post(backend: Backend, signal: str, body: bytes, content_type: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{backend.base_url}/v1/{signal}",
        content=body,
        headers={"Content-Type": content_type, **headers},
        timeout=30,
    )


def test_otlp_json_request_lands_with_hex_ids(backend: Backend) -> None:
    body = json.dumps(otlp_json_spans(["00f067aa0ba902b7", "00f067aa0ba902b8"])).encode()
    response = post(backend, "traces", body, "application/json")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {}
    found = rows(backend, f"SELECT * FROM records WHERE trace_id = '{TRACE_ID}' ORDER BY span_id")
    assert [r["span_id"] for r in found] == ["00f067aa0ba902b7", "00f067aa0ba902b8"]
    first = found[0]
    assert (first["span_name"], first["message"], first["level"], first["tags"]) == (
        "json span 0",
        "hello 0",
        13,
        ["j"],
    )
    assert (first["otel_status_code"], first["parent_span_id"]) == ("OK", None)
    assert json.loads(first["attributes"]) == {"n": 1.5, "nested": {"a": 1}}
    assert (first["service_name"], first["deployment_environment"], first["process_pid"]) == (
        "json-svc",
        "legacy-env",
        4242,
    )
    assert json.loads(first["otel_scope_attributes"]) == {"scope.attr": True}
    assert first["duration"] == pytest.approx(0.002, abs=1e-6)


def test_gzip_protobuf_and_gzip_json_bodies_land(backend: Backend) -> None:
    request = ExportTraceServiceRequest()
    from google.protobuf import json_format

    as_json = otlp_json_spans(["1111111111111111"], service="gzip-proto", trace_id="a" * 32)
    # Protobuf's own JSON mapping wants base64 ids; build the message from the hex form by hand.
    span_json = as_json["resourceSpans"][0]["scopeSpans"][0]["spans"][0]
    span_json["traceId"] = "qqqqqqqqqqqqqqqqqqqqqg=="
    span_json["spanId"] = "ERERERERERE="
    json_format.ParseDict(as_json, request)
    response = post(
        backend,
        "traces",
        gzip.compress(request.SerializeToString()),
        "application/x-protobuf",
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-protobuf"

    body = gzip.compress(
        json.dumps(otlp_json_spans(["2222222222222222"], service="gzip-json", trace_id="b" * 32)).encode()
    )
    response = post(backend, "traces", body, "application/json", **{"Content-Encoding": "gzip"})
    assert response.status_code == 200

    found = rows(
        backend,
        "SELECT service_name, trace_id, span_id FROM records WHERE service_name LIKE 'gzip-%' ORDER BY 1",
    )
    assert found == [
        {"service_name": "gzip-json", "trace_id": "b" * 32, "span_id": "2222222222222222"},
        {"service_name": "gzip-proto", "trace_id": "a" * 32, "span_id": "1111111111111111"},
    ]


def test_otlp_json_logs_and_metrics_land(backend: Backend) -> None:
    now = str(time.time_ns())
    logs = {
        "resourceLogs": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-logs"}}]},
                "scopeLogs": [
                    {
                        "scope": {"name": "json-logger"},
                        "logRecords": [
                            {
                                "timeUnixNano": now,
                                "severityNumber": 17,
                                "severityText": "ERROR",
                                "body": {"stringValue": "disk full"},
                                "traceId": "c" * 32,
                                "spanId": "dddddddddddddddd",
                                "attributes": [{"key": "disk", "value": {"stringValue": "/var"}}],
                            }
                        ],
                    }
                ],
            }
        ]
    }
    assert post(backend, "logs", json.dumps(logs).encode(), "application/json").status_code == 200
    log = rows(backend, "SELECT * FROM records WHERE service_name = 'json-logs'")
    assert len(log) == 1
    assert (log[0]["kind"], log[0]["level"], log[0]["log_body"], log[0]["message"]) == (
        "log",
        17,
        "disk full",
        "disk full",
    )
    assert (log[0]["trace_id"], log[0]["parent_span_id"]) == ("c" * 32, "dddddddddddddddd")

    metrics = {
        "resourceMetrics": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "json-metrics"}}]
                },
                "scopeMetrics": [
                    {
                        "scope": {"name": "json-meter"},
                        "metrics": [
                            {
                                "name": "jobs",
                                "unit": "1",
                                "sum": {
                                    "aggregationTemporality": 1,
                                    "isMonotonic": True,
                                    "dataPoints": [
                                        {"startTimeUnixNano": now, "timeUnixNano": now, "asInt": "7"}
                                    ],
                                },
                            },
                            {
                                "name": "sizes",
                                "unit": "By",
                                "histogram": {
                                    "aggregationTemporality": 2,
                                    "dataPoints": [
                                        {
                                            "timeUnixNano": now,
                                            "count": "3",
                                            "sum": 12.0,
                                            "bucketCounts": ["1", "2", "0"],
                                            "explicitBounds": [1.0, 10.0],
                                            "exemplars": [
                                                {
                                                    "timeUnixNano": now,
                                                    "asDouble": 5.0,
                                                    "traceId": "e" * 32,
                                                    "spanId": "f" * 16,
                                                }
                                            ],
                                        }
                                    ],
                                },
                            },
                        ],
                    }
                ],
            }
        ]
    }
    assert post(backend, "metrics", json.dumps(metrics).encode(), "application/json").status_code == 200
    by_name = {
        r["metric_name"]: r
        for r in rows(backend, "SELECT * FROM metrics WHERE service_name = 'json-metrics'")
    }
    assert (by_name["jobs"]["scalar_value"], by_name["jobs"]["aggregation_temporality"]) == (7.0, "delta")
    sizes = by_name["sizes"]
    assert (sizes["metric_type"], sizes["histogram_bucket_counts"], sizes["aggregation_temporality"]) == (
        "histogram",
        [1, 2, 0],
        "cumulative",
    )
    exemplar = json.loads(sizes["exemplars"])[0]
    assert (exemplar["value"], exemplar["trace_id"], exemplar["span_id"]) == (5.0, "e" * 32, "f" * 16)


BAD_BODIES = [
    pytest.param(
        b"\xff\xff\xff\xff not protobuf", "application/x-protobuf", {}, "protobuf", id="garbage-protobuf"
    ),
    pytest.param(b"{not json", "application/json", {}, "JSON", id="invalid-json"),
    pytest.param(b"[1, 2]", "application/json", {}, "object", id="json-array"),
    pytest.param(
        json.dumps(otlp_json_spans(["not-hex-at-all!!"])).encode(),
        "application/json",
        {},
        "hex",
        id="bad-hex-id",
    ),
    pytest.param(
        json.dumps(
            {"resourceSpans": [{"scopeSpans": [{"spans": [{"name": 5, "startTimeUnixNano": "soon"}]}]}]}
        ).encode(),
        "application/json",
        {},
        "OTLP",
        id="wrong-field-types",
    ),
    pytest.param(
        b"\x00\x01not gzip", "application/x-protobuf", {"Content-Encoding": "gzip"}, "gzip", id="bad-gzip"
    ),
    pytest.param(b"hello", "text/plain", {}, "Content-Type", id="unsupported-type"),
    pytest.param(
        b"hello",
        "application/x-protobuf",
        {"Content-Encoding": "br"},
        "Content-Encoding",
        id="unsupported-encoding",
    ),
]


@pytest.mark.parametrize(("body", "content_type", "headers", "mentions"), BAD_BODIES)
def test_malformed_body_gets_400_with_one_sentence_and_stores_nothing(
    backend: Backend, body: bytes, content_type: str, headers: dict[str, str], mentions: str
) -> None:
    before = (count(backend), count(backend, "metrics"))
    response = post(backend, "traces", body, content_type, **headers)
    assert response.status_code == 400
    if content_type == "application/json":
        message = response.json()["message"]
    else:
        # A google.rpc.Status in protobuf: field 2 holds the message text.
        message = response.content.split(b"\x12", 1)[1][1:].decode(errors="replace")
    assert mentions in message
    assert message.count(". ") == 0 and "Traceback" not in message
    assert (count(backend), count(backend, "metrics")) == before


def test_one_bad_span_rejects_the_whole_request(backend: Backend) -> None:
    request = otlp_json_spans(["3333333333333333", "4444444444444444"], service="half-bad")
    request["resourceSpans"][0]["scopeSpans"][0]["spans"][1]["spanId"] = "zz"
    response = post(backend, "traces", json.dumps(request).encode(), "application/json")
    assert response.status_code == 400
    assert count(backend, where="service_name = 'half-bad'") == 0


def test_empty_request_is_accepted(backend: Backend) -> None:
    assert post(backend, "traces", b"", "application/x-protobuf").status_code == 200
    assert post(backend, "metrics", b"{}", "application/json").status_code == 200


def test_pending_spans_are_stored_but_kept_out_of_records(backend: Backend) -> None:
    request = otlp_json_spans(["5555555555555555", "6666666666666666"], service="pending-svc")
    spans = request["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["attributes"].append({"key": "logfire.span_type", "value": {"stringValue": "pending_span"}})
    assert post(backend, "traces", json.dumps(request).encode(), "application/json").status_code == 200
    found = rows(backend, "SELECT span_id, kind FROM records WHERE service_name = 'pending-svc'")
    assert found == [{"span_id": "6666666666666666", "kind": "span"}]


def test_queries_keep_answering_while_ingest_runs(backend: Backend) -> None:
    body = json.dumps(
        otlp_json_spans([f"{i:016x}" for i in range(1, 201)], service="busy", trace_id="9" * 32)
    )
    done = threading.Event()
    statuses: list[int] = []

    def ingest() -> None:
        with httpx.Client(timeout=30) as client:
            for _ in range(25):
                statuses.append(
                    client.post(
                        f"{backend.base_url}/v1/traces",
                        content=body,
                        headers={"Content-Type": "application/json"},
                    ).status_code
                )
        done.set()

    thread = threading.Thread(target=ingest)
    thread.start()
    seen: list[int] = []
    try:
        while not done.is_set():
            seen.append(count(backend, where="service_name = 'busy'"))
    finally:
        thread.join()
    assert statuses == [200] * 25
    assert seen == sorted(seen)  # every query answered, and never saw a half-stored request
    assert all(n % 200 == 0 for n in seen)
    assert count(backend, where="service_name = 'busy'") == 25 * 200
