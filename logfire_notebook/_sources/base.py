"""What a store must do for the widget and the magic: the `Source` protocol.

A source runs a query for a time window and a row limit and gives Arrow; counts the query's rows per bucket
for the timeline; names its tables (Logfire) or labels (Loki) for completion; and cancels: cancelling the
task awaiting `query_arrow` or `count` closes its HTTP request, so the server stops the work. Everything else
(the time picker, the table, options, parameters, errors, timer, footer, interrupt, `VAR <<`) is written once
and takes a source.

Optional, looked up by name: `query_all` (every row, in pages), `to_polars` (its own Arrow-to-Polars),
`trace_column`/`query_trace` (`TraceSource`), `tail` (Live follows a tail API), and `rows_timeline(query)`:
a note when the query's own rows are the points in time to count (a Loki metric query), so the widget counts
them instead of calling `count`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = ["Source", "TimelineCounts", "TraceSource"]


@dataclass(frozen=True)
class TimelineCounts:
    """Rows per bucket of `interval` (bucket starts in UTC); `levels` optionally splits each count by level."""

    interval: timedelta
    starts: Sequence[datetime]
    counts: Sequence[int]
    levels: Mapping[str, Sequence[int]] | None = None
    """Level name -> its count in each bucket (aligned with `starts`; they add up to `counts`), when the
    store can tell; the browser stacks the bars by level, coloured like the table's levels."""


class Source(Protocol):
    """One store the widget and the magic can query (Logfire, Loki)."""

    language: str
    """What the query is written in, for messages: `"SQL"`, `"LogQL"`."""

    time_column: str
    """The result column holding each row's time (the timeline needs it in the result)."""

    max_limit: int
    """The most rows one query may return."""

    async def query_arrow(self, query: str, start: datetime, end: datetime, limit: int) -> pa.Table:
        """The query's rows in [start, end), at most `limit`; cancelling the awaiting task closes the request."""
        ...

    async def count(self, query: str, start: datetime, end: datetime, interval: timedelta) -> TimelineCounts:
        """The query's rows over [start, end) counted per `interval` by the server (not only the rows returned)."""
        ...

    def completion_names(self) -> Mapping[str, Sequence[str]]:
        """Tables -> columns (Logfire) or labels -> values (Loki), for completion in cells; may ask the server."""
        ...

    async def aclose(self) -> None:
        """Closes the HTTP connections the source opened."""
        ...


class TraceSource(Protocol):
    """What a source adds so that its rows open traces (optional: without it the widget offers no "Open trace").

    Logfire's rows carry `trace_id` and its traces are in the same store. A Loki source says which of its
    columns (a label, structured metadata or a parsed field: `traceID`, `traceId`, `trace_id`) holds the id,
    and fetches the trace from wherever its traces are kept.
    """

    def trace_column(self, frame: pl.DataFrame) -> str | None:
        """The result column holding trace ids (or a map column with a `trace_id`/`traceID`/`traceId` key),
        or None when this result has none."""
        ...

    async def query_trace(self, trace_id: str, start: datetime, end: datetime) -> pa.Table:
        """Every span and log of the trace (32 lowercase hex digits) in [start, end), in start order, with the
        columns of `_trace.TRACE_COLUMNS` that the store has; cancelling the awaiting task closes the request."""
        ...
