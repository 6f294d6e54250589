"""`LokiSource`: LogQL over Loki's HTTP API, for the widget (and the `%%logql` magic's completion).

Rows come from `query_range` (the picker's range is Loki's `start`/`end`); the timeline is counted by Loki:
`sum by (level, detected_level) (count_over_time(<the query> [bucket]))`, evaluated once per bucket, so it
counts every entry the query matches, not only the rows the limit let through, split by level for the stacked
bars. A metric query's rows are already points in time: its timeline counts them (`rows_timeline`), and the
widget opens on its chart. Completion names are label names -> their values, asked once.

Traces: a line whose labels, structured metadata or parsed fields hold `trace_id` / `traceID` / `traceId`
(OTLP logs carry `trace_id` in structured metadata) opens that trace from Logfire's query API, where the
spans are: `traces=` (a `LogfireClient`), else the client the Logfire configuration gives (LOGFIRE_READ_TOKEN
and LOGFIRE_BASE_URL; the local backend serves both APIs from one address).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from logfire_notebook._loki import logql as lq
from logfire_notebook._sources.base import TimelineCounts

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._client import LogfireClient
    from logfire_notebook._loki.client import AsyncLokiClient, LokiClient
    from logfire_notebook._loki.tail import LokiTail
    from logfire_notebook._sources.logfire import LogfireSource

__all__ = ["LokiSource"]

# What the timeline calls the entries whose stream, metadata and parsed labels name no level (Loki's word).
UNKNOWN_LEVEL = "unknown"
# Loki's default max_entries_limit_per_query: a larger limit is refused with a 400.
MAX_LIMIT = 5_000
# The map columns of a log line searched for a trace id, in order (OTLP logs put it in structured metadata).
TRACE_MAPS = ("structured_metadata", "parsed", "labels")


class LokiSource:
    """Loki (or the local backend's Loki API) as a widget source."""

    language = "LogQL"
    time_column = "timestamp"
    max_limit = MAX_LIMIT

    def __init__(
        self,
        client: LokiClient | None = None,
        *,
        direction: str = "backward",
        traces: LogfireClient | None = None,
        **config: Any,
    ) -> None:
        """`config`: `LokiClient`'s arguments, for a client made on first use when none is given. `traces`:
        the Logfire client that opens a line's trace (default: one from the Logfire configuration)."""
        self._client = client
        self._traces = traces
        self._trace_source: LogfireSource | None = None
        self._config = config
        self._owns_client = client is None
        self.direction = direction
        self._lock = threading.RLock()  # `_async` makes the sync client under it too
        self._async_client: AsyncLokiClient | None = None
        self._threaded = False

    @property
    def client(self) -> LokiClient:
        """The sync client (made from `config` and the LOKI_* variables on first use)."""
        with self._lock:
            if self._client is None:
                from logfire_notebook._loki.client import LokiClient

                self._client = LokiClient(**self._config)
            return self._client

    def _async(self) -> AsyncLokiClient | None:
        with self._lock:
            if self._async_client is None and not self._threaded:
                self._async_client = self.client._async_twin()
                self._threaded = self._async_client is None
            return self._async_client

    async def query_arrow(
        self, query: str, start: datetime, end: datetime, limit: int, step: timedelta | None = None
    ) -> pa.Table:
        from logfire_notebook._timerange import TimeRange

        window = TimeRange.parse(start, end)
        kwargs = {"limit": limit, "direction": self.direction, "step": step, "time_range": window}
        client = self._async()
        if client is None:
            return await asyncio.to_thread(lambda: self.client.query_range_arrow(query, **kwargs))  # type: ignore[arg-type]
        return await client.query_range_arrow(query, **kwargs)  # type: ignore[arg-type]

    @staticmethod
    def to_polars(table: pa.Table) -> pl.DataFrame:
        """Loki's tables as they are: nanosecond times stay nanoseconds."""
        from logfire_notebook._loki.client import to_polars

        return to_polars(table)

    async def query_all(self, query: str, start: datetime, end: datetime) -> pl.DataFrame:
        """Every entry in [start, end), in batches past `limit` (the magic's --all); cancelling stops paging."""
        from logfire_notebook._timerange import TimeRange

        kwargs: dict[str, Any] = {"time_range": TimeRange.parse(start, end), "direction": self.direction}
        client = self._async()
        if client is None:
            return await asyncio.to_thread(lambda: self.client.query_all(query, progress=False, **kwargs))
        return await client.query_all(query, **kwargs)

    async def count(self, query: str, start: datetime, end: datetime, interval: timedelta) -> TimelineCounts:
        from logfire_notebook._loki.decode import LEVEL_KEYS

        if not lq.is_log_query(query):
            raise _no_timeline()
        # A point at t counts (t - interval, t]: evaluate at each bucket's end, label it with its start.
        # Split by both level labels (an entry has at most one that is not empty), as Grafana's volume is.
        counted = lq.count_query(query, interval, by=", ".join(LEVEL_KEYS))
        table = await self.query_arrow(counted, start + interval, end + interval, 1, step=interval)
        return _per_level(table, interval)

    @staticmethod
    def rows_timeline(query: str) -> str | None:
        """Why the timeline counts the result's own rows instead of asking Loki (a metric query), or None."""
        if lq.is_log_query(query):
            return None
        return "The bars count the series' points; the Chart view draws their values."

    def trace_column(self, frame: pl.DataFrame) -> str | None:
        """The first map column (`TRACE_MAPS`) where some line has a trace id key; the browser reads the id
        from that map (see `_trace.TRACE_ID_COLUMNS`)."""
        import polars as pl

        from logfire_notebook._trace import TRACE_ID_COLUMNS

        for name in TRACE_MAPS:
            column = frame.get_column(name, default=None)
            if column is None or not isinstance(column.dtype, pl.Map):
                continue
            if any(column.map.contains_key(key).any() for key in TRACE_ID_COLUMNS):
                return name
        return None

    async def query_trace(self, trace_id: str, start: datetime, end: datetime) -> pa.Table:
        """The trace's spans and logs from Logfire's query API (see the module docstring)."""
        from logfire_notebook._sources.logfire import LogfireSource

        with self._lock:
            if self._trace_source is None:
                self._trace_source = LogfireSource(self._traces)
            source = self._trace_source
        return await source.query_trace(trace_id, start, end)

    def tail(
        self, query: str, start: datetime | int, seen: set[tuple[Any, ...]], limit: int
    ) -> LokiTail | None:
        """Follows a log query on Loki's tail API (Live mode); None where it cannot: a metric query, or a
        server with only the older `/api/prom` API (Live then polls `query_range`)."""
        if not lq.is_log_query(query) or self.client.legacy_api:
            return None
        return self.client.tail(query, start=start, seen=seen, limit=limit)

    def completion_names(self) -> Mapping[str, Sequence[str]]:
        client = self.client
        return {name: client.label_values(name) for name in client.labels()}

    async def aclose(self) -> None:
        with self._lock:
            client, self._async_client = self._async_client, None
            traces, self._trace_source = self._trace_source, None
        if client is not None:
            await client.close()
        if traces is not None:
            await traces.aclose()
        if self._owns_client and self._client is not None:
            self._client.close()


def _per_level(table: pa.Table, interval: timedelta) -> TimelineCounts:
    """A `sum by (level, detected_level)` answer as counts per bucket, and per level within each bucket."""
    import polars as pl

    from logfire_notebook._loki.decode import level_of

    if table.num_rows == 0:
        return TimelineCounts(interval, [], [])
    frame = pl.DataFrame(
        {
            "end": pl.Series(table.column("timestamp")),
            "level": pl.Series(level_of(table.column("labels")), dtype=pl.String),
            "n": pl.Series(table.column("value")).cast(pl.Int64),
        }
    ).with_columns(pl.col("level").fill_null(UNKNOWN_LEVEL).replace("", UNKNOWN_LEVEL))
    wide = frame.pivot("level", index="end", values="n", aggregate_function="sum").sort("end").fill_null(0)
    levels = {name: wide.get_column(name).to_list() for name in wide.columns[1:]}
    counts = wide.select(pl.sum_horizontal(pl.exclude("end"))).to_series().to_list()
    return TimelineCounts(interval, [t - interval for t in wide.get_column("end").to_list()], counts, levels)


def _no_timeline() -> Exception:
    from logfire_notebook._exceptions import LogfireError

    return LogfireError("a metric query's rows are its points in time, so there is no separate timeline.")
