"""One trace's spans and logs: which column of a result holds trace ids, and the one query that fetches a trace.

Opening a trace is one query by `trace_id` with a time window around an instant the caller knows (the row's
`start_timestamp`), so the backend reads a few hours of data, not its whole retention. Without an instant,
the window is the caller's range (`since`/`until`). The result carries the columns the waterfall reads, in
start order; pending spans are not in `records`, so every row is a finished span, a log or a span event.

A source names the column that holds trace ids in its rows (`trace_column`): Logfire's rows have `trace_id`;
a Loki line may carry `traceID` / `traceId` in its labels, structured metadata or parsed fields. The widget
offers "Open trace" on rows whose value in that column is a trace id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

from logfire_notebook._exceptions import TraceIdError

__all__ = [
    "TRACE_COLUMNS",
    "TRACE_ID_COLUMNS",
    "TRACE_LIMIT",
    "TRACE_WINDOW",
    "normalize_trace_id",
    "trace_column",
    "trace_sql",
    "trace_window",
]

# Column names that hold a trace id, in the order a source's rows are searched (Logfire, then Loki/Tempo).
TRACE_ID_COLUMNS = ("trace_id", "traceID", "traceId", "trace.id")
# Spans before and after the instant the trace is opened at: long agent runs fit, the backend reads little.
TRACE_WINDOW = timedelta(hours=2)
# The most rows one trace query returns (the API's maximum); the waterfall says when a trace reaches it.
TRACE_LIMIT = 10_000
# What the waterfall reads of each span or log (`records` columns).
TRACE_COLUMNS = (
    "start_timestamp",
    "end_timestamp",
    "duration",
    "trace_id",
    "span_id",
    "parent_span_id",
    "kind",
    "level",
    "span_name",
    "message",
    "service_name",
    "otel_scope_name",
    "otel_status_code",
    "otel_status_message",
    "is_exception",
    "exception_type",
    "exception_message",
    "exception_stacktrace",
    "tags",
    "attributes",
    "otel_events",
)

_HEX = re.compile(r"[0-9a-f]{1,32}")


def trace_column(columns: Iterable[str]) -> str | None:
    """The column of a result that holds trace ids, or None when it has none."""
    names = list(columns)
    return next((name for name in TRACE_ID_COLUMNS if name in names), None)


def normalize_trace_id(value: Any) -> str:
    """A trace id as Logfire writes it: 32 lowercase hex digits (shorter ids, as Tempo shows 64-bit ones, are
    left-padded with zeros; a `0x` prefix or dashes are dropped)."""
    text = str(value).strip().lower() if value is not None else ""
    if text.startswith("0x"):
        text = text[2:]
    text = text.replace("-", "")
    if not _HEX.fullmatch(text) or not text.strip("0"):
        shown = str(value)[:60]
        raise TraceIdError(
            f"{shown!r} is not a trace id: give the 32 hex digits of a row's trace_id, like "
            "'4bf92f3577b34da6a3ce929d0e0e4736'."
        )
    return text.rjust(32, "0")


def trace_sql(trace_id: str) -> str:
    """The query for every span, log and span event of one trace, in start order."""
    from logfire_notebook._sqlparams import literal

    columns = ", ".join(TRACE_COLUMNS)
    return (
        f"SELECT {columns} FROM records WHERE trace_id = {literal(normalize_trace_id(trace_id))} "
        "ORDER BY start_timestamp, span_id"
    )


def trace_window(at: datetime, around: timedelta = TRACE_WINDOW) -> tuple[datetime, datetime]:
    """The time range queried for a trace seen at `at`: `around` before and after it."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at - around, at + around


def trace_reply(
    table: Any, trace_id: str, window: tuple[datetime, datetime], elapsed_ms: float
) -> dict[str, Any]:
    """The JSON part of the answer to the browser's "trace" request (the spans go as Arrow IPC beside it)."""
    return {
        "trace_id": trace_id,
        "rows": table.num_rows,
        "limit_reached": table.num_rows >= TRACE_LIMIT,
        "window": [window[0].isoformat(), window[1].isoformat()],
        "elapsed_ms": round(elapsed_ms, 1),
    }


def spans_from_frame(frame: Any, trace_id: str) -> Any:
    """One trace's rows out of a DataFrame the widget shows without a query (local data), in start order."""
    import polars as pl

    column = trace_column(frame.columns)
    if column is None:
        return frame.clear()
    rows = frame.filter(pl.col(column).cast(pl.String).str.to_lowercase() == trace_id)
    return rows.sort("start_timestamp") if "start_timestamp" in rows.columns else rows
