"""`LogfireSource`: Logfire SQL over `/v2/query`, for the widget (and the magic's completion).

Queries run through an `AsyncLogfireClient`: the one the source makes from a token and URL, or the async twin
a given `LogfireClient` makes of its own configuration. A client that cannot be copied (a custom transport,
mounts or event hooks, or a subclass with its own `query_arrow`) is called on a worker thread instead; then a
cancelled query runs to its end on the server and only its answer is dropped.

The timeline counts rows by wrapping the user's query: `SELECT time_bucket(...), count(*) FROM (<query>)`.
Wrapping (rather than counting `records` with "the same filters") stays correct for any query: joins, CTEs,
WHERE clauses we could not parse all count exactly the rows the query itself would return.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from logfire_notebook._sources.base import TimelineCounts

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._client import AsyncLogfireClient, LogfireClient

__all__ = ["LogfireSource", "histogram_sql"]

_TRAILING_LIMIT = re.compile(
    r"\s+limit\s+\d+(\s+offset\s+\d+)?\s*;?\s*$|\s+offset\s+\d+\s*;?\s*$", re.IGNORECASE
)


def _interval_literal(interval: timedelta) -> str:
    seconds = int(interval.total_seconds())
    for size, word in ((86400, "days"), (3600, "hours"), (60, "minutes")):
        if seconds % size == 0:
            return f"{seconds // size} {word}"
    return f"{seconds} seconds"


def histogram_sql(sql: str, interval: timedelta, time_column: str = "start_timestamp") -> str:
    """The bucketed count of `sql`'s rows over the time column (the query's own trailing LIMIT removed)."""
    inner = _TRAILING_LIMIT.sub("", sql.strip().rstrip(";").rstrip())
    return (
        f"SELECT time_bucket('{_interval_literal(interval)}', {time_column}) AS bucket, count(*) AS n "
        f"FROM (\n{inner}\n) AS logfire_table_rows GROUP BY bucket ORDER BY bucket"
    )


class LogfireSource:
    """Logfire (or the local backend) as a widget source; see the module docstring."""

    language = "SQL"
    time_column = "start_timestamp"
    max_limit = 10_000

    def __init__(
        self,
        client: LogfireClient | None = None,
        *,
        read_token: str | None = None,
        base_url: str | None = None,
        environment: str | Sequence[str] | None = None,
    ) -> None:
        self._client = client
        self._client_args = (read_token, base_url)
        self.environment = environment
        self._lock = threading.Lock()
        self._async_client: AsyncLogfireClient | None = None
        self._threaded = False  # a given client that cannot be copied is called on a worker thread

    def _async(self) -> AsyncLogfireClient | None:
        """The async client, made on first use (None: call the given sync client on a thread)."""
        with self._lock:
            if self._async_client is None and not self._threaded:
                from logfire_notebook._client import AsyncLogfireClient

                if self._client is None:
                    self._async_client = AsyncLogfireClient(*self._client_args)
                else:
                    self._async_client = self._client._async_twin()
                    self._threaded = self._async_client is None
            return self._async_client

    async def query_arrow(self, query: str, start: datetime, end: datetime, limit: int) -> pa.Table:
        kwargs: dict[str, Any] = {
            "min_timestamp": start,
            "max_timestamp": end,
            "limit": limit,
            "environment": self.environment,
        }
        client = self._async()
        if client is None:
            assert self._client is not None
            return await asyncio.to_thread(self._client.query_arrow, query, **kwargs)
        return await client.query_arrow(query, **kwargs)

    async def query_all(self, query: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Every row in [start, end), in pages past `max_limit` (the magic's --all); cancelling stops paging."""
        from logfire_notebook._timerange import TimeRange

        kwargs: dict[str, Any] = {
            "time_range": TimeRange(start, end),
            "environment": self.environment,
            "progress": False,
        }
        client = self._async()
        if client is None:
            assert self._client is not None
            return await asyncio.to_thread(self._client.query_all, query, **kwargs)
        return await client.query_all(query, **kwargs)

    async def count(self, query: str, start: datetime, end: datetime, interval: timedelta) -> TimelineCounts:
        table = await self.query_arrow(histogram_sql(query, interval, self.time_column), start, end, 10_000)
        buckets = [_as_datetime(v) for v in table.column("bucket").to_pylist()]
        pairs = [(b, int(c)) for b, c in zip(buckets, table.column("n").to_pylist(), strict=True) if b]
        return TimelineCounts(interval, [b for b, _ in pairs], [c for _, c in pairs])

    def trace_column(self, frame: pl.DataFrame) -> str | None:
        from logfire_notebook._trace import trace_column

        return trace_column(frame.columns)

    async def query_trace(self, trace_id: str, start: datetime, end: datetime) -> pa.Table:
        from logfire_notebook._trace import TRACE_LIMIT, trace_sql

        return await self.query_arrow(trace_sql(trace_id), start, end, TRACE_LIMIT)

    def completion_names(self) -> Mapping[str, Sequence[str]]:
        from logfire_notebook._client import LogfireClient
        from logfire_notebook._magic.complete import names_from_payload

        if self._client is not None:
            return names_from_payload(self._client.schemas())
        with LogfireClient(*self._client_args) as client:
            return names_from_payload(client.schemas())

    async def aclose(self) -> None:
        with self._lock:
            client, self._async_client = self._async_client, None
        if client is not None:
            await client.close()


def _as_datetime(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    raise TypeError(f"time_bucket returned {value!r}, not a timestamp")
