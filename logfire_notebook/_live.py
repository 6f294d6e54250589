"""Live mode, kernel side: the widget's rows follow new data while the range ends at now.

The browser asks (a "live" request, one at a time: the next waits for this answer and the interval) and the
kernel answers with the rows that arrived since the last answer, never the whole range again:

- Logfire, when the result has `created_at` (what the store sets on arrival; `SELECT *` has it): the query
  wrapped as `SELECT * FROM (<query>) WHERE created_at >= <newest created_at shown>` over the range, so a row
  that arrives late (its start time older than the newest shown, e.g. a long span exported at its end) is
  still caught. Without `created_at`: the query over the last `LATE` before the previous poll up to now.
  Either way rows already shown are dropped (by `trace_id, span_id`, else by the whole row), and a poll
  with nothing new costs one small query and sends nothing to the browser.
- Loki: the kernel keeps a tail WebSocket open (`_loki.tail`) from the newest entry shown, and a poll takes
  what arrived since the last one. The browser never talks to Loki.

New rows go on top of the shown rows, rows older than the slid range's start drop off, the timeline is counted
again, and the result is published as any result is, with the number of new rows in the reply so the browser
can mark them. Live stops (and its tail closes) when `live` goes off, the widget closes, a poll fails or the
kernel is interrupted, idle or while a cell runs.

```python
table = LogfireTable("SELECT start_timestamp, level, message FROM records ORDER BY start_timestamp DESC", since="15m")
table.live = True             # what the picker's Live toggle sets; table.live_interval = 2 polls every 2 s
```
"""

from __future__ import annotations

import asyncio
import re
import signal
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook._exceptions import LogfireError

if TYPE_CHECKING:
    import polars as pl

    from logfire_notebook._loki.tail import LokiTail
    from logfire_notebook.widget import QueryTable

__all__ = ["LATE", "LiveTraits", "live_poll", "watch_interrupts"]

LATE = timedelta(seconds=60)
"""Without `created_at` in the result, how long after its start time a row may arrive and still be caught:
each poll asks again for this much before the previous poll."""

SKEW = timedelta(seconds=5)
"""Allowance for the store's clock against the kernel's, when the first `created_at` mark is the kernel's time."""

_TRAILING_LIMIT = re.compile(
    r"\s+limit\s+\d+(\s+offset\s+\d+)?\s*;?\s*$|\s+offset\s+\d+\s*;?\s*$", re.IGNORECASE
)


@dataclass
class _LiveState:
    """Where the polls of one result stand (a new result, from a picked range, starts afresh)."""

    generation: int
    polled: datetime
    """When the previous poll asked (the result's query, before the first)."""
    created: datetime | None = None
    """The newest `created_at` had, for a result with that column."""
    tail: LokiTail | None = None
    tail_tried: bool = False


class LiveTraits(traitlets.HasTraits):
    """Live mode's settings, synced with the browser."""

    live = traitlets.Bool(False).tag(sync=True)
    """Follow new data: while the range ends at now, the browser asks every `live_interval` seconds for rows
    newer than the newest shown (the picker's Live toggle). Pauses while the page is hidden or the user
    scrolls or reads a detail; stops when the widget is no longer shown or a poll fails."""

    live_interval = traitlets.Float(5.0).tag(sync=True)
    """Seconds between two Live polls (at least 1); a slow answer delays the next, requests never stack."""

    _live_interrupts = 0
    _live_state: _LiveState | None = None

    @traitlets.observe("live")
    def _on_live(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self._live_interrupts = watch_interrupts()
        else:
            self._live_stop()

    @traitlets.validate("live_interval")
    def _valid_interval(self, proposal: dict[str, Any]) -> float:
        value = float(proposal["value"])
        if not value >= 1:
            raise ValueError(f"live_interval must be at least 1 second, not {value}.")
        return value

    def _live_stop(self) -> None:
        """Forgets where Live stood and closes its tail (on the loop that owns it)."""
        state, self._live_state = self._live_state, None
        if state is not None and state.tail is not None:
            _close_tail(state.tail)


def _close_tail(tail: LokiTail) -> None:
    if sys.meta_path is None:
        return  # the interpreter is shutting down (ipywidgets closes widgets from __del__): nothing to close
    from logfire_notebook.widget import _loop

    asyncio.run_coroutine_threadsafe(tail.aclose(), _loop())


_interrupts = 0
"""SIGINTs the kernel got (the interrupt button, idle or during a cell) since Live first started here."""
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

    ipykernel ignores SIGINT while idle and swaps handlers around each message it handles: its
    `pre_handler_hook` puts Python's `default_int_handler` (KeyboardInterrupt) in place and keeps the idle one
    in `saved_sigint_handler`, which `post_handler_hook` puts back. The counter goes in both places, chained
    to what was there, so the interrupt button stops Live whether it is pressed while the kernel is idle or
    while a cell runs (even one that catches KeyboardInterrupt). Outside ipykernel (a script, marimo)
    nothing is watched.
    """
    global _watching
    if _watching or threading.current_thread() is not threading.main_thread():
        return _interrupts
    ipython = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    kernel = getattr(ipython, "kernel", None)
    if kernel is not None and hasattr(kernel, "saved_sigint_handler"):
        kernel.saved_sigint_handler = _count_interrupt(kernel.saved_sigint_handler)
        running = _count_interrupt(signal.default_int_handler)
        pre_handler_hook = kernel.pre_handler_hook

        def counting_pre_handler_hook() -> None:
            pre_handler_hook()
            signal.signal(signal.SIGINT, running)

        kernel.pre_handler_hook = counting_pre_handler_hook
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, running)  # this very message (the cell that turned Live on)
        _watching = True
    elif kernel is not None:
        signal.signal(signal.SIGINT, _count_interrupt(signal.getsignal(signal.SIGINT)))
        _watching = True
    return _interrupts


def _as_utc(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _newest(frame: pl.DataFrame | None, column: str) -> datetime | None:
    import polars as pl

    if frame is None or column not in frame.columns or frame.height == 0:
        return None
    values = frame.get_column(column)
    if not isinstance(values.dtype, pl.Datetime):
        return None
    return _as_utc(values.max())


def _newest_ns(frame: pl.DataFrame | None, column: str) -> int | None:
    """The newest time in nanoseconds (Loki's times have them; a datetime would lose them)."""
    import polars as pl

    if frame is None or column not in frame.columns or frame.height == 0:
        return None
    values = frame.get_column(column)
    if not isinstance(values.dtype, pl.Datetime):
        return None
    newest = values.dt.epoch("ns").max()
    return int(newest) if isinstance(newest, int) else None


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


def _unseen(fresh: pl.DataFrame, shown: pl.DataFrame | None) -> pl.DataFrame:
    """The rows of `fresh` not already shown: by `trace_id, span_id` when both have them, else whole rows."""
    if shown is None or shown.height == 0 or fresh.height == 0:
        return fresh
    key = ["trace_id", "span_id"]
    if all(name in fresh.columns and name in shown.columns for name in key):
        return fresh.join(shown.select(key).unique(), on=key, how="anti", nulls_equal=True)
    if fresh.columns != shown.columns:
        return fresh
    fresh = fresh.cast(shown.schema, strict=False)
    return fresh.filter(~fresh.hash_rows().is_in(shown.hash_rows().implode()))


def _state(widget: QueryTable, generation: int) -> _LiveState:
    state = widget._live_state
    if state is not None and state.generation == generation:
        return state
    widget._live_stop()
    to_ms = widget.status.get("to_ms")
    queried = (
        datetime.fromtimestamp(to_ms / 1000, tz=timezone.utc)
        if isinstance(to_ms, (int, float))
        else datetime.now(timezone.utc)
    )
    state = widget._live_state = _LiveState(generation, queried)
    return state


async def _from_tail(
    widget: QueryTable, state: _LiveState, frame: pl.DataFrame | None
) -> pl.DataFrame | None:
    """What the source's tail gathered since the last poll (None: this source or query cannot be tailed)."""
    import polars as pl

    from logfire_notebook._loki.tail import keys_at

    tail_of = getattr(widget._source, "tail", None)
    if tail_of is None:
        return None
    if not state.tail_tried:
        state.tail_tried = True
        column = widget._source.time_column
        newest = _newest_ns(frame, column)
        start: datetime | int = state.polled
        seen: set[tuple[Any, ...]] = set()
        if newest is not None and frame is not None:
            start = newest  # in nanoseconds: the entries shown at that instant are not sent again
            seen = keys_at(frame.select([column, "line", "labels"]).to_arrow(), newest)
        state.tail = tail_of(widget.query, start, seen, widget.limit)
    if state.tail is None:
        return None
    table = state.tail.take()
    convert = getattr(widget._source, "to_polars", None)
    if table is None or convert is None:
        return pl.DataFrame()
    fresh: pl.DataFrame = convert(table)
    return fresh


async def _from_query(
    widget: QueryTable, state: _LiveState, frame: pl.DataFrame | None, start: datetime, now: datetime
) -> pl.DataFrame:
    """The keyset query (see the module docstring): rows that arrived since the previous poll."""
    import polars as pl

    from logfire_notebook._polars import arrow_to_polars
    from logfire_notebook._sqlparams import literal

    by_arrival = widget._source.language == "SQL" and frame is not None and "created_at" in frame.columns
    if by_arrival:
        assert frame is not None
        mark = state.created or _as_utc(frame.get_column("created_at").max()) or state.polled - SKEW
        inner = _TRAILING_LIMIT.sub("", widget.query.strip().rstrip(";").rstrip())
        query = f"SELECT * FROM (\n{inner}\n) AS live_rows WHERE created_at >= {literal(mark)}"
        since = start
    else:
        query, since = widget.query, max(start, state.polled - LATE)
    table = await widget._source.query_arrow(query, since, now, widget.limit)
    state.polled = now
    fresh = _unseen(getattr(widget._source, "to_polars", arrow_to_polars)(table), frame)
    if by_arrival and fresh.height and isinstance(fresh.schema.get("created_at"), pl.Datetime):
        state.created = _as_utc(fresh.get_column("created_at").max())
    return fresh


async def live_poll(widget: QueryTable) -> dict[str, Any]:
    """One Live poll: publishes the new rows (if any) and says how many there were."""
    import polars as pl

    from logfire_notebook.widget import _Result

    if widget.local or widget.max_timestamp:
        return {"ok": False, "error": "Live needs a query whose range ends at now."}
    if _interrupts != widget._live_interrupts:
        widget._live_stop()
        return {"ok": False, "error": "the kernel was interrupted."}
    with widget._lock:
        generation, frame, spec = widget._generation, widget._frame, widget._spec()
    state = _state(widget, generation)
    column = widget._source.time_column
    now = datetime.now(timezone.utc)
    start, _ = widget.time_range.resolve()
    try:
        fresh = await _from_tail(widget, state, frame)
        if fresh is None:
            fresh = await _from_query(widget, state, frame, start, now)
    except LogfireError as exc:
        widget._live_stop()
        return {"ok": False, "error": str(exc)}
    if fresh.height == 0:
        return {"ok": True, "new": 0}
    if frame is not None and frame.height:
        merged = pl.concat([fresh, frame], how="diagonal_relaxed")
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
