"""`/loki/api/v1/tail` and `/api/prom/tail`: a WebSocket that first sends the entries since `start`, then
every new entry that matches, about once a second, in Loki's frames (`streams` + `dropped_entries`)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket, WebSocketDisconnect

from logfire_notebook.server.loki import answers
from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.params import DEFAULT_LIMIT, ParamError, tenant
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
from logfire_notebook.server.loki.times import TimeError, now_ns, parse_time

__all__ = ["legacy_tail", "tail"]

POLL_SECONDS = 1.0
HOUR_NS = 3600 * 1_000_000_000
# Loki closes a tail with this code and the message when the request is bad (a policy violation).
_BAD_REQUEST = 1008


def _frame(entries: list[Selected], *, legacy: bool, categorize: bool) -> dict[str, Any]:
    if legacy:
        return {"streams": answers.legacy_streams(entries, forward=True), "dropped_entries": None}
    frame: dict[str, Any] = {
        "streams": answers.streams(entries, forward=True, categorize=categorize),
        "dropped_entries": None,
    }
    if categorize:
        frame["encodingFlags"] = [answers.CATEGORIZE]
    return frame


async def _run(ws: WebSocket, *, legacy: bool) -> None:
    await ws.accept()
    params = ws.query_params
    try:
        org = tenant(ws.headers.get("x-scope-orgid"))
        expr = parse(params.get("query") or "")
        if not isinstance(expr, s.LogQuery):
            raise ParamError("tail needs a log query, not a metric query")
        start = parse_time(params.get("start"), now_ns() - HOUR_NS, "start")
        text = params.get("limit")
        limit = int(text) if text and text.isdigit() and int(text) > 0 else DEFAULT_LIMIT
    except (ParamError, LogQLSyntaxError, TimeError) as exc:
        await ws.close(code=_BAD_REQUEST, reason=str(exc)[:120])
        return
    categorize = answers.CATEGORIZE in ws.headers.get("x-loki-response-encoding-flags", "")
    loki: LokiStore = ws.app.state.loki
    mark = await run_in_threadpool(max_rowid, loki)
    first = await run_in_threadpool(
        select_logs, loki, org, expr, start, now_ns() + 1, limit, True, QueryStats(), Deadline(30)
    )
    if first:
        await ws.send_text(answers.dumps(_frame(first, legacy=legacy, categorize=categorize)).decode())
    receiver = asyncio.ensure_future(ws.receive())
    try:
        while True:
            done, _ = await asyncio.wait({receiver}, timeout=POLL_SECONDS)
            if done:
                message = receiver.result()
                if message.get("type") == "websocket.disconnect":
                    return
                receiver = asyncio.ensure_future(ws.receive())
            entries, mark = await run_in_threadpool(select_appended, loki, org, expr, mark, limit)
            if entries:
                await ws.send_text(
                    answers.dumps(_frame(entries, legacy=legacy, categorize=categorize)).decode()
                )
    except (WebSocketDisconnect, RuntimeError):
        return
    finally:
        receiver.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await receiver


async def tail(ws: WebSocket) -> None:
    await _run(ws, legacy=False)


async def legacy_tail(ws: WebSocket) -> None:
    await _run(ws, legacy=True)
