"""Clients that stop sending their request (slowloris): a connection that brings no complete request head, or
a body that stops moving, within the server's stalled-sender limit is closed (408 where a request has begun),
so such clients cannot take every connection the server can hold. Clients that keep sending, WebSocket tails
and answers read slowly are not cut."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import _dataset
import httpx
import pytest
import websockets.sync.client
from _backend import Backend
from _loopback import free_port

from logfire_notebook import LogfireClient

STALL = 1.0
"""The stalled-sender limit of these tests' servers, in seconds. What must outlast it does so by a whole STALL or
more (a body's pieces come STALL / 4 apart), so a loaded machine's late wake-ups do not fail the tests."""
WAIT = 30.0
"""How long a test waits for what should happen within a few STALL, so a failure is an assertion, not a hang."""
ENV = "LOGFIRE_NOTEBOOK_STALLED_SENDER_SECONDS"
SINCE_EVER = datetime(2000, 1, 1, tzinfo=timezone.utc)
QUERY_TIMEOUT = 2 * STALL
"""The query time limit of `stalling_backend`: a query that never ends is answered (a 400) this long after it
came in, so its answer is one that comes later than the stalled-sender limit, for certain."""
ENDLESS = "SELECT sum(hash(i)) AS s FROM range(1000000000000) t(i)"


@pytest.fixture(scope="module")
def stalling_backend(make_backend: Callable[..., Backend]) -> Backend:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(ENV, str(STALL))
        return make_backend(query_timeout=QUERY_TIMEOUT)


def _connect(backend: Backend) -> socket.socket:
    host, port = backend.base_url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _request_head(path: str, length: int, **headers: str) -> bytes:
    lines = "".join(f"{name.replace('_', '-')}: {value}\r\n" for name, value in headers.items())
    return f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}Content-Length: {length}\r\n\r\n".encode()


DRIP_HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
"""A request head that a dripping client never finishes: it sends one more byte of this header now and then."""


class SlowClient:
    """A client's connection, read without blocking; a `dripping` client sends one more byte at each `drip()`."""

    def __init__(self, sock: socket.socket, kind: str) -> None:
        self.kind = kind
        self.sock = sock
        self.sock.setblocking(False)
        self.received = b""
        self.closed = False

    def drip(self) -> None:
        if self.kind == "dripping" and not self.closed:
            with contextlib.suppress(OSError):  # the server has closed it: the next `poll` reads that
                self.sock.send(b"x")

    def poll(self) -> bool:
        """Whether the server has closed the connection (reads what it sent first)."""
        while not self.closed:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                break
            except OSError:  # reset: closed with unread bytes of ours in its buffer
                self.closed = True
                break
            self.received += data
            self.closed = not data
        return self.closed


def _slow_client(backend: Backend, kind: str) -> SlowClient:
    """`silent` sends nothing, `dripping` a head that never ends, `stalled` a query's head and the first byte
    of a body it never sends."""
    sock = _connect(backend)
    if kind == "dripping":
        sock.sendall(DRIP_HEAD)
    elif kind == "stalled":
        headers = {"Authorization": backend.token, "Content_Type": "application/json"}
        sock.sendall(_request_head("/v2/query", 100_000, **headers) + b"{")
    return SlowClient(sock, kind)


@contextmanager
def _slow_clients(backend: Backend, kinds: list[str]) -> Iterator[list[SlowClient]]:
    with ExitStack() as stack:
        clients = []
        for kind in kinds:
            client = _slow_client(backend, kind)
            stack.enter_context(client.sock)
            clients.append(client)
        yield clients


def _wait_for(condition: Callable[[], bool], dripping: list[SlowClient]) -> None:
    """Drips `dripping` and checks `condition` every 0.25 s until it holds or WAIT passes."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for client in dripping:
            client.drip()
        if condition():
            return
        time.sleep(0.25)


def _all_closed(clients: list[SlowClient]) -> bool:
    return all([client.poll() for client in clients])  # a list: every client reads what it was sent


def _open_files(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def test_more_stalled_clients_than_the_server_can_hold_do_not_stop_its_queries(
    make_backend: Callable[..., Backend], monkeypatch: pytest.MonkeyPatch
) -> None:
    # uvicorn starts no timer when a connection is made: clients that sent nothing, or a head a byte at a time,
    # or a body they never finish, held their connections forever, and once they held every file the process
    # may open, the server accepted no one: every notebook's query hung.
    monkeypatch.setenv(ENV, str(STALL))
    backend = make_backend(_dataset.fill)
    assert backend.dataset is not None
    # A LogQL query first: its parser is built (reading grammar files) by then, not while files run out.
    warm = httpx.get(f"{backend.base_url}/loki/api/v1/query_range", params={"query": '{a="b"}'}, timeout=30)
    assert warm.status_code == 200
    # Room for 100 more connections than the server has files open now (so a few hundred clients are enough).
    limit = _open_files(backend.process.pid) + 100
    resource.prlimit(backend.process.pid, resource.RLIMIT_NOFILE, (limit, limit))
    kinds = ["silent", "dripping", "stalled"] * (limit // 3 + 20)
    with (
        _slow_clients(backend, kinds) as clients,
        LogfireClient(backend.token, backend.base_url, timeout=WAIT + 5, max_retries=0) as client,
        ThreadPoolExecutor(1) as pool,
    ):
        answer = pool.submit(
            client.query_arrow, "SELECT count(*) AS n FROM records", min_timestamp=SINCE_EVER
        )
        _wait_for(lambda: _all_closed(clients) and answer.done(), clients)
        assert answer.done(), (
            f"no answer within {WAIT:g} s while {len(clients)} stalled clients were connected"
        )
        assert answer.result().column("n").to_pylist() == [len(backend.dataset.visible_records)]
        still_open = [c.kind for c in clients if not c.closed]
        assert still_open == [], f"the server still holds {len(still_open)} stalled connections"
    # At the limit asyncio logged a traceback for each connection it failed to accept, 2,048 in a row.
    assert backend.log_path is not None
    log = backend.log_path.read_text(errors="replace")
    assert "Traceback" not in log
    assert log.count("cannot accept new connections: [Errno 24] Too many open files") == 1


def test_the_server_lifts_its_soft_limit_on_open_files(make_backend: Callable[..., Backend]) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard // 2), hard))  # the server inherits it
    try:
        backend = make_backend()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    limits = Path(f"/proc/{backend.process.pid}/limits").read_text()
    assert next(line for line in limits.splitlines() if line.startswith("Max open files")).split()[3:5] == [
        str(hard),
        str(hard),
    ]


def test_a_stalled_request_is_answered_408_and_a_silent_connection_is_just_closed(
    stalling_backend: Backend,
) -> None:
    with _slow_clients(stalling_backend, ["silent", "dripping", "stalled"]) as clients:
        _wait_for(lambda: _all_closed(clients), clients)
        silent, dripping, stalled = clients
        assert silent.closed and silent.received == b""
        for client in (dripping, stalled):
            assert client.closed, f"the server still holds the {client.kind} client's connection"
            head, _, body = client.received.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 408 ") and b"connection: close" in head.lower()
            assert b"send the request again" in body


def test_the_limit_for_the_next_request_starts_when_the_previous_answer_ends(
    stalling_backend: Backend,
) -> None:
    # Between requests on a kept-alive connection a byte now and then kept it open forever (uvicorn's keep-alive
    # timer stops at the first byte of the next request).
    with _connect(stalling_backend) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        client = SlowClient(sock, "dripping")
        _wait_for(lambda: client.poll() or b'{"status":"ok"}' in client.received, [])
        sock.send(DRIP_HEAD)
        _wait_for(lambda: _all_closed([client]), [client])
        assert client.closed, "the server still holds a connection that drips its second request's head"
        assert [answer[:3] for answer in client.received.split(b"HTTP/1.1 ")[1:]] == [b"200", b"408"]


def test_a_body_that_keeps_moving_is_read_however_long_it_takes(stalling_backend: Backend) -> None:
    line = "x" * 1000
    body = json.dumps(
        {"streams": [{"stream": {"app": "slow-upload"}, "values": [[str(time.time_ns()), line]]}]}
    ).encode()
    tenant = {"X-Scope-OrgID": "slow-upload"}
    with _connect(stalling_backend) as sock:
        sock.sendall(_request_head("/loki/api/v1/push", len(body), Content_Type="application/json", **tenant))
        piece = -(-len(body) // 8)
        for i in range(0, len(body), piece):  # 8 pieces, STALL / 4 apart: 2 STALL in all
            time.sleep(STALL / 4)
            sock.sendall(body[i : i + piece])
        assert sock.recv(4096).startswith(b"HTTP/1.1 204 ")
    response = httpx.get(
        f"{stalling_backend.base_url}/loki/api/v1/query_range",
        params={"query": '{app="slow-upload"}', "since": "1h"},
        headers=tenant,
        timeout=30,
    )
    assert [v[1] for s in response.json()["data"]["result"] for v in s["values"]] == [line]


def test_a_tail_that_waits_outlasts_the_limit(stalling_backend: Backend) -> None:
    url = stalling_backend.base_url.replace("http://", "ws://") + '/loki/api/v1/tail?query={app="late"}'
    tenant = {"X-Scope-OrgID": "late-tail"}
    with websockets.sync.client.connect(url, additional_headers=tenant, open_timeout=30) as ws:
        time.sleep(2 * STALL)  # nothing to send either way
        entry = {"stream": {"app": "late"}, "values": [[str(time.time_ns()), "after a while"]]}
        pushed = httpx.post(
            f"{stalling_backend.base_url}/loki/api/v1/push", json={"streams": [entry]}, headers=tenant
        )
        assert pushed.status_code == 204
        frame: dict[str, Any] = json.loads(ws.recv(timeout=30))
        assert [v[1] for s in frame["streams"] for v in s["values"]] == ["after a while"]


def test_an_answer_that_comes_later_than_the_limit_is_received(stalling_backend: Backend) -> None:
    # Once a request is in, the limit stops: a query that runs longer than it must not lose its answer (a
    # limit that kept running closed the connection while the query ran; the client got no answer at all).
    with stalling_backend.client() as client:
        started = time.monotonic()
        response = client.post("/v2/query", json={"sql": ENDLESS, "min_timestamp": "2020-01-01T00:00:00Z"})
        waited = time.monotonic() - started
    assert response.status_code == 400 and "stopped" in response.json()["detail"], response.text
    assert waited > QUERY_TIMEOUT > STALL


def test_an_answer_read_slowly_outlasts_the_limit(stalling_backend: Backend) -> None:
    # ~34 KB: more than the slow reads take in 2 STALL (8 of at most 4 KiB), so the answer is still coming when
    # they end, and little enough that the rest is in the client's receive buffer by then (each refill of that
    # small buffer waits on TCP's timers, ~0.3 s: a 300 KB answer took 8 s more to read).
    body = json.dumps(
        {"sql": "SELECT repeat('x', 11500) AS s FROM range(3)", "min_timestamp": "2020-01-01T00:00:00Z"}
    ).encode()
    with _connect(stalling_backend) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # the server waits for each read of ours
        headers = {"Authorization": stalling_backend.token, "Content_Type": "application/json"}
        sock.sendall(_request_head("/v2/query", len(body), **headers) + body)
        received = b""
        for _ in range(round(2 * STALL / 0.25)):  # 2 STALL of slow reads first, then the rest at once
            received += sock.recv(4096)
            time.sleep(0.25)
        head, _, answer = received.partition(b"\r\n\r\n")
        length = int(next(h for h in head.lower().split(b"\r\n") if h.startswith(b"content-length:"))[15:])
        assert len(answer) < length, "the answer came whole before the slow reads ended: make it longer"
        while len(answer) < length and (data := sock.recv(1 << 20)):
            answer += data
        assert head.startswith(b"HTTP/1.1 200 ") and len(json.loads(answer)["data"]) == 3


@pytest.mark.parametrize("name", [ENV, "LOGFIRE_NOTEBOOK_STALLED_READER_SECONDS"])
def test_a_limit_that_is_not_a_number_stops_the_server_with_one_sentence(name: str, tmp_path: Path) -> None:
    command = [sys.executable, "-m", "logfire_notebook.cli", "serve", "--port", str(free_port())]
    done = subprocess.run(
        [*command, "--data-dir", str(tmp_path)],
        env={**os.environ, name: "half a minute"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert done.stderr.strip() == f"logfire-notebook: {name}='half a minute' is not a number of seconds"
