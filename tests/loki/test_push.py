"""Pushing to the Loki API: every body form Loki takes, tenants, bounds and the errors a client sees; a
real third-party Loki logging handler from PyPI as the sender; OTLP logs arriving as Loki entries."""

from __future__ import annotations

import gzip
import json
import logging
import time
import zlib
from typing import Any

import cramjam
import httpx
import pytest
from _loki import NS, push_json
from loki_logger_handler.loki_logger_handler import LokiLoggerHandler

from logfire_notebook.server.loki.push_proto import PushRequest

T = 1_700_000_000  # seconds


def _lines(loki: httpx.Client, query: str, **params: Any) -> list[tuple[dict[str, str], int, str]]:
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": query, "start": T - 3600, "end": T + 3600, "direction": "forward", **params},
    )
    assert response.status_code == 200, response.text
    return [
        (r["stream"], int(ts), line) for r in response.json()["data"]["result"] for ts, line in r["values"]
    ]


def _protobuf(labels: str, *entries: tuple[int, str, dict[str, str]]) -> bytes:
    request = PushRequest()
    stream = request.streams.add(labels=labels)
    for ns, line, metadata in entries:
        entry = stream.entries.add(line=line)
        entry.timestamp.FromNanoseconds(ns)
        for name, value in metadata.items():
            entry.structuredMetadata.add(name=name, value=value)
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))


def test_json_push_answers_204_and_the_lines_come_back(loki: httpx.Client) -> None:
    response = push_json(
        loki, [{"stream": {"app": "a"}, "values": [[str(T * NS + 5), "hello"], [str(T * NS), "first"]]}]
    )
    assert (response.status_code, response.content) == (204, b"")
    # Loki 3 adds a detected_level to every pushed entry: these lines name none.
    a = {"app": "a", "detected_level": "unknown"}
    assert _lines(loki, '{app="a"}') == [(a, T * NS, "first"), (a, T * NS + 5, "hello")]


def test_snappy_protobuf_push_without_content_type(loki: httpx.Client) -> None:
    body = _protobuf('{app="p", env="x"}', (T * NS + 123, "from protobuf", {"trace_id": "abc"}))
    response = loki.post("/loki/api/v1/push", content=body, headers={"Content-Type": ""})
    assert response.status_code == 204, response.text
    assert _lines(loki, '{app="p"}') == [
        (
            {"app": "p", "env": "x", "trace_id": "abc", "detected_level": "unknown"},
            T * NS + 123,
            "from protobuf",
        )
    ]


def test_snappy_protobuf_push_with_protobuf_type(loki: httpx.Client) -> None:
    body = _protobuf('{app="q"}', (T * NS, "typed", {}))
    response = loki.post(
        "/loki/api/v1/push", content=body, headers={"Content-Type": "application/x-protobuf"}
    )
    assert response.status_code == 204
    assert [line for _, _, line in _lines(loki, '{app="q"}')] == ["typed"]


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_compressed_json_push(loki: httpx.Client, encoding: str) -> None:
    raw = json.dumps(
        {"streams": [{"stream": {"app": encoding}, "values": [[str(T * NS), "squeezed"]]}]}
    ).encode()
    body = gzip.compress(raw) if encoding == "gzip" else zlib.compress(raw)
    response = loki.post(
        "/loki/api/v1/push",
        content=body,
        headers={"Content-Type": "application/json", "Content-Encoding": encoding},
    )
    assert response.status_code == 204, response.text
    assert [line for _, _, line in _lines(loki, f'{{app="{encoding}"}}')] == ["squeezed"]


def test_legacy_push(loki: httpx.Client) -> None:
    body = {
        "streams": [
            {
                "labels": '{app="old", env="e"}',
                "entries": [{"ts": "2023-11-14T22:13:20.000000001Z", "line": "old api"}],
            }
        ]
    }
    assert loki.post("/api/prom/push", json=body).status_code == 204
    assert _lines(loki, '{app="old"}') == [
        ({"app": "old", "env": "e", "detected_level": "unknown"}, T * NS + 1, "old api")
    ]


def test_tenants_see_only_their_own_streams(loki_backend: Any) -> None:
    base = loki_backend.base_url
    with (
        httpx.Client(base_url=base, headers={"X-Scope-OrgID": "tenant-a-only"}) as a,
        httpx.Client(base_url=base, headers={"X-Scope-OrgID": "tenant-b-only"}) as b,
    ):
        push_json(a, [{"stream": {"app": "secret"}, "values": [[str(T * NS), "for a"]]}])
        assert [line for _, _, line in _lines(a, '{app="secret"}')] == ["for a"]
        assert _lines(b, '{app="secret"}') == []
        window = {"start": T - 10, "end": T + 10}
        assert b.get("/loki/api/v1/labels", params=window).json() == {"status": "success"}
        assert a.get("/loki/api/v1/labels", params=window).json() == {"status": "success", "data": ["app"]}


def test_without_org_id_the_tenant_is_fake(loki_backend: Any) -> None:
    with (
        httpx.Client(base_url=loki_backend.base_url) as plain,
        httpx.Client(base_url=loki_backend.base_url, headers={"X-Scope-OrgID": "fake"}) as fake,
    ):
        push_json(plain, [{"stream": {"app": "no-org-id"}, "values": [[str(T * NS), "default tenant"]]}])
        assert [line for _, _, line in _lines(fake, '{app="no-org-id"}')] == ["default tenant"]


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"{not json", "application/json", "the body is not valid JSON"),
        (
            b'{"streams": [{"stream": {"a": "b"}, "values": [[1700000000, "x"]]}]}',
            "application/json",
            "the timestamp must be a string of nanoseconds",
        ),
        (
            b'{"streams": [{"stream": {}, "values": [["1", "x"]]}]}',
            "application/json",
            "at least one label pair is required",
        ),
        (
            b'{"streams": [{"stream": {"a": "b"}, "values": [["1", "x", {"k": 1}]]}]}',
            "application/json",
            "structured metadata must be an object of string values",
        ),
        (b"not snappy at all", "application/x-protobuf", "not block-snappy compressed protobuf"),
        (b"x", "text/csv", "unsupported Content-Type"),
    ],
)
def test_bad_push_is_a_400_with_one_sentence_and_stores_nothing(
    loki: httpx.Client, body: bytes, content_type: str, message: str
) -> None:
    response = loki.post("/loki/api/v1/push", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert message in response.text
    assert "\n" not in response.text.strip() and "Traceback" not in response.text
    assert loki.get("/loki/api/v1/labels", params={"start": 0}).json() == {"status": "success"}


def test_a_bad_stream_stores_none_of_the_request(loki: httpx.Client) -> None:
    body = {
        "streams": [
            {"stream": {"app": "good"}, "values": [[str(T * NS), "ok"]]},
            {"stream": {"app": "bad"}, "values": [["x", "no"]]},
        ]
    }
    assert push_json(loki, body["streams"]).status_code == 400
    assert _lines(loki, '{app="good"}') == []


def test_gzip_bomb_is_refused_before_it_inflates_past_the_shared_cap(loki: httpx.Client) -> None:
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # gzip framing
    chunk = b" " * (1024 * 1024)
    bomb = packer.compress(b"{") + b"".join(packer.compress(chunk) for _ in range(100)) + packer.flush()
    response = loki.post(
        "/loki/api/v1/push",
        content=bomb,
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status_code == 413
    assert "inflates to more than" in response.text


def test_snappy_declaring_a_huge_size_is_refused(loki: httpx.Client) -> None:
    # A snappy block starts with its uncompressed length as a varint: claim 2 GiB.
    body = bytes([0x80, 0x80, 0x80, 0x80, 0x08]) + b"\x00" * 16
    response = loki.post("/loki/api/v1/push", content=body)
    assert response.status_code == 413
    assert "inflates to more than" in response.text


def test_a_body_over_the_shared_limit_is_413(loki: httpx.Client) -> None:
    from logfire_notebook.server.bodies import MAX_BODY_BYTES

    response = loki.post(
        "/loki/api/v1/push", content=b"x" * (MAX_BODY_BYTES + 1), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "text/plain; charset=utf-8"


def test_a_real_loki_logging_handler_pushes_lines_that_come_back(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    handler = LokiLoggerHandler(
        url=f"{loki_backend.base_url}/loki/api/v1/push",
        labels={"application": "handler-test", "environment": "ci"},
        additional_headers={"X-Scope-OrgID": tenant},
        timeout=1,
        compressed=True,
        enable_structured_loki_metadata=True,
        loki_metadata={"host": "h1"},
    )
    logger = logging.getLogger(f"loki-handler-{tenant}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        for i in range(3):
            logger.info("order %d shipped", i)
        logger.warning("stock low")
        deadline = time.monotonic() + 30
        found: list[Any] = []
        while time.monotonic() < deadline and len(found) < 4:
            response = loki.get(
                "/loki/api/v1/query_range",
                params={
                    "query": '{application="handler-test"} | json',
                    "since": "1h",
                    "direction": "forward",
                    "limit": 10,
                },
            )
            found = [
                (r["stream"], line) for r in response.json()["data"]["result"] for _, line in r["values"]
            ]
            time.sleep(0.2)
    finally:
        logger.removeHandler(handler)
    messages = sorted(stream["message"] for stream, _ in found)
    assert messages == ["order 0 shipped", "order 1 shipped", "order 2 shipped", "stock low"]
    assert all(stream["environment"] == "ci" and stream["host"] == "h1" for stream, _ in found)
    assert {stream["level"] for stream, _ in found} == {"INFO", "WARNING"}


def test_otlp_logs_become_loki_entries_mapped_like_loki_3(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

    def kv(key: str, value: str) -> KeyValue:
        return KeyValue(key=key, value=AnyValue(string_value=value))

    request = ExportLogsServiceRequest()
    resource_logs = request.resource_logs.add()
    resource_logs.resource.attributes.extend(
        [kv("service.name", "checkout"), kv("deployment.environment", "prod"), kv("host.name", "node-1")]
    )
    scope_logs = resource_logs.scope_logs.add()
    scope_logs.scope.name = "shop.checkout"
    record = scope_logs.log_records.add()
    record.time_unix_nano = T * NS + 42_000
    record.severity_number = 17
    record.body.string_value = "payment declined"
    record.attributes.extend([kv("order.id", "o-7")])
    record.trace_id = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
    response = httpx.post(
        f"{loki_backend.base_url}/v1/logs",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf", "X-Scope-OrgID": tenant},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{service_name="checkout"}', "start": T - 10, "end": T + 10},
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    )
    [stream] = response.json()["data"]["result"]
    assert stream["stream"] == {"service_name": "checkout", "deployment_environment": "prod"}
    [[ts, line, extra]] = stream["values"]
    assert (int(ts), line) == (T * NS + 42_000, "payment declined")
    metadata = extra["structuredMetadata"]
    assert metadata["detected_level"] == "error"
    assert metadata["order_id"] == "o-7"
    assert metadata["host_name"] == "node-1"
    assert metadata["scope_name"] == "shop.checkout"
    assert metadata["trace_id"] == "0af7651916cd43dd8448eb211c80319c"
    # The same log through SQL.
    sql = "SELECT message, service_name FROM records WHERE service_name = 'checkout'"
    with loki_backend.client() as client:
        rows = client.get(
            "/v1/query", params={"sql": sql, "min_timestamp": "2023-11-14T00:00:00Z", "json_rows": "true"}
        ).json()["rows"]
    assert {"message": "payment declined", "service_name": "checkout"} in rows
