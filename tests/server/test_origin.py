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


def _handshake_status(backend: Backend, host: str, origin: str | None) -> bytes:
    import socket

    sock = socket.create_connection(("127.0.0.1", int(_port(backend))), timeout=30)
    with sock:
        request = (
            f"GET /loki/api/v1/tail?query=%7Bapp%3D%22web%22%7D HTTP/1.1\r\nHost: {host}\r\n"
            + (f"Origin: {origin}\r\n" if origin else "")
            + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        )
        sock.sendall(request.encode())
        return sock.recv(100).split(b"\r\n", 1)[0]


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("127.0.0.1:{port}", "http://evil.example"),  # a page of another site opening the tail
        ("127.0.0.1:{port}", "null"),
        ("evil.example:{port}", None),  # DNS rebinding
    ],
)
def test_a_websocket_tail_from_another_origin_or_host_is_refused(
    backend: Backend, host: str, origin: str | None
) -> None:
    # WebSockets are no subject of CORS: any web page could open a Loki tail and read every line pushed.
    status = _handshake_status(backend, host.format(port=_port(backend)), origin)
    assert status == b"HTTP/1.1 403 Forbidden"


def test_a_websocket_tail_from_the_servers_own_origin_is_answered(backend: Backend) -> None:
    host = f"127.0.0.1:{_port(backend)}"
    assert _handshake_status(backend, host, f"http://{host}") == b"HTTP/1.1 101 Switching Protocols"
    assert _handshake_status(backend, host, None) == b"HTTP/1.1 101 Switching Protocols"
