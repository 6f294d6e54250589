"""Clients that stop sending their request (slowloris) are disconnected.

uvicorn starts no timer when a connection is made, and its keep-alive timer stops at the first byte of the next
request: a client that connects and sends nothing, sends a request head a byte at a time, or announces a body
and stops sending it held its connection (an open file) forever, and enough of them left the server unable to
accept anyone. `h11_protocol(seconds)` is uvicorn's h11 protocol with two limits:

- a request's head must be in whole within `seconds` of the connection, or of the end of the previous answer
  on a kept-alive connection (bytes that trickle in do not extend it);
- a body must keep moving: `seconds` without a byte of it ends the request (however long a body that keeps
  coming takes, it is read).

Past either the connection is closed: with a 408 once a byte of the request has come, silently on a connection
that sent nothing (as uvicorn closes idle keep-alive connections; a 408 there could be read as the answer to a
request the client sends at that moment). Once a request is in, its answer takes as long as it takes (the query
time limit bounds it, and TCP_USER_TIMEOUT a client that stops reading it); a WebSocket (Loki's tail) leaves
this protocol at the upgrade.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from logfire_notebook.server.env_seconds import seconds_from_env

__all__ = ["STALLED_SENDER_SECONDS", "h11_protocol", "stalled_sender_seconds"]

STALLED_SENDER_SECONDS = 30.0
"""How long a request's head may take to come in whole, and a body may stop moving. Honest clients send a head
at once and a body as fast as loopback carries it; 30 s is the query time limit's default too.
`LOGFIRE_NOTEBOOK_STALLED_SENDER_SECONDS` changes it (0: no limit)."""

_Waiting = Literal["head", "body"]


def stalled_sender_seconds() -> float:
    return seconds_from_env("LOGFIRE_NOTEBOOK_STALLED_SENDER_SECONDS", STALLED_SENDER_SECONDS)


def h11_protocol(seconds: float) -> type[H11Protocol]:
    """uvicorn's h11 protocol that disconnects clients whose request stalls for `seconds` (for `Config(http=)`)."""

    class Protocol(StalledSenderProtocol):
        limit = seconds

    return Protocol


class StalledSenderProtocol(H11Protocol):
    limit = STALLED_SENDER_SECONDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._timer: asyncio.TimerHandle | None = None
        self._waiting: _Waiting | None = None
        self._upgraded = False

    # After each of uvicorn's steps, the timer is set for what the connection waits for now.

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch(moved=False)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch(moved=True)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch(moved=False)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._upgraded = True
        self._stop()
        super().handle_websocket_upgrade(event)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop()
        super().connection_lost(exc)

    def _watch(self, *, moved: bool) -> None:
        if self._upgraded or self.transport.is_closing():
            self._stop()
        elif self.conn.their_state is h11.IDLE:  # the next request's head, from its first byte or before
            if self._waiting != "head":
                self._start("head")
        elif self.conn.their_state is h11.SEND_BODY:
            if self._waiting != "body" or moved:
                self._start("body")
        else:  # the request is in (or the connection is ending): its answer is not the client's to hurry
            self._stop()

    def _start(self, waiting: _Waiting) -> None:
        self._stop()
        self._waiting = waiting
        self._timer = self.loop.call_later(self.limit, self._expired)

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._waiting = None

    def _the_wait_is_ours(self) -> bool:
        """Whether the server, not the client, holds the request up: it stopped reading (the app has not
        taken the body so far) or owes the client its 100 Continue."""
        cycle = self.cycle
        return self.flow.read_paused or (cycle is not None and cycle.waiting_for_100_continue)

    def _expired(self) -> None:
        waiting = self._waiting
        self._timer = None
        if waiting is None or self.transport.is_closing():
            return
        if self._the_wait_is_ours():
            self._start(waiting)
            return
        self._waiting = None
        begun = waiting == "body" or bool(self.conn.trailing_data[0])
        if begun and self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            self._send_408()
        self.transport.close()  # and connection_lost ends what else waits on the connection

    def _send_408(self) -> None:
        if self.cycle is not None:
            # The app waits for the body: it learns that the client is gone, and nothing it sends goes out.
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        message = (
            f"Request Timeout: the request stalled for {self.limit:g} s (its head did not come in whole, or its "
            "body stopped coming); the connection is closed, send the request again."
        ).encode()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(message)).encode()),
            (b"connection", b"close"),
        ]
        for event in (
            h11.Response(status_code=408, headers=headers, reason=b"Request Timeout"),
            h11.Data(data=message),
            h11.EndOfMessage(),
        ):
            self.transport.write(self.conn.send(event) or b"")
