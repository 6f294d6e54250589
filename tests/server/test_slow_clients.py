"""Clients that are slow or leave early: the server keeps answering everyone else, and a client gone
mid-body is no server error."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from _backend import Backend

ROUTES = ["/v2/query", "/v1/traces", "/v1/logs", "/v1/metrics", "/loki/api/v1/push"]


def _connect(backend: Backend) -> socket.socket:
    host, port = backend.base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _start_body(sock: socket.socket, backend: Backend, path: str) -> None:
    """Sends a request's headers and the first bytes of a body that says it is 100,000 bytes long."""
    sock.sendall(
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {backend.token}\r\n"
        "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{".encode()
    )


@contextmanager
def _held(socks: list[socket.socket]) -> Iterator[None]:
    with ExitStack() as stack:
        for sock in socks:
            stack.enter_context(sock)
        yield


def test_a_client_gone_mid_body_leaves_no_traceback_in_the_server_log(backend: Backend) -> None:
    assert backend.log_path is not None
    before = backend.log_path.read_text(errors="replace").count("Traceback")
    for path in ROUTES:
        sock = _connect(backend)
        _start_body(sock, backend, path)
        time.sleep(0.2)  # the server is reading the body when the client goes
        sock.close()
    with backend.client() as client:  # once this is answered, the requests above were all handled
        body = {"sql": "SELECT 1 AS one", "min_timestamp": "2020-01-01T00:00:00Z"}
        assert client.post("/v2/query", json=body).json()["data"] == [{"one": 1}]
    assert backend.log_path.read_text(errors="replace").count("Traceback") == before


def test_clients_dripping_headers_or_bodies_do_not_hold_up_others(backend: Backend) -> None:
    socks = [_connect(backend) for _ in range(100)]
    with _held(socks):
        for i, sock in enumerate(socks):
            if i % 2:
                sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # headers never end
            else:
                _start_body(sock, backend, ROUTES[i % len(ROUTES)])  # the body never comes
        with backend.client() as client:
            for _ in range(5):
                body = {"sql": "SELECT count(*) AS n FROM records", "min_timestamp": "2020-01-01T00:00:00Z"}
                response = client.post("/v2/query", json=body)
                assert response.status_code == 200
                assert httpx.get(f"{backend.base_url}/loki/api/v1/labels", timeout=10).status_code == 200


def _server_end_open(sock: socket.socket) -> bool:
    """Whether the server's end of `sock`'s connection still exists (the kernel's table of TCP sockets; the
    server drops a stalled connection without telling the client, so the client's end cannot say)."""
    client_port, server_port = sock.getsockname()[1], sock.getpeername()[1]
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, remote = line.split()[1:3]
        if (
            int(local.rsplit(":", 1)[1], 16) == server_port
            and int(remote.rsplit(":", 1)[1], 16) == client_port
        ):
            return True
    return False


def test_a_client_that_never_reads_its_answer_is_disconnected(
    make_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server held every answer it could not send for as long as the client kept the connection: ten such
    # clients asking for 100 MB each pinned 1.3 GB indefinitely.
    monkeypatch.setenv("LOGFIRE_NOTEBOOK_STALLED_READER_SECONDS", "1")
    backend = make_backend()
    body = json.dumps(
        {
            "sql": "SELECT repeat('x', 100000) AS s FROM range(300)",
            "min_timestamp": "2020-01-01T00:00:00Z",
            "limit": 10_000,
        }
    ).encode()
    sock = _connect(backend)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    with sock:
        sock.sendall(
            f"POST /v2/query HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {backend.token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        deadline = time.monotonic() + 60
        while _server_end_open(sock) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _server_end_open(sock), (
            "the server still holds the connection of a client that reads nothing"
        )
    assert httpx.get(f"{backend.base_url}/health").status_code == 200
