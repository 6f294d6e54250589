"""`/loki/api/v1/tail` with a real WebSocket client over loopback: pushes reach a tail as they commit, every
entry once and in frames of at most 100; `delay_for` holds entries back until they are that old (at most
5 s); and a client too slow to read is told which entries were dropped."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
import websockets.sync.client
from _loki import NS, push_json
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection


@contextmanager
def tail(
    backend: Any, tenant: str, query: str, *, small_buffers: bool = False, **params: str
) -> Iterator[ClientConnection]:
    extra = "".join(f"&{k}={v}" for k, v in params.items())
    url = backend.base_url.replace("http://", "ws://") + f"/loki/api/v1/tail?query={quote(query)}{extra}"
    sock = None
    if small_buffers:
        # A slow reader: the kernel buffers little for it and the client queues one message at most.
        parts = urlsplit(backend.base_url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect((parts.hostname, parts.port))
    with websockets.sync.client.connect(
        url,
        sock=sock,
        additional_headers={"X-Scope-OrgID": tenant},
        open_timeout=30,
        max_size=None,
        max_queue=1 if small_buffers else 16,
        compression=None if small_buffers else "deflate",  # the lines would compress to almost nothing
    ) as ws:
        yield ws


def frames(ws: ClientConnection) -> Iterator[dict[str, Any]]:
    while True:
        yield json.loads(ws.recv(timeout=60))


def lines_of(frame: dict[str, Any]) -> list[str]:
    return [line for stream in frame["streams"] for _, line in stream["values"]]


def test_a_push_of_more_than_a_frame_reaches_the_tail_whole_in_frames_of_100(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    with tail(loki_backend, tenant, '{app="t"}') as ws:
        stream = frames(ws)
        # The tail is live once a first line came through. Pushed any earlier, the 250 lines could land before
        # the server's first query, which sends only `limit` (100) of them, as Loki's does.
        push_json(loki, [{"stream": {"app": "t"}, "values": [[str(time.time_ns()), "ready"]]}])
        assert lines_of(next(stream)) == ["ready"]
        now = time.time_ns()
        values = [[str(now + i), f"line {i}"] for i in range(250)]
        assert push_json(loki, [{"stream": {"app": "t"}, "values": values}]).status_code == 204
        got: list[str] = []
        sizes = []
        for frame in stream:
            sizes.append(len(lines_of(frame)))
            got += lines_of(frame)
            if len(got) >= 250:
                break
    assert got == [f"line {i}" for i in range(250)]  # each once, in time order
    assert max(sizes) == 100


def test_each_push_is_sent_once_as_it_commits(loki_backend: Any, tenant: str, loki: httpx.Client) -> None:
    with tail(loki_backend, tenant, '{app="t"} != "skip"') as ws:
        stream = frames(ws)
        for i in range(5):
            now = time.time_ns()
            push_json(
                loki, [{"stream": {"app": "t"}, "values": [[str(now), "skip"], [str(now + 1), f"push {i}"]]}]
            )
            assert lines_of(next(stream)) == [f"push {i}"]


def test_delay_for_above_5_seconds_is_refused(loki_backend: Any, tenant: str) -> None:
    with (
        tail(loki_backend, tenant, '{app="t"}', delay_for="6") as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (1008, "delay_for can't be greater than 5")


def test_delay_for_holds_an_entry_until_it_is_that_old(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    future = time.time_ns() + 3600 * NS  # not delay_for old for an hour: held back the whole test
    with tail(loki_backend, tenant, '{app="t"}', delay_for="1") as ws:
        push_json(loki, [{"stream": {"app": "t"}, "values": [[str(future), "from the future"]]}])
        push_json(
            loki, [{"stream": {"app": "t"}, "values": [[str(time.time_ns() - 10 * NS), "ten seconds old"]]}]
        )
        assert lines_of(next(frames(ws))) == ["ten seconds old"]
    # Without delay_for the same kind of entry goes out at once.
    with tail(loki_backend, tenant, '{app="t2"}') as ws:
        push_json(loki, [{"stream": {"app": "t2"}, "values": [[str(future + 1), "from the future too"]]}])
        assert lines_of(next(frames(ws))) == ["from the future too"]


def test_a_slow_client_is_told_which_entries_were_dropped(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    base = time.time_ns()
    pushed = 0
    with tail(loki_backend, tenant, '{app="slow"}', small_buffers=True) as ws:
        # The client reads nothing while far more than 10 frames' worth of entries is pushed.
        for _ in range(16):
            values = [[str(base + pushed + i), f"{pushed + i} " + "x" * 2000] for i in range(500)]
            assert push_json(loki, [{"stream": {"app": "slow"}, "values": values}]).status_code == 204
            pushed += 500
        received: set[int] = set()
        dropped: set[int] = set()
        data = {base + i for i in range(pushed)}
        stream = frames(ws)
        flushes = 0
        while not data <= received | dropped:
            # Each frame read lets one more in; a flush entry per frame keeps frames coming until the
            # dropped entries are all reported (in the frames sent after they were dropped).
            flushes += 1
            flush = [[str(base + pushed + flushes), "flush"]]
            assert push_json(loki, [{"stream": {"app": "slow"}, "values": flush}]).status_code == 204
            frame = next(stream)
            for s in frame["streams"]:
                assert s["stream"] == {"app": "slow", "detected_level": "unknown"}
                received.update(int(ts) for ts, _ in s["values"])
            for d in frame["dropped_entries"] or []:
                assert d["labels"] == {"app": "slow", "detected_level": "unknown"}
                dropped.add(int(d["timestamp"]))
    assert dropped, "the client read nothing for a while, so some entries must have been dropped"
    assert not received & dropped
    assert len(received & data) + len(dropped & data) == pushed  # each entry either sent or reported once
