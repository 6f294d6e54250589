"""The query clients: `LogfireClient` (sync) and `AsyncLogfireClient`, drop-in for the logfire SDK's
`LogfireQueryClient` / `AsyncLogfireQueryClient` (swap the import; the arguments are the same).

```python
from logfire_notebook import LogfireClient

with LogfireClient() as client:                      # token from LOGFIRE_READ_TOKEN or .logfire/read_token.json
    df = client.query_polars("SELECT * FROM records WHERE level >= 'error'", since="1h")
    table = client.query_arrow("SELECT count(*) FROM records", min_timestamp="now-2d", max_timestamp="now-1d")
    everything = client.query_all("SELECT * FROM records", since="7d")   # pages past 10,000 rows
```

- Queries are `POST /v2/query`; Arrow results come as an IPC stream, read straight into a `pyarrow.Table`.
- Times: `min_timestamp` / `max_timestamp` (or `since` / `until`, or `time_range=TimeRange`) take anything
  `TimeRange` reads: `"15m"`, `"now-2h"`, ISO strings, dates, datetimes. The API needs a start: without one
  the client uses `default_since` (`"1d"`, the last day); the logfire SDK instead makes `min_timestamp`
  required, so code written for it always passes one and behaves the same here.
- `client.last_query` describes the latest result (`QueryInfo`: rows, whether the row limit was hit, the time
  window sent, seconds taken). With concurrent queries on one client it is whichever finished last.
- 429 and 5xx answers, and connections dropped before an answer, are retried with exponential backoff that
  honours `Retry-After`, at most `max_retries` times and `max_retry_seconds` of waiting in total.
- Ctrl-C / a kernel interrupt during a sync query raises KeyboardInterrupt at once; the connection under the
  request is closed (so the server stops the query) and the client stays usable. Cancelling an async query
  closes its connection the same way.
- The read token is in no repr, message, log line or traceback (httpx masks the header; `Secret` masks the
  token's own repr, even in tracebacks that print local variables).
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from logfire_notebook import __version__
from logfire_notebook._closing import SYNC_ONLY, ClosesAsyncClient, ClosesSyncClient
from logfire_notebook._config import mask_token, resolve_config, secret
from logfire_notebook._exceptions import (
    QueryError,
    TimeRangeError,
)
from logfire_notebook._polars import without_views
from logfire_notebook._responses import (
    ARROW,
    JSON,
    PROBLEM_JSON,
    json_body,
    read_arrow,
    rows_result,
    status_error,
)
from logfire_notebook._timerange import TimeInput, TimeRange, parse_bound
from logfire_notebook._transport import RetryPolicy, asend, send

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._paging import PageProgress

__all__ = ["AsyncLogfireClient", "LogfireClient", "QueryInfo"]

logger = logging.getLogger("logfire_notebook")

CSV = "text/csv"
_USER_AGENT = f"logfire-notebook/{__version__}"
SERVER_DEFAULT_LIMIT = 100  # what /v2/query returns without a `limit`


@dataclass(frozen=True)
class QueryInfo:
    """What the latest query returned."""

    sql: str
    min_timestamp: datetime
    max_timestamp: datetime | None
    limit: int | None
    rows: int
    seconds: float

    @property
    def hit_limit(self) -> bool:
        """True when the result has as many rows as the row limit allowed, so more rows may exist."""
        return self.rows >= (self.limit if self.limit is not None else SERVER_DEFAULT_LIMIT)


def _import_uninterrupted(*modules: str) -> None:
    """Import heavy modules with Ctrl-C held back until the import is done.

    An import cut short by KeyboardInterrupt leaves a half-initialised module behind (polars then crashes on
    every later use in that kernel), so the interrupt is delivered right after the import instead.
    """
    missing = [name for name in modules if name not in sys.modules]
    if not missing:
        return
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGINT) is None:
        # Signals reach only the main thread; a handler installed outside Python cannot be put back.
        for name in missing:
            importlib.import_module(name)
        return
    held: list[tuple[int, Any]] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: held.append((signum, frame)))
    try:
        for name in missing:
            importlib.import_module(name)
    finally:
        signal.signal(signal.SIGINT, previous)
    if held and callable(previous):
        previous(*held[0])


def _time_range(
    min_timestamp: TimeInput | None,
    max_timestamp: TimeInput | None,
    since: TimeInput | None,
    until: TimeInput | None,
    time_range: TimeRange | None,
    default_since: TimeInput,
) -> TimeRange:
    """The one TimeRange the arguments describe; conflicting ways of saying it are an error."""
    if min_timestamp is not None and since is not None:
        raise TimeRangeError("Give the start as min_timestamp or since, not both.")
    if max_timestamp is not None and until is not None:
        raise TimeRangeError("Give the end as max_timestamp or until, not both.")
    start = min_timestamp if min_timestamp is not None else since
    end = max_timestamp if max_timestamp is not None else until
    if time_range is not None:
        if start is not None or end is not None:
            raise TimeRangeError("Give time_range or min_timestamp/max_timestamp (since/until), not both.")
        return TimeRange.parse(time_range)
    if start is None:
        return _default_window(default_since, end)
    return TimeRange.parse(start, end)


def _default_window(default_since: TimeInput, end: TimeInput | None) -> TimeRange:
    """No start given: `default_since` before the end (before now when there is no end either)."""
    width = parse_bound(default_since)
    if end is None or not isinstance(width, timedelta):
        return TimeRange.parse(default_since, end)
    until = parse_bound(end)
    return TimeRange(until + width if isinstance(until, timedelta) else until - width, until)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).isoformat()


class _BaseClient:
    """Everything except the I/O: configuration, request bodies, retry policy, answers to errors."""

    def __init__(
        self,
        read_token: str | None,
        base_url: str | None,
        *,
        timeout: float | httpx.Timeout | None,
        default_since: TimeInput,
        max_retries: int,
        max_retry_seconds: float,
    ) -> None:
        read_token = secret(read_token)  # masked repr from here on, even in tracebacks that print locals
        config = resolve_config(read_token, base_url)
        self.base_url = config.base_url
        self._token = config.read_token
        self._masked = mask_token(config.read_token)
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.default_since = default_since
        self.max_retries = max_retries
        self.max_retry_seconds = max_retry_seconds
        self.last_query: QueryInfo | None = None

    def __repr__(self) -> str:
        # getattr: the repr is also shown for a client whose __init__ failed (in tracebacks with locals).
        masked, base_url = getattr(self, "_masked", None), getattr(self, "base_url", None)
        return f"{type(self).__name__}(read_token={masked!r}, base_url={base_url!r})"

    def _client_kwargs(self, httpx_kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(httpx_kwargs.pop("headers", None) or {})
        headers.setdefault("user-agent", _USER_AGENT)
        # `Authorization: <token>` as the logfire SDK sends it. httpx shows it as '[secure]' in every repr.
        headers["authorization"] = self._token
        return {
            "base_url": self.base_url,
            "timeout": self.timeout,
            "headers": headers,
            **httpx_kwargs,
        }

    def _query_request(
        self,
        accept: str,
        sql: str,
        window: TimeRange,
        limit: int | None,
        timezone_: str | None,
        environment: str | Sequence[str] | None,
    ) -> tuple[dict[str, Any], datetime, datetime | None]:
        start, end = window.resolve()
        body: dict[str, Any] = {
            "sql": sql,
            "min_timestamp": _iso(start),
            "explain": False,
            "include_schema": True,
        }
        if end is not None:
            body["max_timestamp"] = _iso(end)
        if limit is not None:
            body["limit"] = limit
        if timezone_ is not None:
            body["timezone"] = timezone_
        if environment is not None:
            body["deployment_environment"] = (
                [environment] if isinstance(environment, str) else list(environment)
            )
        return body, start, end

    def _record(
        self, sql: str, start: datetime, end: datetime | None, limit: int | None, rows: int, t0: float
    ) -> None:
        self.last_query = QueryInfo(sql, start, end, limit, rows, time.perf_counter() - t0)
        logger.debug("query returned %d rows in %.3f s from %s", rows, self.last_query.seconds, self.base_url)


class LogfireClient(ClosesSyncClient, _BaseClient):
    """A synchronous client for Logfire's query API (or the local backend).

    `LogfireClient(read_token=None, base_url=None, timeout=30.0, *, default_since="1d", max_retries=3,
    max_retry_seconds=30.0, **httpx_kwargs)`: `timeout` is in seconds (or an `httpx.Timeout`), positional as in
    the SDK; other keyword arguments go to `httpx.Client` (e.g. `transport=`, `verify=`, `proxy=`).
    """

    def __init__(
        self,
        read_token: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        *,
        default_since: TimeInput = "1d",
        max_retries: int = 3,
        max_retry_seconds: float = 30.0,
        **httpx_kwargs: Any,
    ) -> None:
        read_token = secret(read_token)
        super().__init__(
            read_token,
            base_url,
            timeout=timeout,
            default_since=default_since,
            max_retries=max_retries,
            max_retry_seconds=max_retry_seconds,
        )
        self._httpx_kwargs = dict(httpx_kwargs)  # kept for `_async_twin`
        self.client = httpx.Client(**self._client_kwargs(httpx_kwargs))

    def _async_twin(self) -> AsyncLogfireClient | None:
        """An AsyncLogfireClient with this client's configuration (token included, so it never has to leave
        the client objects), or None when that cannot be copied: a subclass with its own query_arrow, or
        httpx options that are synchronous objects (a transport, mounts, event hooks)."""
        if type(self).query_arrow is not LogfireClient.query_arrow or SYNC_ONLY & self._httpx_kwargs.keys():
            return None
        return AsyncLogfireClient(
            self._token,
            self.base_url,
            self.timeout,
            default_since=self.default_since,
            max_retries=self.max_retries,
            max_retry_seconds=self.max_retry_seconds,
            **self._httpx_kwargs,
        )

    # -- transport ---------------------------------------------------------------------------------------

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request with retries; every failure becomes a LogfireError without the token in it."""
        policy = RetryPolicy(self.max_retries, self.max_retry_seconds)
        return send(
            self.client, policy, status_error, method, path, base_url=self.base_url, sleep=_sleep, **kwargs
        )

    def _query(
        self,
        accept: str,
        sql: str,
        window: TimeRange,
        limit: int | None,
        timezone: str | None,
        environment: str | Sequence[str] | None,
    ) -> tuple[httpx.Response, datetime, datetime | None]:
        body, start, end = self._query_request(accept, sql, window, limit, timezone, environment)
        response = self._send(
            "POST", "/v2/query", json=body, headers={"accept": f"{accept}, {PROBLEM_JSON};q=0.9"}
        )
        return response, start, end

    # -- public API --------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        """About the read token: `organization_name`, `project_name`, ids (`GET /v1/read-token-info`)."""
        return json_body(self._send("GET", "/v1/read-token-info"))  # type: ignore[no-any-return]

    def schemas(self) -> dict[str, Any]:
        """The tables and their columns (`GET /v1/schemas`)."""
        return json_body(self._send("GET", "/v1/schemas"))  # type: ignore[no-any-return]

    def query_arrow(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> pa.Table:
        """Run `sql` and return a `pyarrow.Table` (read from the Arrow IPC stream)."""
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        return without_views(self._arrow(sql, window, limit, timezone, environment))

    def _arrow(
        self,
        sql: str,
        window: TimeRange,
        limit: int | None,
        timezone: str | None,
        environment: str | Sequence[str] | None,
    ) -> pa.Table:
        """The answer as sent (Polars reads string views natively, so only query_arrow removes them)."""
        t0 = time.perf_counter()
        _import_uninterrupted("pyarrow")
        response, start, end = self._query(ARROW, sql, window, limit, timezone, environment)
        table = read_arrow(response)
        self._record(sql, start, end, limit, table.num_rows, t0)
        return table

    def query_polars(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        json_columns: Sequence[str] = (),
    ) -> pl.DataFrame:
        """Run `sql` and return a `polars.DataFrame`; `json_columns=("attributes",)` decodes JSON text to structs."""
        _import_uninterrupted("pyarrow", "polars")
        from logfire_notebook._polars import arrow_to_polars

        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        table = self._arrow(sql, window, limit, timezone, environment)
        return arrow_to_polars(table, json_columns)

    def query_json_rows(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> dict[str, Any]:
        """Run `sql` and return `{"columns": [{"name", "datatype", "nullable"}], "rows": [{...}]}` as the SDK does."""
        t0 = time.perf_counter()
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        response, start, end = self._query(JSON, sql, window, limit, timezone, environment)
        result = rows_result(json_body(response))
        self._record(sql, start, end, limit, len(result["rows"]), t0)
        return result

    def query_csv(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> str:
        """Run `sql` and return the CSV text (header row first)."""
        t0 = time.perf_counter()
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        response, start, end = self._query(CSV, sql, window, limit, timezone, environment)
        text = response.text
        self._record(sql, start, end, limit, max(0, text.count("\n") - 1), t0)
        return text

    def iter_batches(
        self,
        sql: str,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        environment: str | Sequence[str] | None = None,
        page_size: int | None = None,
        progress: Callable[[PageProgress], None] | None = None,
    ) -> Iterator[pa.Table]:
        """Pages of up to 10,000 rows, in (start_timestamp, trace_id, span_id) order, covering the whole window.

        `sql` must select `start_timestamp`, `trace_id` and `span_id` (e.g. `SELECT * FROM records WHERE ...`);
        it must not have its own ORDER BY or LIMIT, which paging replaces.
        """
        from logfire_notebook._paging import KeysetPager, explain_page_error

        window = _time_range(None, None, since, until, time_range, self.default_since)
        pager = KeysetPager(sql, window, page_size=page_size)
        while not pager.done:
            try:
                page = self.query_arrow(
                    pager.page_sql(), pager.start, pager.end, limit=pager.page_size, environment=environment
                )
            except QueryError as exc:
                raise explain_page_error(exc) from None
            pager.advance(page)
            if progress is not None:
                progress(pager.progress())
            if page.num_rows or pager.pages == 1:  # an empty first page still carries the schema
                yield page

    def query_all(
        self,
        sql: str,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        environment: str | Sequence[str] | None = None,
        json_columns: Sequence[str] = (),
        page_size: int | None = None,
        progress: Callable[[PageProgress], None] | bool | None = None,
    ) -> pl.DataFrame:
        """Every row of `sql` in the window, paging past the 10,000-row cap (see `iter_batches`).

        `progress`: a callable receiving `PageProgress` after each page; `None` shows a progress bar in a
        notebook (nothing elsewhere); `False` shows nothing.
        """
        _import_uninterrupted("pyarrow", "polars")
        from logfire_notebook._paging import concat_pages
        from logfire_notebook._progress import progress_reporter

        with progress_reporter(progress) as report:
            pages = list(
                self.iter_batches(
                    sql,
                    since=since,
                    until=until,
                    time_range=time_range,
                    environment=environment,
                    page_size=page_size,
                    progress=report,
                )
            )
        return concat_pages(pages, json_columns)


class AsyncLogfireClient(ClosesAsyncClient, _BaseClient):
    """The asyncio twin of `LogfireClient`: the same methods, awaited (`iter_batches` is an async iterator)."""

    def __init__(
        self,
        read_token: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        *,
        default_since: TimeInput = "1d",
        max_retries: int = 3,
        max_retry_seconds: float = 30.0,
        **httpx_kwargs: Any,
    ) -> None:
        read_token = secret(read_token)
        super().__init__(
            read_token,
            base_url,
            timeout=timeout,
            default_since=default_since,
            max_retries=max_retries,
            max_retry_seconds=max_retry_seconds,
        )
        self.client = httpx.AsyncClient(**self._client_kwargs(httpx_kwargs))

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        policy = RetryPolicy(self.max_retries, self.max_retry_seconds)
        return await asend(
            self.client,
            policy,
            status_error,
            method,
            path,
            base_url=self.base_url,
            sleep=_async_sleep,
            **kwargs,
        )

    async def _query(
        self,
        accept: str,
        sql: str,
        window: TimeRange,
        limit: int | None,
        timezone: str | None,
        environment: str | Sequence[str] | None,
    ) -> tuple[httpx.Response, datetime, datetime | None]:
        body, start, end = self._query_request(accept, sql, window, limit, timezone, environment)
        response = await self._send(
            "POST", "/v2/query", json=body, headers={"accept": f"{accept}, {PROBLEM_JSON};q=0.9"}
        )
        return response, start, end

    async def info(self) -> dict[str, Any]:
        """About the read token: `organization_name`, `project_name`, ids (`GET /v1/read-token-info`)."""
        return json_body(await self._send("GET", "/v1/read-token-info"))  # type: ignore[no-any-return]

    async def schemas(self) -> dict[str, Any]:
        """The tables and their columns (`GET /v1/schemas`)."""
        return json_body(await self._send("GET", "/v1/schemas"))  # type: ignore[no-any-return]

    async def query_arrow(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> pa.Table:
        """Run `sql` and return a `pyarrow.Table` (read from the Arrow IPC stream)."""
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        return without_views(await self._arrow(sql, window, limit, timezone, environment))

    async def _arrow(
        self,
        sql: str,
        window: TimeRange,
        limit: int | None,
        timezone: str | None,
        environment: str | Sequence[str] | None,
    ) -> pa.Table:
        """The answer as sent (Polars reads string views natively, so only query_arrow removes them)."""
        t0 = time.perf_counter()
        _import_uninterrupted("pyarrow")
        response, start, end = await self._query(ARROW, sql, window, limit, timezone, environment)
        table = read_arrow(response)
        self._record(sql, start, end, limit, table.num_rows, t0)
        return table

    async def query_polars(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        json_columns: Sequence[str] = (),
    ) -> pl.DataFrame:
        """Run `sql` and return a `polars.DataFrame`; `json_columns=("attributes",)` decodes JSON text to structs."""
        _import_uninterrupted("pyarrow", "polars")
        from logfire_notebook._polars import arrow_to_polars

        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        table = await self._arrow(sql, window, limit, timezone, environment)
        return arrow_to_polars(table, json_columns)

    async def query_json_rows(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> dict[str, Any]:
        """Run `sql` and return `{"columns": [...], "rows": [{...}]}` as the SDK does."""
        t0 = time.perf_counter()
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        response, start, end = await self._query(JSON, sql, window, limit, timezone, environment)
        result = rows_result(json_body(response))
        self._record(sql, start, end, limit, len(result["rows"]), t0)
        return result

    async def query_csv(
        self,
        sql: str,
        min_timestamp: TimeInput | None = None,
        max_timestamp: TimeInput | None = None,
        limit: int | None = None,
        timezone: str | None = None,
        environment: str | Sequence[str] | None = None,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
    ) -> str:
        """Run `sql` and return the CSV text (header row first)."""
        t0 = time.perf_counter()
        window = _time_range(min_timestamp, max_timestamp, since, until, time_range, self.default_since)
        response, start, end = await self._query(CSV, sql, window, limit, timezone, environment)
        text = response.text
        self._record(sql, start, end, limit, max(0, text.count("\n") - 1), t0)
        return text

    async def iter_batches(
        self,
        sql: str,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        environment: str | Sequence[str] | None = None,
        page_size: int | None = None,
        progress: Callable[[PageProgress], None] | None = None,
    ) -> AsyncIterator[pa.Table]:
        """Pages of up to 10,000 rows covering the whole window (see `LogfireClient.iter_batches`)."""
        from logfire_notebook._paging import KeysetPager, explain_page_error

        window = _time_range(None, None, since, until, time_range, self.default_since)
        pager = KeysetPager(sql, window, page_size=page_size)
        while not pager.done:
            try:
                page = await self.query_arrow(
                    pager.page_sql(), pager.start, pager.end, limit=pager.page_size, environment=environment
                )
            except QueryError as exc:
                raise explain_page_error(exc) from None
            pager.advance(page)
            if progress is not None:
                progress(pager.progress())
            if page.num_rows or pager.pages == 1:  # an empty first page still carries the schema
                yield page

    async def query_all(
        self,
        sql: str,
        *,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        time_range: TimeRange | None = None,
        environment: str | Sequence[str] | None = None,
        json_columns: Sequence[str] = (),
        page_size: int | None = None,
        progress: Callable[[PageProgress], None] | bool | None = None,
    ) -> pl.DataFrame:
        """Every row of `sql` in the window, paging past the 10,000-row cap (see `LogfireClient.query_all`)."""
        _import_uninterrupted("pyarrow", "polars")
        from logfire_notebook._paging import concat_pages
        from logfire_notebook._progress import progress_reporter

        with progress_reporter(progress) as report:
            pages = [
                page
                async for page in self.iter_batches(
                    sql,
                    since=since,
                    until=until,
                    time_range=time_range,
                    environment=environment,
                    page_size=page_size,
                    progress=report,
                )
            ]
        return concat_pages(pages, json_columns)


def _sleep(delay: float) -> None:
    time.sleep(delay)


async def _async_sleep(delay: float) -> None:
    import asyncio  # here, not at the top: sync users need not pay for importing asyncio

    await asyncio.sleep(delay)
