"""`LokiClient` and `AsyncLokiClient`: Grafana Loki's HTTP API to Polars, configured like `logcli`.

```python
from logfire_notebook import LokiClient

with LokiClient() as loki:                      # LOKI_ADDR, LOKI_ORG_ID, LOKI_USERNAME/PASSWORD, LOKI_BEARER_TOKEN
    errors = loki.query_range('{service_name="checkout"} |= "error"', since="1h", limit=500)
    rate = loki.query_range('sum by (level) (count_over_time({service_name="checkout"}[1m]))', since="6h")
    everything = loki.query_all('{service_name="checkout"}', since="1d")        # pages past `limit`
    loki.labels(), loki.label_values("service_name"), loki.series('{service_name="checkout"}')
```

- Times take anything `TimeRange` reads (`"15m"`, `"now-2h"`, ISO text, datetimes); the default window is
  Loki's own, the last hour. They are sent as nanosecond integers.
- Results are Polars DataFrames built column by column from Arrow (see `decode`): log queries give
  `timestamp`, `line`, `labels`, `structured_metadata`, `parsed`, `level`; metric queries `timestamp`,
  `value`, `labels`. `labels` is a map column: `df.with_columns(pl.col("labels").map.get("job"))`.
- Errors are the package's types (`QueryError` keeps Loki's message and its line/column), retries and
  cancellation are as for Logfire (`_transport`): Ctrl-C during a sync call, or cancelling an awaited one,
  closes the connection, so Loki stops the query.
- Passwords and bearer tokens appear in no repr, message or log line.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Generator
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from logfire_notebook import __version__
from logfire_notebook._closing import SYNC_ONLY, ClosesAsyncClient, ClosesSyncClient
from logfire_notebook._exceptions import HTTPStatusError
from logfire_notebook._loki import ops
from logfire_notebook._loki.config import resolve_loki_config
from logfire_notebook._loki.errors import LokiRetryPolicy, loki_status_error, scrubber
from logfire_notebook._timerange import TimeInput, TimeRange
from logfire_notebook._transport import asend, send

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._loki.decode import LokiAnswer
    from logfire_notebook._loki.tail import LokiTail
    from logfire_notebook._paging import PageProgress

__all__ = ["AsyncLokiClient", "LokiClient"]

T = TypeVar("T")
DEFAULT_SINCE = "1h"  # Loki's own default window
DEFAULT_LIMIT = 100  # Loki's own default `limit`
Step = str | float | timedelta | None


def _range(since: TimeInput | None, until: TimeInput | None, time_range: TimeRange | None) -> TimeRange:
    if time_range is not None:
        return time_range
    return TimeRange.parse(since if since is not None else DEFAULT_SINCE, until)


def to_polars(table: pa.Table) -> pl.DataFrame:
    """A Polars DataFrame of a Loki table, zero-copy (nanosecond times kept: Polars holds them as they are)."""
    import polars as pl

    frame = pl.from_arrow(table, rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return frame


_frame = to_polars


class _LokiBase:
    """Configuration and everything that is not I/O."""

    def __init__(
        self,
        addr: str | None = None,
        *,
        org_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        bearer_token_file: str | os.PathLike[str] | None = None,
        timeout: float | httpx.Timeout | None = 30.0,
        max_retries: int = 3,
        max_retry_seconds: float = 30.0,
        parquet: bool = False,
        **httpx_kwargs: Any,
    ) -> None:
        self._config = resolve_loki_config(
            addr,
            org_id=org_id,
            username=username,
            password=password,
            bearer_token=bearer_token,
            bearer_token_file=bearer_token_file,
        )
        self.addr = self._config.addr
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout)
        self.policy = LokiRetryPolicy(max_retries, max_retry_seconds)
        self._state = ops.State(parquet=parquet)
        self._status_error = functools.partial(loki_status_error, scrub=scrubber(self._config.secrets()))
        self._httpx_kwargs = dict(httpx_kwargs)
        self._open(self._client_kwargs(httpx_kwargs))

    def _open(self, client_kwargs: dict[str, Any]) -> None:
        """Open `self.client`, an httpx.Client or an httpx.AsyncClient: the one thing the twins differ in."""
        raise NotImplementedError

    def __repr__(self) -> str:
        config = getattr(self, "_config", None)
        auth = "basic" if config and config.username else "bearer" if config and config.bearer_token else None
        org = config.org_id if config else None
        return f"{type(self).__name__}(addr={getattr(self, 'addr', None)!r}, org_id={org!r}, auth={auth!r})"

    def _client_kwargs(self, httpx_kwargs: dict[str, Any]) -> dict[str, Any]:
        headers = dict(httpx_kwargs.pop("headers", None) or {})
        headers.setdefault("user-agent", f"logfire-notebook/{__version__}")
        headers.update(self._config.headers())  # `authorization` is shown as '[secure]' in every httpx repr
        return {"base_url": self.addr, "timeout": self.timeout, "headers": headers, **httpx_kwargs}

    def tail(
        self,
        logql: str,
        *,
        start: datetime | int,
        seen: set[tuple[Any, ...]] | None = None,
        limit: int = DEFAULT_LIMIT,
    ) -> LokiTail:
        """Follows a log query on Loki's tail API from `start` (a datetime, or nanoseconds since the epoch;
        see `_loki.tail`), with this client's address and credentials; call it on the running event loop that
        will own the connection."""
        from logfire_notebook._loki.tail import LokiTail

        headers = {"user-agent": f"logfire-notebook/{__version__}", **self._config.headers()}
        if isinstance(start, datetime):
            start = int(start.timestamp()) * 1_000_000_000 + start.microsecond * 1_000
        start_ns = start
        return LokiTail(
            self.addr,
            headers,
            logql,
            start_ns=start_ns,
            seen=seen,
            limit=limit,
            scrub=scrubber(self._config.secrets()),
        )

    @property
    def legacy_api(self) -> bool:
        """True once the server turned out to have only the older `/api/prom/...` API."""
        return bool(self._state.legacy)


class LokiClient(ClosesSyncClient, _LokiBase):
    """A synchronous Loki client.

    `LokiClient(addr=None, *, org_id=None, username=None, password=None, bearer_token=None,
    bearer_token_file=None, timeout=30.0, max_retries=3, max_retry_seconds=30.0, parquet=False, **httpx_kwargs)`:
    unset arguments come from the LOKI_* environment variables as logcli reads them; other keyword arguments
    go to `httpx.Client`. `parquet=True` asks log queries as Parquet where the server offers it (Loki >= 3.4):
    quicker, but Loki's Parquet folds structured metadata and parsed labels into `labels`.
    """

    def _open(self, client_kwargs: dict[str, Any]) -> None:
        self.client = httpx.Client(**client_kwargs)

    def _async_twin(self) -> AsyncLokiClient | None:
        """An AsyncLokiClient with this configuration (credentials included, so they never leave the client
        objects), or None when httpx options are synchronous objects (a transport, mounts, event hooks)."""
        if SYNC_ONLY & self._httpx_kwargs.keys():
            return None
        config = self._config
        twin = AsyncLokiClient(
            self.addr,
            org_id=config.org_id,
            username=config.username,
            password=config.password,
            bearer_token=config.bearer_token,
            timeout=self.timeout,
            max_retries=self.policy.max_retries,
            max_retry_seconds=self.policy.max_retry_seconds,
            parquet=self._state.parquet,
            **self._httpx_kwargs,
        )
        twin._state.legacy = self._state.legacy
        return twin

    def _run(self, op: Generator[ops.Request, httpx.Response, T]) -> T:
        """Drives an operation (see `ops`) with blocking requests."""
        try:
            request = next(op)
            while True:
                try:
                    response = send(
                        self.client,
                        self.policy,
                        self._status_error,
                        "GET",
                        request.path,
                        base_url=self.addr,
                        params=request.params,
                        headers=request.headers,
                    )
                except HTTPStatusError as exc:
                    request = op.throw(exc)
                else:
                    request = op.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    # -- queries ---------------------------------------------------------------------------------------

    def query_range_answer(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> LokiAnswer:
        """The decoded answer: `.table` (Arrow), `.result_type`, `.warnings`, `.stats`."""
        window = _range(since, until, time_range)
        return self._run(ops.query_range(self._state, logql, window, limit, direction, step))

    def query_range_arrow(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> pa.Table:
        """`query_range` as a `pyarrow.Table`."""
        return self.query_range_answer(
            logql, since, until, limit=limit, direction=direction, step=step, time_range=time_range
        ).table

    def query_range(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> pl.DataFrame:
        """Run a log or metric query over a time range (`GET /loki/api/v1/query_range`)."""
        return _frame(
            self.query_range_arrow(
                logql, since, until, limit=limit, direction=direction, step=step, time_range=time_range
            )
        )

    def query(
        self,
        logql: str,
        time: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
    ) -> pl.DataFrame:
        """An instant metric query (`GET /loki/api/v1/query`): a vector (rows with labels) or a scalar."""
        at = _instant(time)
        return _frame(self._run(ops.instant_query(self._state, logql, at, limit, direction)).table)

    def query_all(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        direction: str = "backward",
        batch: int = ops.DEFAULT_BATCH,
        limit: int | None = None,
        time_range: TimeRange | None = None,
        progress: Callable[[PageProgress], None] | bool | None = None,
    ) -> pl.DataFrame:
        """Every entry of a log query in the window (or the first `limit`), fetched in batches like logcli.

        `progress`: a callable receiving `PageProgress` per batch; `None` shows a bar in a notebook.
        """
        from logfire_notebook._progress import progress_reporter

        window = _range(since, until, time_range)
        with progress_reporter(progress) as report:
            table = self._run(ops.query_all(self._state, logql, window, direction, batch, limit, report))
        return _frame(table)

    # -- labels, series, volume, stats -----------------------------------------------------------------

    def labels(self, since: TimeInput | None = None, until: TimeInput | None = None) -> list[str]:
        """Label names seen in the window (`/loki/api/v1/labels`)."""
        return self._run(ops.labels(self._state, _range(since, until, None)))

    def label_values(
        self,
        name: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        query: str | None = None,
    ) -> list[str]:
        """Values of one label in the window, optionally only of the streams `query` selects."""
        return self._run(ops.label_values(self._state, name, _range(since, until, None), query))

    def series(
        self, match: str | list[str], since: TimeInput | None = None, until: TimeInput | None = None
    ) -> list[dict[str, str]]:
        """The label sets of the streams a selector matches (`/loki/api/v1/series`)."""
        return self._run(ops.series(self._state, match, _range(since, until, None)))

    def volume(
        self,
        query: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        target_labels: list[str] | None = None,
        aggregate_by: str = "series",
        step: Step = None,
    ) -> pl.DataFrame:
        """Bytes per series (`/index/volume`), or per bucket with `step` (`/index/volume_range`)."""
        op = ops.volume(
            self._state, query, _range(since, until, None), limit, target_labels, aggregate_by, step
        )
        return _frame(self._run(op))

    def stats(
        self, query: str, since: TimeInput | None = None, until: TimeInput | None = None
    ) -> dict[str, Any]:
        """Streams, chunks, entries and bytes a selector covers (`/loki/api/v1/index/stats`)."""
        return self._run(ops.stats(self._state, query, _range(since, until, None)))


class AsyncLokiClient(ClosesAsyncClient, _LokiBase):
    """The asyncio twin of `LokiClient`: the same methods, awaited; cancelling one closes its request."""

    def _open(self, client_kwargs: dict[str, Any]) -> None:
        self.client = httpx.AsyncClient(**client_kwargs)

    async def _run(self, op: Generator[ops.Request, httpx.Response, T]) -> T:
        """Drives an operation (see `ops`) with awaited requests."""
        try:
            request = next(op)
            while True:
                try:
                    response = await asend(
                        self.client,
                        self.policy,
                        self._status_error,
                        "GET",
                        request.path,
                        base_url=self.addr,
                        params=request.params,
                        headers=request.headers,
                    )
                except HTTPStatusError as exc:
                    request = op.throw(exc)
                else:
                    request = op.send(response)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]

    async def query_range_answer(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> LokiAnswer:
        window = _range(since, until, time_range)
        return await self._run(ops.query_range(self._state, logql, window, limit, direction, step))

    async def query_range_arrow(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> pa.Table:
        answer = await self.query_range_answer(
            logql, since, until, limit=limit, direction=direction, step=step, time_range=time_range
        )
        return answer.table

    async def query_range(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
        step: Step = None,
        time_range: TimeRange | None = None,
    ) -> pl.DataFrame:
        table = await self.query_range_arrow(
            logql, since, until, limit=limit, direction=direction, step=step, time_range=time_range
        )
        return _frame(table)

    async def query(
        self,
        logql: str,
        time: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        direction: str = "backward",
    ) -> pl.DataFrame:
        at = _instant(time)
        return _frame((await self._run(ops.instant_query(self._state, logql, at, limit, direction))).table)

    async def query_all(
        self,
        logql: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        direction: str = "backward",
        batch: int = ops.DEFAULT_BATCH,
        limit: int | None = None,
        time_range: TimeRange | None = None,
        progress: Callable[[PageProgress], None] | None = None,
    ) -> pl.DataFrame:
        window = _range(since, until, time_range)
        return _frame(
            await self._run(ops.query_all(self._state, logql, window, direction, batch, limit, progress))
        )

    async def labels(self, since: TimeInput | None = None, until: TimeInput | None = None) -> list[str]:
        return await self._run(ops.labels(self._state, _range(since, until, None)))

    async def label_values(
        self,
        name: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        query: str | None = None,
    ) -> list[str]:
        return await self._run(ops.label_values(self._state, name, _range(since, until, None), query))

    async def series(
        self, match: str | list[str], since: TimeInput | None = None, until: TimeInput | None = None
    ) -> list[dict[str, str]]:
        return await self._run(ops.series(self._state, match, _range(since, until, None)))

    async def volume(
        self,
        query: str,
        since: TimeInput | None = None,
        until: TimeInput | None = None,
        *,
        limit: int = DEFAULT_LIMIT,
        target_labels: list[str] | None = None,
        aggregate_by: str = "series",
        step: Step = None,
    ) -> pl.DataFrame:
        op = ops.volume(
            self._state, query, _range(since, until, None), limit, target_labels, aggregate_by, step
        )
        return _frame(await self._run(op))

    async def stats(
        self, query: str, since: TimeInput | None = None, until: TimeInput | None = None
    ) -> dict[str, Any]:
        return await self._run(ops.stats(self._state, query, _range(since, until, None)))


def _instant(time: TimeInput | None) -> datetime:
    if time is None:
        return datetime.now(timezone.utc)
    start, _ = TimeRange.parse(time).resolve()
    return start
