"""OTLP/HTTP ingest: `POST /v1/traces`, `/v1/logs`, `/v1/metrics` on the local backend.

Bodies are protobuf or JSON, optionally gzip-compressed, as the OTLP/HTTP spec describes. A request is
decoded and mapped completely before anything is stored, and stored in one transaction, so a malformed
request stores nothing and a 2xx answer means the data is committed (it survives SIGKILL right after).

Throughput: decoding and mapping (pure Python) run in worker processes, so the server's own GIL stays
free for queries and commits; concurrent requests share one DuckDB commit (`_GroupCommitter`).
`ingest()` does the whole path synchronously in the calling thread, for filling a `Store` from OTLP bytes.

Like an OpenTelemetry collector on loopback, ingest takes no token: the official SDK configured with
`send_to_logfire=False` and `OTEL_EXPORTER_OTLP_ENDPOINT` sends none.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import json
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from logfire_notebook.server.bodies import BodyTooLarge, read_body
from logfire_notebook.server.loki.otlp import append_log_records, otlp_tenant
from logfire_notebook.server.otlp_metrics import metrics_to_table
from logfire_notebook.server.otlp_records import logs_to_table, spans_to_table
from logfire_notebook.server.otlp_wire import SIGNALS, OTLPDecodeError, decode_request
from logfire_notebook.server.parent import when_parent_gone

if TYPE_CHECKING:
    import pyarrow as pa

    from logfire_notebook.server.store import Store

__all__ = ["ingest", "ingest_routes", "stop_workers"]

_PROTOBUF = "application/x-protobuf"
_INVALID_ARGUMENT = 3  # google.rpc.Code, used in the Status body of OTLP error responses

_MAPPERS: dict[str, Callable[[Any], pa.Table]] = {
    "traces": spans_to_table,
    "logs": logs_to_table,
    "metrics": metrics_to_table,
}


LOG_SIGNALS = frozenset({"logs", "traces"})
"""Signals whose `kind = 'log'` rows are Loki entries too: OTLP logs, and the logs Logfire's SDK sends as
spans (`logfire.info(...)` is a zero-length span of type `log`), so every log SQL shows is found by LogQL."""


def ingest(
    store: Store, signal: str, body: bytes, content_type: str | None, content_encoding: str | None
) -> int:
    """Decode, map and store one OTLP request; returns the number of rows stored.

    Raises `OTLPDecodeError` (nothing stored) when the body is not a valid request.
    """
    message = decode_request(signal, body, content_type, content_encoding)
    table = _MAPPERS[signal](message)
    if table.num_rows == 0:
        return 0
    stored = _committer(store, "metrics" if signal == "metrics" else "records").append(table)
    if signal in LOG_SIGNALS:
        append_log_records(store, "fake", table)  # the same logs, seen through Loki's API
    return stored


class _GroupCommitter:
    """Appends to one table of a store, committing concurrent requests together.

    Every commit waits for DuckDB to sync its log, and appends are serialized, so under concurrent
    senders most of a request's time would be spent queuing for its own commit. Instead, the request that
    finds no commit running becomes the leader: it commits every table queued so far in one append, then
    the next batch, while the others wait for theirs. Each caller returns only once its rows are committed.
    """

    def __init__(self, append: Callable[[pa.Table], int]) -> None:
        self._append = append
        self._lock = threading.Lock()
        self._queue: list[tuple[pa.Table, _Pending]] = []
        self._leading = False

    def append(self, table: pa.Table) -> int:
        pending = _Pending()
        with self._lock:
            self._queue.append((table, pending))
            lead = not self._leading
            self._leading = True
        if lead:
            self._lead()
        pending.done.wait()
        if pending.error is not None:
            raise pending.error
        return int(table.num_rows)

    def _lead(self) -> None:
        while True:
            with self._lock:
                batch, self._queue = self._queue, []
                if not batch:
                    self._leading = False
                    return
            self._commit(batch)

    def _commit(self, batch: list[tuple[pa.Table, _Pending]]) -> None:
        """Commits the batch in one append; if that fails, each request on its own, so one bad request
        never fails its neighbours."""
        import pyarrow as pa

        tables = [t for t, _ in batch]
        try:
            self._append(tables[0] if len(tables) == 1 else pa.concat_tables(tables))
        except BaseException as exc:  # every waiter must hear about a failed commit
            if len(batch) == 1:
                batch[0][1].error = exc
            else:
                for item in batch:
                    self._commit([item])
                return
        for _, pending in batch:
            pending.done.set()


class _Pending:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


_committers_lock = threading.Lock()


def _committer(store: Store, table: str) -> _GroupCommitter:
    # Kept on the store itself, so they live and die with it.
    with _committers_lock:
        committers: dict[str, _GroupCommitter] = store.__dict__.setdefault("_ingest_committers", {})
        if table not in committers:
            append = store.append_metrics if table == "metrics" else store.append_records
            committers[table] = _GroupCommitter(append)
        return committers[table]


# Decoding and mapping is pure Python and would hold the server's GIL against queries and DuckDB's own
# threads, so it runs in worker processes; the table comes back as an Arrow IPC stream.
_pool: concurrent.futures.ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _decode_to_ipc(signal: str, body: bytes, content_type: str | None, content_encoding: str | None) -> bytes:
    import pyarrow as pa

    table = _MAPPERS[signal](decode_request(signal, body, content_type, content_encoding))
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    result: bytes = sink.getvalue().to_pybytes()
    return result


def _exit_with_parent(parent: int) -> None:
    """Worker initializer: leave when the server is gone, even if it was SIGKILLed and could not say so."""
    when_parent_gone(parent, functools.partial(os._exit, 0))


def _worker_pool() -> concurrent.futures.ProcessPoolExecutor | None:
    global _pool
    with _pool_lock:
        if _pool is None and (os.cpu_count() or 1) > 1:
            # spawn, not fork: the server process has DuckDB's threads running.
            workers = max(1, min(4, os.cpu_count() or 2))
            _pool = concurrent.futures.ProcessPoolExecutor(
                workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
                initargs=(os.getpid(),),
            )
        return _pool


def stop_workers() -> None:
    """Ends the decode workers, at the server's shutdown. uvicorn ends the process by re-raising the stop signal
    once it has shut down, so no exit handler runs: without this, multiprocessing's tracker reported the pool's
    semaphores as leaked in the server's log."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


async def _decode(
    signal: str, body: bytes, content_type: str | None, content_encoding: str | None
) -> pa.Table:
    import pyarrow as pa

    global _pool
    pool = _worker_pool()
    if pool is not None:
        try:
            ipc = await asyncio.wrap_future(
                pool.submit(_decode_to_ipc, signal, body, content_type, content_encoding)
            )
            return pa.ipc.open_stream(ipc).read_all()
        except concurrent.futures.process.BrokenProcessPool:
            # A worker died (killed from outside): decode this one here, start a fresh pool next time.
            with _pool_lock:
                if _pool is pool:
                    _pool = None
            pool.shutdown(wait=False)
    message = await run_in_threadpool(decode_request, signal, body, content_type, content_encoding)
    table: pa.Table = await run_in_threadpool(_MAPPERS[signal], message)
    return table


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower() == "application/json"


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _status_response(status_code: int, message: str, json_body: bool) -> Response:
    """An OTLP error response: a google.rpc.Status with the message, encoded like the request."""
    if json_body:
        return Response(
            json.dumps({"code": _INVALID_ARGUMENT, "message": message}),
            status_code=status_code,
            media_type="application/json",
        )
    text = message.encode()
    # google.rpc.Status{code=1: int32, message=2: string}, hand-encoded: the proto is not shipped with
    # opentelemetry-proto and this is two fields.
    body = b"\x08" + _varint(_INVALID_ARGUMENT) + b"\x12" + _varint(len(text)) + text
    return Response(body, status_code=status_code, media_type=_PROTOBUF)


def _endpoint(signal: str, get_store: Callable[[Request], Store]) -> Callable[[Request], Any]:
    async def endpoint(request: Request) -> Response:
        content_type = request.headers.get("content-type")
        json_body = _is_json(content_type)
        store = get_store(request)
        try:
            body = await read_body(request)
            table = await _decode(signal, body, content_type, request.headers.get("content-encoding"))
        except BodyTooLarge as exc:
            return _status_response(413, str(exc), json_body)
        except OTLPDecodeError as exc:
            return _status_response(400, str(exc), json_body)
        if table.num_rows:
            # The DuckDB commit blocks; the event loop keeps answering queries meanwhile.
            committer = _committer(store, "metrics" if signal == "metrics" else "records")
            try:
                await run_in_threadpool(committer.append, table)
            except Exception as exc:
                return _store_failure(exc, json_body)
            if signal in LOG_SIGNALS:
                # The same logs as Loki entries, under the tenant a Loki client would name. The rows are
                # stored already: a failure here must not fail the request, which the sender would retry
                # and so store twice.
                try:
                    await run_in_threadpool(append_log_records, store, otlp_tenant(request.headers), table)
                except Exception as exc:
                    print(f"logfire-notebook: logs stored, but not as Loki entries: {exc}", file=sys.stderr)
        # An empty Export*ServiceResponse means full success.
        if json_body:
            return Response(b"{}", media_type="application/json")
        return Response(b"", media_type=_PROTOBUF)

    endpoint.__name__ = f"ingest_{signal}"
    return endpoint


def _store_failure(exc: Exception, json_body: bool) -> Response:
    """The answer when the store refused a request's rows: 400 if the values were the sender's mistake
    (DuckDB could not convert or fit them), else 500; either way nothing of the request was stored."""
    import duckdb

    detail = " ".join(str(exc).split())[:300]
    if isinstance(exc, (duckdb.ConversionException, duckdb.ConstraintException, duckdb.OutOfRangeException)):
        return _status_response(
            400, f"A value does not fit the store ({detail}); nothing was stored.", json_body
        )
    return _status_response(
        500, f"The store failed to save this request ({detail}); nothing was stored.", json_body
    )


def _app_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def ingest_routes(get_store: Callable[[Request], Store] = _app_store) -> list[Route]:
    """The three OTLP/HTTP routes; by default they use `request.app.state.store`."""
    return [Route(f"/v1/{signal}", _endpoint(signal, get_store), methods=["POST"]) for signal in SIGNALS]
