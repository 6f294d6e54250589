"""`/loki/api/v1/tail` and `/api/prom/tail`: a WebSocket that first sends the entries since `start`, then
every new entry that matches, in Loki's frames (`streams` + `dropped_entries`).

A tail wakes when a push for its tenant commits (`LokiStore.subscribe`), not on a timer. As in Loki:
`delay_for` (at most 5 s) holds an entry back until it is that old, so late entries still come in time order;
a frame holds at most 100 entries; and a client too slow to read lets at most 10 frames wait for it: the
entries of any frame past that are dropped, and the next frame sent names them in `dropped_entries`.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
from collections import Counter
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from logfire_notebook.server.loki import answers
from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.params import DEFAULT_LIMIT, ParamError, positive_int, tenant
from logfire_notebook.server.loki.parser import LogQLSyntaxError, parse
from logfire_notebook.server.loki.select import (
    Deadline,
    QueryStats,
    Selected,
    max_rowid,
    select_appended,
    select_logs,
)
from logfire_notebook.server.loki.storage import LokiStore
from logfire_notebook.server.loki.times import TimeError, format_rfc3339_nano, now_ns, parse_time

__all__ = ["MAX_BUFFERED_FRAMES", "MAX_DELAY_FOR", "MAX_ENTRIES_PER_FRAME", "legacy_tail", "tail"]

MAX_DELAY_FOR = 5
"""Seconds; Loki refuses a larger `delay_for`."""
MAX_ENTRIES_PER_FRAME = 100
MAX_BUFFERED_FRAMES = 10
"""Frames waiting for a slow client; past this, new entries are dropped and reported."""
MAX_DROPPED_PER_FRAME = 1000
MAX_HELD = 50_000
"""Entries a `delay_for` may hold back at once."""
_MAX_DROPPED_KEPT = 100_000  # the oldest dropped records go first past this
_READ_BATCH = 5_000
HOUR_NS = 3600 * 1_000_000_000
# Loki closes a tail with this code and the message when the request is bad (a policy violation).
_BAD_REQUEST = 1008
_SERVER_ERROR = 1011


def _delay_for(text: str | None) -> int:
    if not text:
        return 0
    if not (text.isascii() and text.isdigit()):
        raise ParamError(f'cannot parse delay_for "{text}": send a whole number of seconds')
    if len(text) > 3 or int(text) > MAX_DELAY_FOR:
        raise ParamError(f"delay_for can't be greater than {MAX_DELAY_FOR}")
    return int(text)


class _Sender:
    """Frames waiting for the client, and the entries dropped because too many were waiting."""

    def __init__(self, ws: WebSocket, *, legacy: bool, categorize: bool) -> None:
        self.ws = ws
        self.legacy = legacy
        self.categorize = categorize
        self.queue: asyncio.Queue[list[Selected]] = asyncio.Queue(MAX_BUFFERED_FRAMES)
        self.dropped: list[Selected] = []

    def offer(self, entries: list[Selected]) -> None:
        for i in range(0, len(entries), MAX_ENTRIES_PER_FRAME):
            frame = entries[i : i + MAX_ENTRIES_PER_FRAME]
            try:
                self.queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.dropped.extend(frame)
                del self.dropped[:-_MAX_DROPPED_KEPT]

    async def run(self) -> None:
        while True:
            entries = await self.queue.get()
            dropped, self.dropped = self.dropped[:MAX_DROPPED_PER_FRAME], self.dropped[MAX_DROPPED_PER_FRAME:]
            await self.ws.send_text(answers.dumps(self.frame(entries, dropped)).decode())

    def frame(self, entries: list[Selected], dropped: list[Selected]) -> dict[str, Any]:
        if self.legacy:
            return {
                "streams": answers.legacy_streams(entries, forward=True),
                "dropped_entries": [
                    {"Timestamp": format_rfc3339_nano(e.ts), "Labels": answers.selector_text(e.labels)}
                    for e in dropped
                ]
                or None,
            }
        frame: dict[str, Any] = {
            "streams": answers.streams(entries, forward=True, categorize=self.categorize),
            "dropped_entries": [{"timestamp": str(e.ts), "labels": e.labels} for e in dropped] or None,
        }
        if self.categorize:
            frame["encodingFlags"] = [answers.CATEGORIZE]
        return frame


class _Held:
    """Entries not yet `delay_for` old, oldest first."""

    def __init__(self, delay_ns: int) -> None:
        self.delay_ns = delay_ns
        self.heap: list[tuple[int, int, Selected]] = []
        self.count = 0

    def add(self, entries: list[Selected]) -> None:
        for entry in entries:
            self.count += 1
            heapq.heappush(self.heap, (entry.ts, self.count, entry))

    def due(self) -> list[Selected]:
        limit = now_ns() - self.delay_ns
        out = []
        # Past MAX_HELD (entries stamped far in the future, say) the oldest go out early: memory stays bounded.
        while self.heap and (self.delay_ns == 0 or self.heap[0][0] <= limit or len(self.heap) > MAX_HELD):
            out.append(heapq.heappop(self.heap)[2])
        return out

    def wait_seconds(self) -> float | None:
        """How long until the oldest held entry is due (None: nothing held)."""
        if not self.heap:
            return None
        return max((self.heap[0][0] + self.delay_ns - now_ns()) / 1e9, 0.0)


async def _run(ws: WebSocket, *, legacy: bool) -> None:
    await ws.accept()
    params = ws.query_params
    try:
        org = tenant(ws.headers.get("x-scope-orgid"))
        expr = parse(params.get("query") or "")
        if not isinstance(expr, s.LogQuery):
            raise ParamError("tail needs a log query, not a metric query")
        start = parse_time(params.get("start"), now_ns() - HOUR_NS, "start")
        limit = positive_int(params.get("limit")) or DEFAULT_LIMIT
        delay = _delay_for(params.get("delay_for"))
    except (ParamError, LogQLSyntaxError, TimeError) as exc:
        await ws.close(code=_BAD_REQUEST, reason=str(exc)[:120])
        return
    except RecursionError:
        await ws.close(code=_BAD_REQUEST, reason="the query nests too deeply to run; simplify it")
        return
    categorize = answers.CATEGORIZE in ws.headers.get("x-loki-response-encoding-flags", "")
    loki: LokiStore = ws.app.state.loki
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def on_commit(pushed_for: str) -> None:
        if pushed_for == org:
            with contextlib.suppress(RuntimeError):  # the loop is closing: nobody is waiting any more
                loop.call_soon_threadsafe(changed.set)

    unsubscribe = loki.subscribe(on_commit)
    sender = _Sender(ws, legacy=legacy, categorize=categorize)
    tasks: list[asyncio.Future[Any]] = []
    try:
        mark = await run_in_threadpool(max_rowid, loki)
        first = await run_in_threadpool(
            select_logs, loki, org, expr, start, now_ns() + 1, limit, True, QueryStats(), Deadline(30)
        )
        sender.offer(first)
        # A push committed between the mark and the first query is in both: it is sent once.
        sent_first = Counter(_identity(e) for e in first)
        tasks = [asyncio.ensure_future(sender.run()), asyncio.ensure_future(_until_closed(ws))]
        held = _Held(delay * 1_000_000_000)
        while True:
            waiter = asyncio.ensure_future(changed.wait())
            done, _ = await asyncio.wait(
                [waiter, *tasks], timeout=held.wait_seconds(), return_when="FIRST_COMPLETED"
            )
            waiter.cancel()
            if any(t in done for t in tasks):
                return  # the client left, or sending failed
            if changed.is_set():
                changed.clear()
                caught_up = False
                while not caught_up:
                    entries, mark, caught_up = await run_in_threadpool(
                        select_appended, loki, org, expr, mark, _READ_BATCH
                    )
                    if sent_first:
                        entries = [e for e in entries if not _seen(sent_first, e)]
                    held.add(entries)
            sender.offer(held.due())
    except (WebSocketDisconnect, RuntimeError):
        return
    except Exception as exc:
        # The engine failed the tail's query (out of memory with many tails open, say): the client is told
        # why, in the close frame, instead of a bare 1011 and a traceback in the server's log.
        first_line = str(exc).strip().split("\n", 1)[0]
        with contextlib.suppress(Exception):
            await ws.close(
                code=_SERVER_ERROR, reason=f"the tail's query failed: {first_line}"[:110] + "; retry"
            )
        return
    finally:
        unsubscribe()
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _identity(entry: Selected) -> tuple[int, str, tuple[tuple[str, str], ...]]:
    return (entry.ts, entry.line, tuple(sorted(entry.labels.items())))


def _seen(sent: Counter[tuple[int, str, tuple[tuple[str, str], ...]]], entry: Selected) -> bool:
    key = _identity(entry)
    if sent[key] > 0:
        sent[key] -= 1
        return True
    return False


async def _until_closed(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message.get("type") == "websocket.disconnect":
            return


async def tail(ws: WebSocket) -> None:
    await _run(ws, legacy=False)


async def legacy_tail(ws: WebSocket) -> None:
    await _run(ws, legacy=True)
