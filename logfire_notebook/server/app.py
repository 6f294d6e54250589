"""The local backend's HTTP API (Starlette): Logfire's query endpoints, read-token info and schemas.

`create_app(data_dir)` builds the app; `serve(...)` runs it with uvicorn. The open `Store` is on
`app.state.store` for other routes (OTLP ingest adds its routes to `routes()` below). DuckDB work runs in
Starlette's thread pool, so queries run alongside each other and alongside ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from logfire_notebook import _schema
from logfire_notebook.server import formats
from logfire_notebook.server.bodies import BodyTooLarge, read_body
from logfire_notebook.server.compression import GzipWhereItPays
from logfire_notebook.server.engine import (
    MAX_LIMIT,
    Engine,
    Interrupter,
    QueryError,
    QueryRequest,
    QueryResult,
    RequestError,
)
from logfire_notebook.server.env_seconds import seconds_from_env
from logfire_notebook.server.ingest import ingest_routes, stop_workers
from logfire_notebook.server.loki import LokiStore, loki_routes, warm_up_logql
from logfire_notebook.server.origin import LOOPBACK_NAMES, OriginGuard, allowed_hosts
from logfire_notebook.server.store import LOCAL_PROJECT_ID, Store
from logfire_notebook.server.tokens import TokenRegistry

__all__ = ["create_app", "routes", "serve"]

JSON = "application/json"
NDJSON = "application/x-ndjson"
ARROW = "application/vnd.apache.arrow.stream"
CSV = "text/csv"
V2_DEFAULT_LIMIT = 100
V1_DEFAULT_LIMIT = 500
LOCAL_ORGANIZATION_ID = "00000000-0000-4000-8000-0000000010ca"
MAX_QUERY_BODY_BYTES = 1024 * 1024
"""A query request is SQL and a few fields; a larger body is refused with 413."""

Handler = Callable[[Request], Awaitable[Response]]


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=status)


def authenticated(handler: Handler) -> Handler:
    """Answers 401 unless the request carries a known read token."""

    async def wrapper(request: Request) -> Response:
        entry = request.app.state.tokens.lookup(request.headers.get("authorization"))
        if entry is None:
            return _error(401, "Invalid token")
        request.state.token = entry
        return await handler(request)

    return wrapper


# ---- request parsing ----


def _timestamp(field: str, value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError(field, f"`{field}` must be an ISO 8601 timestamp string, got {value!r}.")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise RequestError(
            field, f"`{field}` is not an ISO 8601 timestamp: {value!r}; use e.g. '2024-01-01T00:00:00Z'."
        ) from None
    parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError:
        raise RequestError(
            field,
            f"`{field}` {value!r} is out of range once converted to UTC; use a year between 1 and 9999.",
        ) from None
    return parsed


def _limit(value: Any, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise RequestError("limit", f"`limit` must be a whole number, got {value!r}.") from None
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # 100.0 from a JSON encoder that writes every number as a float
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError("limit", f"`limit` must be a whole number, got {value!r}.")
    if not 1 <= value <= MAX_LIMIT:
        raise RequestError("limit", f"`limit` must be between 1 and {MAX_LIMIT}, got {value}.")
    return value


def _sql(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise RequestError("sql", "`sql` is required: send the SELECT query to run.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise RequestError(
            "sql", "`sql` holds a lone surrogate (invalid Unicode); send valid UTF-8 text."
        ) from None
    return value


def _environments(value: Any) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RequestError("deployment_environment", "`deployment_environment` must be a list of strings.")
    return list(value)


def _timezone(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RequestError("timezone", f"`timezone` must be a time zone name, got {value!r}.")
    return value


def _explain(value: Any) -> bool:
    if value is None:
        return False
    if not isinstance(value, bool):
        raise RequestError("explain", f"`explain` must be true or false, got {value!r}.")
    return value


def _media_type(request: Request, allowed: tuple[str, ...]) -> str:
    """The first media type of the Accept header we can produce; JSON when there is none or `*/*`."""
    accept = request.headers.get("accept", "").strip()
    if not accept:
        return JSON
    for part in accept.split(","):
        media = part.split(";", 1)[0].strip().lower()
        if media in allowed:
            return media
        if media in ("*/*", "application/*"):
            return JSON
    raise RequestError(
        "Accept", f"Cannot answer with {accept!r}; set the Accept header to one of: {', '.join(allowed)}."
    )


# ---- running a query ----


async def _execute(
    request: Request, query: QueryRequest, render: Callable[[QueryResult], Response]
) -> Response:
    """Runs the query and renders its answer in one trip to the thread pool; stops the query if the client
    goes away before it finishes."""
    engine: Engine = request.app.state.engine
    interrupter = Interrupter()

    def work() -> Response:
        return render(engine.run(query, interrupter))

    task = asyncio.ensure_future(run_in_threadpool(work))
    while True:
        done, _ = await asyncio.wait({task}, timeout=0.25)
        if done:
            return task.result()
        if await request.is_disconnected():
            interrupter.interrupt("was cancelled by the client")
            return await task


def _render(result: QueryResult, media: str, *, v1_rows: bool | None) -> Response:
    table = result.table
    if media == ARROW:
        return Response(formats.arrow_ipc(table), media_type=ARROW)
    if media == CSV:
        headers = (
            {"content-disposition": 'attachment; filename="query_results.csv"'} if v1_rows is not None else {}
        )
        return Response(formats.csv_text(table), media_type="text/csv; charset=utf-8", headers=headers)
    if media == NDJSON:
        return StreamingResponse(iter(list(formats.ndjson_lines(table, result.plans))), media_type=NDJSON)
    if v1_rows is None:
        body = formats.json_v2(table, result.plans)
    else:
        body = formats.json_v1_rows(table) if v1_rows else formats.json_v1_columns(table)
    return Response(body, media_type=JSON)


async def _answer(request: Request, build: Callable[[], tuple[QueryRequest, str, bool | None]]) -> Response:
    try:
        query, media, v1_rows = build()
        return await _execute(request, query, lambda result: _render(result, media, v1_rows=v1_rows))
    except RequestError as exc:
        return _error(422, str(exc))
    except QueryError as exc:
        return _error(400, str(exc))
    except MemoryError:
        # The process's memory cap (PROCESS_MEMORY_CAP) refused rendering this answer.
        return _error(
            503, "The local backend has no memory left for this answer right now; narrow the query or retry."
        )
    except Exception:
        # A bug of the server, not the client's mistake: one sentence out, the traceback in the server's log.
        traceback.print_exc()
        return _error(
            500, "The local backend failed on this query (a bug of the server); its log has the details."
        )


@authenticated
async def query_v2(request: Request) -> Response:
    try:
        body = json.loads(await read_body(request, MAX_QUERY_BODY_BYTES) or b"null")
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    except RecursionError:
        return _error(
            422, "The request body nests too deeply; send an object with `sql` and `min_timestamp`."
        )
    except ValueError:
        return _error(422, "The request body is not valid JSON; send an object with at least `sql`.")
    if not isinstance(body, dict):
        return _error(422, "The request body must be a JSON object with at least `sql` and `min_timestamp`.")

    def build() -> tuple[QueryRequest, str, bool | None]:
        media = _media_type(request, (JSON, NDJSON, ARROW, CSV))
        sql = _sql(body.get("sql"))
        if body.get("min_timestamp") in (None, ""):
            raise RequestError(
                "min_timestamp", "`min_timestamp` is required: the start of the time range to query."
            )
        query = QueryRequest(
            sql=sql,
            limit=_limit(body.get("limit"), V2_DEFAULT_LIMIT),
            min_timestamp=_timestamp("min_timestamp", body.get("min_timestamp")),
            max_timestamp=_timestamp("max_timestamp", body.get("max_timestamp")),
            timezone=_timezone(body.get("timezone")),
            environments=_environments(body.get("deployment_environment")),
            explain=_explain(body.get("explain")),
        )
        return query, media, None

    return await _answer(request, build)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@authenticated
async def query_v1(request: Request) -> Response:
    params = request.query_params

    def build() -> tuple[QueryRequest, str, bool | None]:
        media = _media_type(request, (JSON, ARROW, CSV, NDJSON))
        query = QueryRequest(
            sql=_sql(params.get("sql")),
            limit=_limit(params.get("limit"), V1_DEFAULT_LIMIT),
            min_timestamp=_timestamp("min_timestamp", params.get("min_timestamp")),
            max_timestamp=_timestamp("max_timestamp", params.get("max_timestamp")),
            timezone=_timezone(params.get("timezone")),
            environments=params.getlist("deployment_environment") or None,
        )
        return query, media, _flag(params.get("json_rows")) or _flag(params.get("row_oriented"))

    return await _answer(request, build)


@authenticated
async def read_token_info(request: Request) -> Response:
    token: dict[str, Any] = request.state.token
    return JSONResponse(
        {
            "token_id": token["token_id"],
            "organization_id": LOCAL_ORGANIZATION_ID,
            "organization_subscription_plan": "local",
            "project_id": LOCAL_PROJECT_ID,
            "organization_name": "local",
            "project_name": "local",
            "expires_at": None,
            "spending_cap_reached_at": None,
            "billing_cycle_start": None,
            "billing_cycle_end": None,
            "organization_analytics_enabled": False,
            "owner_user_id": None,
        }
    )


@authenticated
async def schemas(request: Request) -> Response:
    return JSONResponse(_schema.schemas_payload())


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


def routes() -> list[BaseRoute]:
    """Every route of the backend. Other parts add theirs here (one line each)."""
    return [
        Route("/health", health, methods=["GET"]),
        Route("/v2/query", query_v2, methods=["POST"]),
        Route("/v1/query", query_v1, methods=["GET"]),
        Route("/v1/read-token-info", read_token_info, methods=["GET"]),
        Route("/v1/schemas", schemas, methods=["GET"]),
        *ingest_routes(),
        *loki_routes(),
    ]


async def _client_gone(request: Request, exc: Exception) -> Response:
    # The client closed its connection before its body came in whole: nobody reads this answer, and it
    # is no server error (each such client used to leave a traceback in the log).
    return Response(status_code=499)


def create_app(
    data_dir: Path, query_timeout: float = 30.0, hosts: frozenset[str] | None = LOOPBACK_NAMES
) -> Starlette:
    """The app over `data_dir`; it answers only to the host names `hosts` (None: any) and its own origin."""
    store = Store(Path(data_dir))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        warm_up_logql()  # builds the LogQL parser in the background, so no user waits for it
        try:
            yield
        finally:
            stop_workers()
            store.close()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={ClientDisconnect: _client_gone},
        # The origin check first: a refused request costs nothing else.
        middleware=[Middleware(OriginGuard, hosts=hosts), Middleware(GzipWhereItPays)],
    )
    app.state.store = store
    app.state.loki = LokiStore.of(store)
    app.state.engine = Engine(store, query_timeout=query_timeout)
    app.state.tokens = TokenRegistry(Path(data_dir))
    return app


PROCESS_MEMORY_CAP = 4 * 1024**3
"""The least memory (Linux's data size: heap and private mappings) the server process may take; the cap is
this or half the machine's memory, whichever is more. One call of an engine function (`replace` of a 16 MB
string, say) can ask for gigabytes at once, before the memory watch can stop its query; past the cap the
allocation fails and the query is a 400, where without it the kernel's OOM killer ends the server.
The data size counts address space, not what is resident: 40 concurrent readers took ~2 GB of it for
~0.6 GB resident (thread stacks, malloc's arenas; ~4 GB with more arenas when this was first measured): the
cap must sit well above what ordinary use takes.
`LOGFIRE_NOTEBOOK_MEMORY_CAP` (e.g. `8GB`, `0` for none)."""

MALLOC_ARENAS = 2
"""glibc's malloc gives each thread an arena of its own, up to 8 per core, each holding on to what it once
used; with a thread per request they grew the data size by ~1 GB under 40 concurrent readers when first
measured (~2.8 GB with two arenas, resident ~40% lower). With today's dependencies a burst of 40 takes
2.1-2.3 GB with glibc's default and 1.9-2.0 GB with two (peak resident 680-775 vs 560-635 MB)."""


def _fewer_malloc_arenas() -> None:
    import ctypes

    m_arena_max = -8  # glibc's mallopt parameter number
    with contextlib.suppress(OSError, AttributeError):  # not glibc: its allocator has its own policy
        ctypes.CDLL(None).mallopt(m_arena_max, MALLOC_ARENAS)


def _default_memory_cap() -> int:
    import os

    try:
        machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        machine = 0
    return max(PROCESS_MEMORY_CAP, machine // 2)


def _engine_memory_beyond_default() -> int:
    """How far LOGFIRE_NOTEBOOK_MEMORY_LIMIT raises DuckDB's budget past its default: the cap grows with it,
    so a user who gives the engine more memory is not stopped by the cap instead."""
    import os

    from logfire_notebook.server.loki.units import parse_bytes
    from logfire_notebook.server.store import DEFAULT_MEMORY_LIMIT

    try:
        limit = parse_bytes(os.environ.get("LOGFIRE_NOTEBOOK_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT))
    except ValueError:  # a percentage, say: DuckDB reads it; the cap keeps its default
        return 0
    return max(0, int(limit - parse_bytes(DEFAULT_MEMORY_LIMIT)))


def _cap_memory() -> None:
    import os

    from logfire_notebook.server.loki.units import parse_bytes

    text = os.environ.get("LOGFIRE_NOTEBOOK_MEMORY_CAP", "")
    try:
        cap = (
            int(parse_bytes(text))
            if text.strip()
            else _default_memory_cap() + _engine_memory_beyond_default()
        )
    except ValueError:
        raise SystemExit(
            f"logfire-notebook: LOGFIRE_NOTEBOOK_MEMORY_CAP={text!r} is not a size; write e.g. 8GB, or 0 for none"
        ) from None
    try:
        import resource
    except ImportError:  # not on Windows
        return
    if cap > 0:
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        resource.setrlimit(
            resource.RLIMIT_DATA, (cap if hard == resource.RLIM_INFINITY else min(cap, hard), hard)
        )


STALLED_READER_SECONDS = 60
"""A client that reads nothing of an answer for this long is disconnected. Until then the server holds what it
could not send (up to an answer's 128 MiB and more as JSON), so ten clients that ask for big answers and never
read them would pin gigabytes for as long as they like. `LOGFIRE_NOTEBOOK_STALLED_READER_SECONDS` changes it."""


def _drop_stalled_readers(sock: Any) -> None:
    """Linux's TCP_USER_TIMEOUT on the listening socket (connections inherit it): the kernel ends a connection
    whose sent data stays unacknowledged, a peer that stopped reading included, after that long."""
    import socket

    option = getattr(socket, "TCP_USER_TIMEOUT", None)
    seconds = seconds_from_env("LOGFIRE_NOTEBOOK_STALLED_READER_SECONDS", STALLED_READER_SECONDS)
    if option is not None and seconds > 0:
        sock.setsockopt(socket.IPPROTO_TCP, option, int(seconds * 1000))


def serve(host: str, port: int, data_dir: Path, query_timeout: float = 30.0) -> None:
    """`logfire-notebook serve`: run the backend until interrupted."""
    import os

    import uvicorn

    from logfire_notebook.server.open_files import Server, raise_open_files_limit
    from logfire_notebook.server.stalled_senders import h11_protocol, stalled_sender_seconds

    _fewer_malloc_arenas()  # before any thread starts
    _cap_memory()
    raise_open_files_limit()
    seconds = stalled_sender_seconds()  # a mistake in it is told before anything starts
    # Everything the server creates (the database, its log, spill files) is for the user alone.
    os.umask(0o077)
    try:
        app = create_app(data_dir, query_timeout=query_timeout, hosts=allowed_hosts(host))
    except RuntimeError as exc:  # the data dir is in use or unreadable: say so, no traceback
        print(f"logfire-notebook: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(
        f"logfire-notebook: serving Logfire's query API, Loki's API and OTLP ingest on http://{host}:{port} "
        f"(data in {data_dir.resolve()})",
        flush=True,
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="on",
        # h11 even where httptools is installed (uvicorn's "auto" would take it): the limits follow h11's states.
        http=h11_protocol(seconds) if seconds > 0 else "auto",
    )
    server = Server(config)
    sock = config.bind_socket()
    _drop_stalled_readers(sock)
    server.run(sockets=[sock])
    if not server.started:
        raise SystemExit(1)
