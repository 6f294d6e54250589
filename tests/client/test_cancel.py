"""Interrupting a query stops it on the wire and leaves the client usable.

The slow queries are real: a cross join over `range()` on the local backend, and a loopback HTTP server that
reads the request and never answers (so the test can see the client hang up).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from _loopback import LoopbackServer, read_request

from logfire_notebook import AsyncLogfireClient, LogfireClient

TOKEN = "pylf_v1_us_cancelTestSecret123"
SLOW_SQL = (
    "SELECT count(*) AS n FROM range(400000000) a CROSS JOIN range(100) b WHERE (a.range * b.range) % 7 = 3"
)


def _arrow_body() -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table({"n": [42]})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


class HangingServer(LoopbackServer):
    """HTTP/1.1 on loopback: the first request is never answered; later ones get a one-row Arrow table."""

    def __init__(self) -> None:
        self.requests = 0
        self.hung_up = threading.Event()  # the client closed the connection of the unanswered request
        super().__init__()

    def serve(self, conn: socket.socket) -> None:
        buffer = b""
        with conn:
            while True:
                request = read_request(conn, buffer)
                if request is None:
                    return
                buffer = request[2]
                self.requests += 1
                if self.requests == 1:
                    # Never answer: wait for the client to hang up.
                    while conn.recv(65536):
                        pass
                    self.hung_up.set()
                    return
                body = _arrow_body()
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/vnd.apache.arrow.stream\r\n"
                    + f"content-length: {len(body)}\r\n\r\n".encode()
                    + body
                )


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.close()


@contextlib.contextmanager
def _interrupt_main_thread_after(seconds: float) -> Iterator[None]:
    """Ctrl-C as the kernel sends it (SIGINT to the main thread); never fires after the block ends.

    Python's own handler is put in place for the block: a shell that starts pytest in the background (as CI
    may) leaves SIGINT ignored, and then there would be no KeyboardInterrupt to test.
    """
    main = threading.main_thread().ident
    assert main is not None
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    timer = threading.Timer(seconds, signal.pthread_kill, args=(main, signal.SIGINT))
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_interrupt_cancels_running_query_on_the_wire(hanging: HangingServer) -> None:
    with LogfireClient(TOKEN, hanging.url, timeout=60) as client:
        with _interrupt_main_thread_after(0.3), pytest.raises(KeyboardInterrupt):
            client.query_arrow("SELECT 1", since="1h")
        assert hanging.hung_up.wait(5), "the server never saw the interrupted request's connection close"
        # The same client object runs the next query.
        assert client.query_arrow("SELECT 1", since="1h").column("n").to_pylist() == [42]


def test_interrupt_stops_a_slow_query_on_the_local_backend(backend: Any) -> None:
    with LogfireClient(backend.token, backend.base_url, timeout=120) as client:
        started = time.monotonic()
        with _interrupt_main_thread_after(0.5), pytest.raises(KeyboardInterrupt):
            client.query_arrow(SLOW_SQL, since="1h")
        # The query would run until the server's 30 s limit; the interrupt returned long before.
        assert time.monotonic() - started < 10
        assert client.query_arrow("SELECT count(*) AS n FROM records", since="7d").column("n")[0].as_py() > 0


async def test_cancelling_an_async_query_closes_its_request(hanging: HangingServer) -> None:
    async with AsyncLogfireClient(TOKEN, hanging.url, timeout=60) as client:
        task = asyncio.ensure_future(client.query_arrow("SELECT 1", since="1h"))
        await asyncio.sleep(0.3)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert await asyncio.to_thread(hanging.hung_up.wait, 5)
        table = await client.query_arrow("SELECT 1", since="1h")
    assert table.column("n").to_pylist() == [42]


async def test_cancelled_async_query_leaves_other_queries_running(backend: Any) -> None:
    async with AsyncLogfireClient(backend.token, backend.base_url, timeout=120) as client:
        slow = asyncio.ensure_future(client.query_arrow(SLOW_SQL, since="1h"))
        quick = asyncio.ensure_future(client.query_arrow("SELECT count(*) AS n FROM records", since="7d"))
        await asyncio.sleep(0.5)
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        assert (await quick).column("n")[0].as_py() > 0
