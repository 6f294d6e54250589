"""`%%logfire --trace ID`: fetch one trace for the magic, as a `LogfireTrace` widget or a plain DataFrame."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from logfire_notebook._magic.errors import MagicError

if TYPE_CHECKING:
    from logfire_notebook._client import LogfireClient
    from logfire_notebook._timerange import TimeRange

__all__ = ["fetch_trace", "trace_label"]


def trace_label(trace_id: str) -> str:
    """A trace id as the footer shows it (as typed, cut if it is long junk)."""
    return trace_id if len(trace_id) <= 40 else f"{trace_id[:37]}…"


def fetch_trace(
    client: LogfireClient, trace_id: str, time_range: TimeRange, environment: list[str] | None, widget: bool
) -> tuple[Any, Any, float]:
    """The trace's widget (None unless `widget`), its spans as a polars DataFrame, and the seconds taken."""
    from logfire_notebook._exceptions import LogfireError

    t0 = time.perf_counter()
    start, end = time_range.resolve()
    try:
        if widget:
            from logfire_notebook.trace_widget import LogfireTrace

            trace = LogfireTrace(trace_id, since=start, until=end, environment=environment, client=client)
            return trace, trace.df, time.perf_counter() - t0
        from logfire_notebook import _trace
        from logfire_notebook._polars import arrow_to_polars

        sql = _trace.trace_sql(trace_id)
        table = client.query_arrow(sql, start, end, limit=_trace.TRACE_LIMIT, environment=environment)
        return None, arrow_to_polars(table), time.perf_counter() - t0
    except KeyboardInterrupt:
        raise MagicError("Interrupted: the query was cancelled.", "KeyboardInterrupt") from None
    except LogfireError as exc:
        raise MagicError(str(exc).splitlines()[0], type(exc).__name__) from None
