"""Loki's HTTP API on the local backend: push, queries, labels, series, index stats and volume, `/ready`,
and the older `/api/prom/*` forms. Errors are Loki's: `text/plain`, the message as the body.

Like Loki with auth disabled, no token is asked; `X-Scope-OrgID` names the tenant (`fake` without it).
Work on DuckDB runs in Starlette's thread pool, so the event loop stays free for other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import ClientDisconnect, Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute

from logfire_notebook.server.bodies import BodyTooLarge, read_body
from logfire_notebook.server.engine import MAX_ANSWER_BYTES
from logfire_notebook.server.loki import answers, parquet, service
from logfire_notebook.server.loki.levels import add_detected_levels
from logfire_notebook.server.loki.params import (
    ParamError,
    default_step,
    limit,
    parse_step,
    positive_int,
    range_params,
    start_end,
    tenant,
)
from logfire_notebook.server.loki.push import PushError, decode_push
from logfire_notebook.server.loki.select import (
    Deadline,
    LokiCancelled,
    LokiEvalError,
    LokiQueryError,
    LokiTimeout,
)
from logfire_notebook.server.loki.storage import LokiStore, PushStream
from logfire_notebook.server.loki.times import TimeError, now_ns, parse_time

__all__ = ["loki_routes"]

MAX_FORM_BYTES = 1024 * 1024
"""A query sent as a form body (POST) is a query string; past this it is not one."""

JSON = "application/json; charset=utf-8"
Handler = Callable[[Request], Awaitable[Response]]


def _text(status: int, message: str) -> Response:
    return PlainTextResponse(message, status_code=status, media_type="text/plain; charset=utf-8")


def _json(body: Any) -> Response:
    data = answers.dumps(body)
    if len(data) > MAX_ANSWER_BYTES:
        # 5,000 lines of a megabyte each: past this the send itself ran out of memory and cut the answer
        # off without a word. The SQL API's answers have the same cap.
        return _text(
            400,
            f"the answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB; narrow the query: a lower limit, a "
            "shorter range or a more selective filter",
        )
    return Response(data, media_type=JSON)


def _loki(request: Request) -> LokiStore:
    loki: LokiStore = request.app.state.loki
    return loki


def loki_errors(handler: Handler) -> Handler:
    """Answers Loki's errors as Loki does: 400 for a bad query or parameter, 500 for a query its engine
    refuses while evaluating it (a vector match that is not one-to-one), 504 for a time-out."""

    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except (ParamError, LokiQueryError, PushError, TimeError) as exc:
            return _text(400, str(exc))
        except LokiEvalError as exc:
            return _text(500, str(exc))
        except LokiTimeout as exc:
            return _text(504, str(exc))
        except BodyTooLarge as exc:
            return _text(413, str(exc))
        except RecursionError:
            return _text(400, "the query nests too deeply to run; simplify it")
        except ClientDisconnect:
            return Response(status_code=499)  # the client left mid-body; nobody reads this
        except Exception:
            # A bug of the server, not the client's mistake: one sentence out, the traceback in the log (and
            # the connection stays usable, which an exception left to Starlette would not).
            traceback.print_exc()
            return _text(
                500, "the local backend failed on this request (a bug of the server); its log has the details"
            )

    return wrapper


async def _params(request: Request) -> Any:
    """Query parameters, merged with a form body for POST (Loki takes both)."""
    if request.method == "POST":
        body = await read_body(request, MAX_FORM_BYTES)
        try:
            form = QueryParams(body.decode())
        except UnicodeDecodeError:
            raise ParamError("the form body is not UTF-8; send the parameters url-encoded") from None
        return QueryParams(list(request.query_params.multi_items()) + list(form.multi_items()))
    return request.query_params


def _categorize(request: Request) -> bool:
    flags = request.headers.get("x-loki-response-encoding-flags", "")
    return answers.CATEGORIZE in [f.strip() for f in flags.split(",")]


async def _cancellable(request: Request, work: Callable[[Deadline], dict[str, Any]]) -> dict[str, Any]:
    """Runs a query in the thread pool under the server's time limit; stops it if the client goes away."""
    engine = getattr(request.app.state, "engine", None)
    deadline = Deadline(engine.query_timeout if engine is not None else service.QUERY_TIMEOUT)
    task = asyncio.ensure_future(run_in_threadpool(work, deadline))
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            deadline.cancel()
            with contextlib.suppress(LokiCancelled):
                return await task
            return {}


# ---- push ----


async def _push(request: Request, *, legacy: bool) -> Response:
    body = await read_body(request)
    org = tenant(request.headers.get("x-scope-orgid"))
    streams = await run_in_threadpool(
        decode_push,
        body,
        request.headers.get("content-type"),
        request.headers.get("content-encoding"),
        legacy=legacy,
    )
    import duckdb

    try:
        await run_in_threadpool(_store_pushed, _loki(request), org, streams)
    except duckdb.Error as exc:
        # Not the client's mistake (the engine ran out of memory, say) and nothing of it was stored: a 503,
        # which Loki clients retry.
        first_line = str(exc).strip().split("\n", 1)[0]
        return _text(503, f"the store could not take this push ({first_line}); nothing was stored, retry it")
    return Response(status_code=204)


def _store_pushed(loki: LokiStore, org: str, streams: list[PushStream]) -> None:
    add_detected_levels(streams)  # Loki 3's discover_log_levels, on by default
    loki.append(org, streams)


@loki_errors
async def push(request: Request) -> Response:
    return await _push(request, legacy=False)


@loki_errors
async def legacy_push(request: Request) -> Response:
    return await _push(request, legacy=True)


# ---- queries ----


@loki_errors
async def query_range(request: Request) -> Response:
    params = await _params(request)
    org = tenant(request.headers.get("x-scope-orgid"))
    p = range_params(params)
    # Like Loki, only this exact Accept header asks for Parquet; its labels are folded (not categorized).
    as_parquet = request.headers.get("accept") == parquet.PARQUET
    categorize = _categorize(request) and not as_parquet
    answer = await _cancellable(
        request, lambda d: service.range_query(_loki(request), org, p, categorize=categorize, deadline=d)
    )
    if as_parquet and answer:
        body = await run_in_threadpool(parquet.encode, answer["data"])
        return Response(body, media_type=parquet.PARQUET)
    return _json(answer)


@loki_errors
async def query(request: Request) -> Response:
    params = await _params(request)
    org = tenant(request.headers.get("x-scope-orgid"))
    text = params.get("query")
    if not text:
        raise ParamError("query parameter is required: send the LogQL query as `query`")
    at = parse_time(params.get("time"), now_ns(), "time")
    limit(params)
    return _json(
        await _cancellable(
            request, lambda d: service.instant_query(_loki(request), org, text, at, deadline=d)
        )
    )


@loki_errors
async def labels(request: Request) -> Response:
    params = await _params(request)
    start, end = start_end(params)
    org = tenant(request.headers.get("x-scope-orgid"))
    body = await run_in_threadpool(service.label_names, _loki(request), org, start, end, params.get("query"))
    if request.url.path.startswith("/api/prom/"):
        return _json({"values": body.get("data", [])})
    return _json(body)


@loki_errors
async def label_values(request: Request) -> Response:
    params = await _params(request)
    start, end = start_end(params)
    org = tenant(request.headers.get("x-scope-orgid"))
    name = request.path_params["name"]
    body = await run_in_threadpool(
        service.label_values, _loki(request), org, name, start, end, params.get("query")
    )
    if request.url.path.startswith("/api/prom/"):
        return _json({"values": body.get("data", [])})
    return _json(body)


@loki_errors
async def series(request: Request) -> Response:
    params = await _params(request)
    start, end = start_end(params)
    org = tenant(request.headers.get("x-scope-orgid"))
    matches = params.getlist("match[]") or params.getlist("match")
    body = await run_in_threadpool(service.series, _loki(request), org, matches, start, end)
    return _json(body)


@loki_errors
async def index_stats(request: Request) -> Response:
    params = await _params(request)
    start, end = start_end(params)
    org = tenant(request.headers.get("x-scope-orgid"))
    query_text = params.get("query") or ""
    body = await _cancellable(
        request, lambda d: service.index_stats(_loki(request), org, query_text, start, end, deadline=d)
    )
    return _json(body)


async def _volume(request: Request, *, ranged: bool) -> Response:
    params = await _params(request)
    start, end = start_end(params)
    org = tenant(request.headers.get("x-scope-orgid"))
    targets = [t.strip() for t in (params.get("targetLabels") or "").split(",") if t.strip()]
    by_labels = (params.get("aggregateBy") or "series") == "labels"
    top = positive_int(params.get("limit")) or 100
    step = (parse_step(params.get("step")) or default_step(start, end)) if ranged else None
    query_text = params.get("query") or ""
    body = await _cancellable(
        request,
        lambda d: service.volume(
            _loki(request), org, query_text, start, end, top, targets, by_labels, step, deadline=d
        ),
    )
    return _json(body)


@loki_errors
async def volume(request: Request) -> Response:
    return await _volume(request, ranged=False)


@loki_errors
async def volume_range(request: Request) -> Response:
    return await _volume(request, ranged=True)


@loki_errors
async def legacy_query(request: Request) -> Response:
    params = await _params(request)
    org = tenant(request.headers.get("x-scope-orgid"))
    p = range_params(params)
    if params.get("regexp"):
        p.query = f"{p.query} |~ {answers.dumps(params['regexp']).decode()}"
    body = await _cancellable(
        request, lambda d: service.range_query(_loki(request), org, p, categorize=False, deadline=d)
    )
    if not body:
        return Response(status_code=499)  # the client is gone; nobody reads this
    data = body["data"]
    if data["resultType"] != "streams":
        return _json(data)
    from logfire_notebook.server.loki.select import Selected

    entries = [
        Selected(int(ts), line, group["stream"], group["stream"], None, None)
        for group in data["result"]
        for ts, line in group["values"]
    ]
    return _json({"streams": answers.legacy_streams(entries, forward=p.forward), "stats": data["stats"]})


async def ready(request: Request) -> Response:
    return _text(200, "ready")


def loki_routes() -> list[BaseRoute]:
    from logfire_notebook.server.loki.tail import legacy_tail, tail

    both = ["GET", "POST"]
    return [
        Route("/loki/api/v1/push", push, methods=["POST"]),
        Route("/api/prom/push", legacy_push, methods=["POST"]),
        Route("/loki/api/v1/query_range", query_range, methods=both),
        Route("/loki/api/v1/query", query, methods=both),
        Route("/loki/api/v1/labels", labels, methods=both),
        Route("/loki/api/v1/label", labels, methods=both),
        Route("/loki/api/v1/label/{name}/values", label_values, methods=both),
        Route("/loki/api/v1/series", series, methods=both),
        Route("/loki/api/v1/index/stats", index_stats, methods=both),
        Route("/loki/api/v1/index/volume", volume, methods=both),
        Route("/loki/api/v1/index/volume_range", volume_range, methods=both),
        Route("/api/prom/query", legacy_query, methods=both),
        Route("/api/prom/label", labels, methods=both),
        Route("/api/prom/label/{name}/values", label_values, methods=both),
        Route("/ready", ready, methods=["GET"]),
        WebSocketRoute("/loki/api/v1/tail", tail),
        WebSocketRoute("/api/prom/tail", legacy_tail),
    ]
