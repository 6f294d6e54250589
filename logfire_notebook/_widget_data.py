"""What the table widget sends to the browser: rows as Arrow IPC bytes, and the timeline's histogram.

Rows never travel as JSON: the browser decodes the IPC stream (flechette) and reads only the cells on screen.
The histogram is a few dozen (bucket, count) pairs, small enough for the JSON part of the same message.

The timeline counts rows across the whole range, not only the rows returned (which the row limit cuts): the
source counts them on the server (`Source.count`); a DataFrame shown without a query is counted here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = [
    "DEFAULT_LIMIT",
    "TIMELINE_COLUMN",
    "bucket_interval",
    "histogram_from_counts",
    "histogram_from_frame",
    "to_ipc",
]

# Rows a query returns when the caller gives no `limit` (the API's own default, 100, is too few to browse;
# its maximum is 10,000). The status line marks when a result reaches it.
DEFAULT_LIMIT = 1_000
# The column a DataFrame shown without a query is filtered and counted by.
TIMELINE_COLUMN = "start_timestamp"
# About this many bars across the timeline; the interval is the nicest one giving at most this many.
TIMELINE_TARGET_BUCKETS = 80
# String columns with at most this share of distinct values are sent dictionary-encoded: service names,
# span names, levels' text repeat a lot, and a dictionary sends each once (the JS side reads both forms).
DICTIONARY_MAX_DISTINCT_RATIO = 0.5
# Below this many rows dictionary encoding saves too little to be worth computing.
DICTIONARY_MIN_ROWS = 64

_NICE_SECONDS = (
    1, 2, 5, 10, 15, 30,
    60, 120, 300, 600, 900, 1800,
    3600, 7200, 10800, 21600, 43200,
    86400, 2 * 86400, 7 * 86400, 30 * 86400,
)  # fmt: skip


def bucket_interval(start: datetime, end: datetime) -> timedelta:
    """The nicest bucket width giving at most TIMELINE_TARGET_BUCKETS bars over [start, end]."""
    span = max((end - start).total_seconds(), 1.0)
    for seconds in _NICE_SECONDS:
        if span / seconds <= TIMELINE_TARGET_BUCKETS:
            return timedelta(seconds=seconds)
    return timedelta(seconds=_NICE_SECONDS[-1])


def _ms(value: datetime) -> float:
    return value.timestamp() * 1000


def histogram_from_counts(
    buckets: list[datetime],
    counts: list[int],
    interval: timedelta,
    start: datetime,
    end: datetime,
    levels: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, Any]:
    """The timeline as the browser reads it (epoch milliseconds); `levels` splits each bar by level."""
    histogram: dict[str, Any] = {
        "starts": [_ms(b) for b in buckets],
        "counts": [int(c) for c in counts],
        "interval": interval.total_seconds() * 1000,
        "from": _ms(start),
        "to": _ms(end),
    }
    if levels:
        histogram["levels"] = {name: [int(c) for c in values] for name, values in levels.items()}
    return histogram


def histogram_from_frame(
    frame: pl.DataFrame, start: datetime, end: datetime, time_column: str = TIMELINE_COLUMN
) -> dict[str, Any] | None:
    """The histogram of a DataFrame's time column within [start, end) (local data, no backend)."""
    import polars as pl

    dtype = frame.schema.get(time_column)
    if not isinstance(dtype, pl.Datetime):
        return None
    column = frame.get_column(time_column)
    if dtype.time_zone is not None:
        column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    micros = column.dt.cast_time_unit("us").cast(pl.Int64)
    lo, hi = int(start.timestamp() * 1_000_000), int(end.timestamp() * 1_000_000)
    interval = bucket_interval(start, end)
    step = int(interval.total_seconds() * 1_000_000)
    keys = (micros.filter((micros >= lo) & (micros < hi)) // step).alias("bucket")
    counts = keys.value_counts(sort=False).sort("bucket")
    buckets = [datetime.fromtimestamp(k * step / 1_000_000, tz=timezone.utc) for k in counts["bucket"]]
    return histogram_from_counts(buckets, counts["count"].to_list(), interval, start, end)


def _wire_type(field: pa.Field, column: pa.ChunkedArray) -> pa.DataType:
    """The type a column is sent as: plain or dictionary utf8 for text, the rest unchanged."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = field.type
    if pa.types.is_dictionary(kind):
        return kind
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind) or pa.types.is_string(kind):
        rows = len(column)
        if rows >= DICTIONARY_MIN_ROWS:
            distinct = pc.count_distinct(column).as_py()
            if distinct <= rows * DICTIONARY_MAX_DISTINCT_RATIO:
                return pa.dictionary(pa.int32(), pa.string())
        return pa.string()
    if pa.types.is_large_list(kind) or pa.types.is_list_view(kind) or pa.types.is_large_list_view(kind):
        return pa.list_(kind.value_type)
    return kind


def to_ipc(table: pa.Table) -> bytes:
    """The table as one Arrow IPC stream, uncompressed (the browser has no codec to load)."""
    import pyarrow as pa

    wire = pa.schema(
        [field.with_type(_wire_type(field, table.column(i))) for i, field in enumerate(table.schema)],
        metadata=table.schema.metadata,
    )
    if wire != table.schema:
        table = table.cast(wire)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table.combine_chunks() if table.num_rows else table)
    return bytes(sink.getvalue())
