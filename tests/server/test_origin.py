"""A loopback server still faces the browser: only its own origin and loopback host names get answers."""

from __future__ import annotations

import pytest
from _backend import Backend

WINDOW = {"min_timestamp": "2020-01-01T00:00:00Z"}


def _one_span() -> bytes:
    import time

    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.trace_id, span.span_id, span.name = bytes(range(1, 17)), bytes(range(1, 9)), "from a web page"
    span.start_time_unix_nano = span.end_time_unix_nano = time.time_ns()
    return request.SerializeToString()


def _port(backend: Backend) -> str:
    return backend.base_url.rsplit(":", 1)[1]


@pytest.mark.parametrize(
    "origin", ["http://evil.example", "null", "http://localhost:3000", "https://127.0.0.1:{port}"]
)
def test_a_cross_origin_post_without_preflight_stores_nothing(backend: Backend, origin: str) -> None:
    # What a page's fetch(..., {method: 'POST', body}) sends: no Content-Type, so no preflight.
    count = {"sql": "SELECT count(*) AS n FROM records", **WINDOW}
    with backend.client() as client:
        before = client.post("/v2/query", json=count).json()
        response = client.post(
            "/v1/traces",
            content=b"",
            headers={"Origin": origin.format(port=_port(backend)), "Content-Type": ""},
        )
        assert response.status_code == 403
        assert "other origins" in response.json()["detail"]
        assert "access-control-allow-origin" not in response.headers
        assert client.post("/v2/query", json=count).json() == before


def test_a_cross_origin_query_with_a_token_is_refused(backend: Backend) -> None:
    with backend.client() as client:
        response = client.post(
            "/v2/query", json={"sql": "SELECT 1 AS x", **WINDOW}, headers={"Origin": "http://evil.example"}
        )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "192.168.1.10:{port}", "localhost.evil:80"]
)
def test_a_foreign_host_name_is_refused_as_dns_rebinding(backend: Backend, host: str) -> None:
    with backend.client() as client:
        response = client.post(
            "/v2/query",
            json={"sql": "SELECT 1 AS x", **WINDOW},
            headers={"Host": host.format(port=_port(backend))},
        )
    assert response.status_code == 403
    assert "answers only to" in response.json()["detail"]


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "[::1]:{port}", "127.0.0.2:{port}"])
def test_loopback_names_and_the_servers_own_origin_are_answered(backend: Backend, host: str) -> None:
    headers = {
        "Host": host.format(port=_port(backend)),
        "Origin": "http://" + host.format(port=_port(backend)),
    }
    with backend.client() as client:
        response = client.post("/v2/query", json={"sql": "SELECT 1 AS x", **WINDOW}, headers=headers)
    assert response.status_code == 200, response.text
    assert "access-control-allow-origin" not in response.headers
