"""Loopback helpers of the tests: a free port for a child server, waiting until that child answers and
stopping it, and HTTP/1.1 servers for tests that must see what a client does on the wire (a request left
unanswered, a connection the client closes): a listening socket with a thread per connection, and a reader
for one request."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from typing import Any

import httpx
import pytest


def free_port() -> int:
    """A loopback port nothing listens on at the moment, for a child server to take."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_answering(
    process: subprocess.Popen[Any], url: str, *, what: str, log: str, seconds: float, **params: str
) -> None:
    """Polls `url` (with `params`) until it answers 200; fails the test, naming `log`, if the child exits or
    `seconds` pass first."""
    deadline = time.monotonic() + seconds
    while True:
        if process.poll() is not None:
            pytest.fail(f"{what} exited; see {log}")
        try:
            if httpx.get(url, params=params, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not start in {seconds:g} s; see {log}")
        time.sleep(0.3)


def stop(process: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if the child is still there after 15 s."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class LoopbackServer:
    """Listens on a free loopback port and hands every connection to `serve` in a thread of its own.

    A subclass sets the attributes `serve` needs before calling `super().__init__()`, which starts accepting.
    """

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            threading.Thread(target=self.serve, args=(conn,), daemon=True).start()

    def serve(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.sock.close()


def read_request(conn: socket.socket, buffer: bytes = b"") -> tuple[bytes, bytes, bytes] | None:
    """Reads one request from `conn`, after what `buffer` already holds of it: its head, its body (by
    content-length) and what came after it (the start of a pipelined next request). None if the client
    closed the connection first."""
    while b"\r\n\r\n" not in buffer:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        buffer += chunk
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        rest += chunk
    return head, rest[:length], rest[length:]
