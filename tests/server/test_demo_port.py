"""`logfire-notebook demo` checks its port the way the server binds it: a port a stopped server left in
TIME_WAIT is free, a port a server listens on is not."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
from _backend import start_backend

from logfire_notebook.server.demo import _port_is_free


def test_the_port_of_a_stopped_server_is_free_at_once_and_a_listening_one_is_not(tmp_path: Path) -> None:
    server = start_backend(tmp_path / "data")
    port = int(server.base_url.rsplit(":", 1)[1])
    try:
        assert not _port_is_free(port)
        # The server closes these connections itself, so its side of each waits in TIME_WAIT after it stops.
        for _ in range(3):
            assert httpx.get(f"{server.base_url}/health", headers={"Connection": "close"}).status_code == 200
    finally:
        server.stop()
    assert _time_wait_on(port), "the test needs a TIME_WAIT connection on the port to mean anything"
    assert _port_is_free(port)


def _time_wait_on(port: int) -> bool:
    """Whether /proc/net/tcp lists a connection in TIME_WAIT (state 06) on local `port`."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "06":
            return True
    return False


def test_a_port_taken_by_another_listener_is_not_free() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        assert not _port_is_free(other.getsockname()[1])
