"""Live mode, kernel side: the widget's rows follow new data while the range ends at now.

The browser asks (a "live" request, one at a time: the next waits for this answer and the interval) and the
kernel runs a keyset query: the widget's query over [newest row's time, now), keeping only rows newer than
the newest it has, never the whole range again. Nothing new: the reply says so and nothing else is sent.
New rows: they go on top of the shown rows, rows older than the slid range's start drop off, the timeline is
counted again, and the result is published as any result is (same revision/head/status message), with the
number of new rows in the reply so the browser can mark them.

```python
table = LogfireTable("SELECT start_timestamp, level, message FROM records ORDER BY start_timestamp DESC", since="15m")
table.live = True             # what the picker's Live toggle sets; table.live_interval = 2 polls every 2 s
```
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook._exceptions import LogfireError

if TYPE_CHECKING:
    import polars as pl

    from logfire_notebook.widget import QueryTable

__all__ = ["LiveTraits", "live_poll"]


class LiveTraits(traitlets.HasTraits):
    """Live mode's settings, synced with the browser."""

    live = traitlets.Bool(False).tag(sync=True)
    """Follow new data: while the range ends at now, the browser asks every `live_interval` seconds for rows
    newer than the newest shown (the picker's Live toggle). Pauses while the page is hidden or the user
    scrolls or reads a detail; stops when the widget is no longer shown or a poll fails."""

    live_interval = traitlets.Float(5.0).tag(sync=True)
    """Seconds between two Live polls (at least 1); a slow answer delays the next, requests never stack."""

    _live_interrupts = 0

    @traitlets.observe("live")
    def _on_live(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._live_interrupts = watch_interrupts()

    @traitlets.validate("live_interval")
    def _valid_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not value >= 1:
            raise ValueError(f"live_interval must be at least 1 second, not {value}.")
        return value


_interrupts = 0
"""SIGINTs the kernel got while idle (the interrupt button) since Live first started in this process."""
_watching = False


def _count_interrupt(previous: Any) -> Any:
    def handler(signum: int, frame: Any) -> None:
        global _interrupts
        _interrupts += 1
        if callable(previous):
            previous(signum, frame)

    return handler


def watch_interrupts() -> int:
    """Counts the kernel's interrupts from now on, and returns the count so far.

    ipykernel ignores SIGINT while idle and puts its idle handler back after each message it handles
    (`saved_sigint_handler`); the counter goes there, chained to what was there, so the interrupt button
    pressed while Live runs stops Live. Outside ipykernel (a script, marimo) nothing is watched.
    """
    global _watching
    if _watching or threading.current_thread() is not threading.main_thread():
        return _interrupts
    ipython = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    kernel = getattr(ipython, "kernel", None)
    if kernel is not None and hasattr(kernel, "saved_sigint_handler"):
        kernel.saved_sigint_handler = _count_interrupt(kernel.saved_sigint_handler)
        _watching = True
    elif kernel is not None:
        signal.signal(signal.SIGINT, _count_interrupt(signal.getsignal(signal.SIGINT)))
        _watching = True
    return _interrupts


def _newest(frame: pl.DataFrame | None, column: str) -> datetime | None:
    import polars as pl

    if frame is None or column not in frame.columns or frame.height == 0:
        return None
    values = frame.get_column(column)
    if not isinstance(values.dtype, pl.Datetime):
        return None
    newest = values.max()
    if not isinstance(newest, datetime):
        return None
    return newest if newest.tzinfo else newest.replace(tzinfo=timezone.utc)


def _utc_naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def _time_expr(frame: pl.DataFrame, column: str) -> pl.Expr:
    """The time column as naive UTC, to compare with naive UTC instants whatever its zone."""
    import polars as pl

    dtype = frame.schema[column]
    expr = pl.col(column)
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        expr = expr.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return expr


async def live_poll(widget: QueryTable) -> dict[str, Any]:
    """One Live poll: publishes the new rows (if any) and says how many there were."""
    import polars as pl

    from logfire_notebook._polars import arrow_to_polars
    from logfire_notebook.widget import _Result

    if widget.local or widget.max_timestamp:
        return {"ok": False, "error": "Live needs a query whose range ends at now."}
    if _interrupts != widget._live_interrupts:
        return {"ok": False, "error": "the kernel was interrupted."}
    with widget._lock:
        generation, frame, spec = widget._generation, widget._frame, widget._spec()
    column = widget._source.time_column
    newest = _newest(frame, column)
    now = datetime.now(timezone.utc)
    start, _ = widget.time_range.resolve()
    since = newest if newest is not None else start
    try:
        fresh = arrow_to_polars(await widget._source.query_arrow(widget.query, since, now, widget.limit))
    except LogfireError as exc:
        return {"ok": False, "error": str(exc)}
    if column in fresh.columns and newest is not None and fresh.height:
        fresh = fresh.filter(_time_expr(fresh, column) > _utc_naive(newest))
    if fresh.height == 0:
        return {"ok": True, "new": 0}
    if frame is not None and frame.height and fresh.columns == frame.columns:
        merged = pl.concat([fresh.cast(frame.schema, strict=False), frame], how="vertical")
    else:
        merged = fresh
    if column in merged.columns:
        # The range slides with the clock: rows that fell out of it go.
        merged = merged.filter(_time_expr(merged, column) >= _utc_naive(start))
    merged = merged.head(widget.limit) if not widget.all_rows else merged
    timeline, note = await widget._count_timeline(merged, start, now)
    result = _Result(spec, (start, now), merged, timeline, note, None)
    with widget._lock:
        if generation != widget._generation:
            return {"ok": True, "new": 0, "stale": True}  # a picked range replaced this result meanwhile
    widget._publish(generation, result)
    return {"ok": True, "new": fresh.height, "revision": widget.revision}
