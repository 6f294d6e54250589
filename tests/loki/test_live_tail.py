"""Live mode on Loki: the kernel follows the query on the tail WebSocket (the browser never talks to Loki), with
the client's tenant and credentials, and each poll takes what arrived."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from _backend import start_backend
from _loki import push_json

from logfire_notebook import LokiTable
from logfire_notebook._live import live_poll
from logfire_notebook._loki.client import AsyncLokiClient
from logfire_notebook.widget import _loop

QUERY = '{service_name="tailed"}'


def poll(table: LokiTable) -> dict[str, Any]:
    return asyncio.run_coroutine_threadsafe(live_poll(table), _loop()).result(timeout=60)


def push(loki: httpx.Client, *lines: str) -> None:
    now = time.time_ns()
    values = [[str(now + i), line] for i, line in enumerate(lines)]
    response = push_json(loki, [{"stream": {"service_name": "tailed"}, "values": values}])
    assert response.status_code == 204, response.text


def poll_until(table: LokiTable, rows: int) -> dict[str, Any]:
    """Polls as the browser does until the table shows `rows` (the tail sends about once a second)."""
    deadline = time.monotonic() + 30
    while True:
        reply = poll(table)
        if table.df.height >= rows or not reply["ok"] or time.monotonic() > deadline:
            return reply
        time.sleep(0.3)


def test_live_on_loki_takes_new_entries_from_the_tail_socket(
    loki_backend: Any, tenant: str, loki: httpx.Client
) -> None:
    push(loki, "first", "second")
    table = LokiTable(QUERY, since="10m", addr=loki_backend.base_url, org_id=tenant)
    assert table.df.get_column("line").to_list() == ["second", "first"]
    table.live = True
    assert poll(table)["ok"] is True  # opens the tail from the newest entry shown
    tail = table._live_state.tail if table._live_state else None
    assert tail is not None
    asyncio.run_coroutine_threadsafe(asyncio.wait_for(tail.connected.wait(), 30), _loop()).result(35)

    push(loki, "third", "fourth")
    poll_until(table, 4)
    # Only the new entries, on top, each once (the tail's first answer repeats none of those shown).
    assert table.df.get_column("line").to_list() == ["fourth", "third", "second", "first"]
    assert poll(table) == {"ok": True, "new": 0}
    assert tail.connects == 1

    table.live = False  # closes the socket
    assert table._live_state is None
    table.close()


def test_a_tail_the_server_refuses_stops_live_with_one_sentence(loki_backend: Any) -> None:
    async def refused() -> str:
        async with AsyncLokiClient(loki_backend.base_url) as client:
            tail = client.tail('sum(rate({a="b"}[1m]))', start=_now())
            for _ in range(300):
                try:
                    tail.take()
                except Exception as exc:
                    await tail.aclose()
                    return str(exc)
                await asyncio.sleep(0.1)
            await tail.aclose()
            return "no error"

    message = asyncio.run(refused())
    assert message.startswith("Loki refused to tail the query: ") and "metric query" in message


def test_a_dropped_tail_reconnects_from_the_newest_entry_without_repeats(tmp_path: Path) -> None:
    backend = start_backend(tmp_path / "data")
    started = [backend]

    async def follow() -> tuple[list[str], int]:
        async with AsyncLokiClient(backend.base_url) as client:
            with httpx.Client(base_url=backend.base_url, timeout=30) as loki:
                tail = client.tail(QUERY, start=_now())
                await asyncio.wait_for(tail.connected.wait(), 30)
                push(loki, "before")
                lines = await _gather(tail, 1)
                # The server goes away and comes back on the same address: the socket drops, the tail waits
                # and connects again from "before", which it must not send twice.
                backend.stop()
                port = int(backend.base_url.rsplit(":", 1)[1])
                started.append(start_backend(tmp_path / "data", port=port))
                push(loki, "after")
                lines += await _gather(tail, 1)
                connects = tail.connects
                await tail.aclose()
                return lines, connects

    try:
        lines, connects = asyncio.run(follow())
    finally:
        for server in started:
            server.stop()
    assert lines == ["before", "after"] and connects == 2


async def _gather(tail: Any, count: int) -> list[str]:
    """What the tail gathers until it has `count` entries (oldest first), and a second more for repeats."""
    lines: list[str] = []
    for _ in range(600):
        table = tail.take()
        if table is not None:
            lines += table.column("line").to_pylist()[::-1]
        if len(lines) >= count:
            await asyncio.sleep(1.5)  # the server sends about once a second: a repeat would come by now
            table = tail.take()
            return lines + (table.column("line").to_pylist()[::-1] if table is not None else [])
        await asyncio.sleep(0.1)
    pytest.fail(f"the tail sent {lines} in a minute")


def _now() -> Any:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc)
