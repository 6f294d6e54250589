"""The table widget: a query's rows as a fast table with a time-range picker and a timeline (an anywidget).

`QueryTable` is written once and takes a source (`logfire_notebook._sources`); `LogfireTable` is it over
Logfire SQL, `LokiTable` (in `loki_widget`) over LogQL.

```python
from logfire_notebook import LogfireTable

table = LogfireTable("SELECT start_timestamp, level, span_name, duration, attributes FROM records", since="6h")
table                       # shows it; pick "Last 1 hour" or drag across the timeline and the query re-runs
table.min_timestamp = "now-2d"; table.max_timestamp = "now-1d"     # the same from Python
table.df                    # the rows on screen, as a polars DataFrame
```

- The kernel runs the query (through the source) whenever `min_timestamp` / `max_timestamp` change,
  from the browser or from Python, and keeps the result. The first rows travel with the result (the `head`
  trait, Arrow IPC); for a large result the browser asks for the window it shows with a custom message and
  gets it back as Arrow IPC in a binary buffer, sorted here on the whole frame (see `_widget_window`). Rows
  never travel as JSON.
- A result shown with its rows first (a DataFrame, a magic's result, a range picked in the browser) has its
  timeline counted once the browser says those rows are painted, so the count does not slow the first
  paint; without a browser nothing waits for one (see `_paint_gate`), and `.df` waits for the count too.
- Queries run as the source's coroutines on one background event-loop thread per process (see
  `_loop`). A range picked in the browser is submitted there and the kernel goes on at once; a newer range
  cancels the run it supersedes, and cancelling closes that run's HTTP request, so the server stops the
  query (the browser also ignores answers for ranges it has replaced). A range set from Python (and every
  change in marimo) waits for its run before the assignment returns, so the next line, or the cells marimo
  re-runs, read the new `.df`; Ctrl-C there cancels the request too.
- `LogfireTable(client=LogfireClient(...))` queries through the AsyncLogfireClient that client makes of its
  own configuration; see `_sources.logfire` for clients that cannot be copied.
- Built from a DataFrame without a query, the picker filters the DataFrame's `start_timestamp` locally.
- Credentials stay inside the source's client: no trait holds them, so they are never synced to the browser
  nor saved in a notebook.
- marimo: `mo.ui.anywidget(LogfireTable(...))`; a range change re-runs the cells that use it, and `.df`
  there is already the new result (the query runs before marimo re-runs them).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import sys
import threading
import time
import weakref
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypedDict

import traitlets

from logfire_notebook import _widget_data as wire
from logfire_notebook._bundle import BundledWidget
from logfire_notebook._chart import ChartTraits, chart_reply
from logfire_notebook._exceptions import LogfireError
from logfire_notebook._footer import footer
from logfire_notebook._live import LiveTraits, live_poll
from logfire_notebook._paint_gate import PaintGate, frontend_may_paint
from logfire_notebook._sources.logfire import LogfireSource
from logfire_notebook._timerange import TimeRange
from logfire_notebook._widget_window import WindowedFrame, WindowRequest

if TYPE_CHECKING:
    import polars as pl
    from typing_extensions import Unpack

    from logfire_notebook._client import LogfireClient
    from logfire_notebook._sources.base import Source

__all__ = ["LogfireTable", "QueryTable", "TableOptions"]


def _bound_text(value: Any) -> str:
    """A trait's text for what a user passed as since/until: `"1h"` becomes `"now-1h"`, datetimes ISO."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "now")):
        return ""
    return TimeRange.parse(value).to_json()["since"] or ""


def _in_marimo() -> bool:
    marimo = sys.modules.get("marimo")
    try:
        return marimo is not None and bool(marimo.running_in_notebook())
    except Exception:
        return False


_INTERRUPTED = "The query was interrupted: pick a range, or set min_timestamp, to run it again."

_loop_lock = threading.Lock()
_loop_ref: asyncio.AbstractEventLoop | None = None


def _loop() -> asyncio.AbstractEventLoop:
    """The process's widget event loop, started on first use on a daemon thread. One loop for every widget:
    the kernel's own loop (if any) is busy with messages, and a thread per query could not be cancelled."""
    global _loop_ref
    with _loop_lock:
        if _loop_ref is None or _loop_ref.is_closed():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="QueryTable queries", daemon=True).start()
            _loop_ref = loop
        return _loop_ref


def _submit(coroutine: Coroutine[Any, Any, _Result]) -> concurrent.futures.Future[_Result]:
    return asyncio.run_coroutine_threadsafe(coroutine, _loop())


def _wait(future: concurrent.futures.Future[_Result]) -> None:
    """Waits for a run in short steps: once polars is loaded, a single untimed wait is not interrupted by
    Ctrl-C (its SIGINT handler keeps the lock wait going), while a timed one returns and lets it through."""
    while not concurrent.futures.wait([future], timeout=0.2).done:
        pass


def _close_later(source: Source) -> None:
    """Closes the source's connections, on the loop that uses them (at widget close or garbage collection)."""
    loop = _loop_ref
    if loop is not None and not loop.is_closed() and loop.is_running():
        asyncio.run_coroutine_threadsafe(source.aclose(), loop)


@dataclass(frozen=True)
class _Result:
    """One run's outcome, built off to the side and shown only if no newer run started meanwhile."""

    spec: tuple[str, str]
    window: tuple[datetime, datetime] | None
    frame: pl.DataFrame | None
    timeline: dict[str, Any] | None
    note: str
    elapsed_ms: float | None
    error: str | None = None


class TableOptions(TypedDict, total=False):
    """What every table takes besides its query and its store's settings; see `QueryTable`."""

    since: Any
    until: Any
    limit: int | None
    data: pl.DataFrame | None
    data_elapsed: float | None
    all_rows: bool


# Traits that name the range: setting them to the range already queried runs nothing.
_RANGE_TRAITS = ("min_timestamp", "max_timestamp")


class QueryTable(ChartTraits, LiveTraits, BundledWidget):
    """An Arrow table widget for a query of any source, with a time-range picker and a timeline.

    `QueryTable(query=None, *, source=None, since=None, until=None, limit=None, data=None)`. `data` is a
    polars DataFrame shown as is: with a query it is the first result (so a caller that already ran the query
    does not run it twice); without one it is all the widget shows, and the range filters it locally.
    """

    query = traitlets.Unicode("").tag(sync=True)
    """The query (read-only in the browser, shown nowhere secret). Empty for a DataFrame shown as is."""

    language = traitlets.Unicode("SQL").tag(sync=True)
    """What `query` is written in (`"SQL"`, `"LogQL"`), from the source."""

    min_timestamp = traitlets.Unicode("now-1h").tag(sync=True)
    """Start of the range: `"now-6h"`-style relative text or an ISO time. Setting it re-runs the query."""

    max_timestamp = traitlets.Unicode("").tag(sync=True)
    """End of the range: `""` for now, else relative text (`"now-1d"`) or an ISO time. Setting it re-runs."""

    limit = traitlets.Int(wire.DEFAULT_LIMIT).tag(sync=True)
    """Most rows a query returns; the footer marks a result that reaches it."""

    all_rows = traitlets.Bool(False).tag(sync=True)
    """Fetch every row of the range, in pages past the one-query cap (the magic's `--all`; for Logfire the
    SELECT needs `start_timestamp, trace_id, span_id`); `limit` then applies to nothing and the footer claims
    no limit. A source that cannot page fetches `limit` rows as usual."""

    limit_hint = traitlets.Unicode("narrow the range or raise `limit`").tag(sync=True)
    """What the footer suggests when the row limit cut the result (the magic: "raise --limit or use --all")."""

    utc = traitlets.Bool(False).tag(sync=True)
    """Show times in UTC rather than the browser's time zone (the UTC box of the picker)."""

    local = traitlets.Bool(False).tag(sync=True)
    """True when showing a DataFrame without a query: the range filters it in the kernel, no query runs."""

    status = traitlets.Dict().tag(sync=True)
    """What the footer shows: `state` (loading/ready/error), `rows`, `elapsed_ms`, `limit_reached`,
    `error` (one sentence), the queried `min_timestamp`/`max_timestamp`, and the instants they resolved to
    (`from_ms`/`to_ms`, and `window` as two ISO strings)."""

    revision = traitlets.Int(0).tag(sync=True)
    """Bumped when a new result is ready, in the same message as its `status` and `head` (and `timeline`,
    except for a range picked in the browser: its rows go as soon as they are here, the timeline's count
    follows in a message of its own)."""

    head = traitlets.Bytes(b"").tag(sync=True)
    """The result's first rows as Arrow IPC (a binary buffer): all of them when `status["rows"]` is small,
    else the first screenful, so the first paint needs no round trip. The browser asks for other windows."""

    timeline = traitlets.Dict().tag(sync=True)
    """The timeline: `histogram` (bucket `starts`, `counts`, `interval`, `from`, `to`, epoch ms, and optionally
    `levels`, level name -> count per bucket, for bars stacked by level; None when there is none), `note` (why
    there is none, or "") and `revision`, the result it counts (the browser shows the old one dimmed while the
    new result's is being counted)."""

    trace_column = traitlets.Unicode("").tag(sync=True)
    """The result's column that holds trace ids (`trace_id` for Logfire rows; `""`: none). The browser offers
    "Open trace" on rows with a value there, and asks the kernel for that trace's spans (see `_trace`)."""

    def __init__(
        self,
        query: str | None = None,
        *,
        source: Source | None = None,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
        data: pl.DataFrame | None = None,
        data_elapsed: float | None = None,
        all_rows: bool = False,
    ) -> None:
        super().__init__()
        self._source = source if source is not None else LogfireSource()
        self._data_elapsed = data_elapsed  # seconds the caller's query for `data` took, for the footer
        self._listeners: list[Callable[[pl.DataFrame], None]] = []
        self._frame: pl.DataFrame | None = None  # the result shown (after local filtering)
        self._local_data: pl.DataFrame | None = None  # a DataFrame shown without a query
        self._windows: WindowedFrame | None = None  # the shown result, as the browser reads it
        self._queried: tuple[str, str] | None = None
        # Closes the source's connections when the widget closes or is collected.
        self._closer: weakref.finalize[Any, Any] | None = weakref.finalize(self, _close_later, self._source)
        self._lock = threading.RLock()
        self._generation = 0
        self._future: concurrent.futures.Future[_Result] | None = None  # the newest run
        self._started = False  # the range observer waits for the first run below
        # A timeline counted after its rows waits for a browser to paint them (see `_paint_gate`).
        self._gate = PaintGate()
        self._displayed = False  # `_repr_mimebundle_` ran: a front end may be drawing it
        self.on_msg(self._on_message)

        # The widget opened (empty) above, so the browser builds its model while the query runs; the settings
        # and the first result then reach it as one update, not one per trait (its first paint waits for
        # every message before it). Opening with the result instead measured no faster (bench/table_scale).
        with self.hold_sync():
            with self.hold_trait_notifications():
                self.query = (query or "").strip()
                self.language = self._source.language
                self.local = not self.query
                if limit is not None:
                    self.limit = limit
                self.all_rows = all_rows
                if since is None and self.local and data is not None:
                    since, until = _extent(data, self._source.time_column)
                self.min_timestamp = _bound_text(since) or "now-1h"
                self.max_timestamp = _bound_text(until)
            self._started = True
            # The rows go first and the timeline is counted once a browser painted them, or at once where none
            # will (in marimo before: its cells read the widget right after this returns): with `data`, the
            # caller already ran this query for this range and only the count remains; a DataFrame's count
            # takes ~15 ms a million rows.
            later = not _in_marimo()
            if later and frontend_may_paint():
                _open_after_cell_unless_shown(self)
            else:
                self._gate.open(sys.maxsize)  # nothing will paint it: count at once
            if self.local:
                self._local_data = data if data is not None else _empty_frame()
                self._run(count_later=later)
            else:
                self._run(data, count_later=data is not None and later)

    # -- Python API --------------------------------------------------------------------------------------

    @property
    def df(self) -> pl.DataFrame:
        """The rows for the current range, as a polars DataFrame (empty after an error); waits for the whole
        run, the timeline's count too (which, for a result shown with its rows first, starts now if the browser
        has not yet said it painted them: whoever reads `.df` wants the run done, not the browser's pace)."""
        future = self._future
        if future is not None:
            with self._gate.hurried():
                _wait(future)
        return self._frame if self._frame is not None else _empty_frame()

    @property
    def time_range(self) -> TimeRange:
        """The current range as a `TimeRange`."""
        return TimeRange.parse(self.min_timestamp, self.max_timestamp or None)

    def __repr__(self) -> str:
        rows = self._frame.height if self._frame is not None else 0
        name = type(self).__name__
        return f"{name}({self.query or 'DataFrame'!r}, range={self._range_label()!r}, rows={rows})"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        # The text a saved notebook shows where widgets do not render (GitHub, nbconvert): the footer line.
        self._displayed = True
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle  # anywidget: (data, metadata)
        if isinstance(data, dict):
            data["text/plain"] = self.footer_text()
        return bundle

    def footer_text(self) -> str:
        """The footer line, as the widget shows it: `1,204 rows · 0.31 s · Last 1 day` and the limit note."""
        status = self.status
        if status.get("state") == "error":
            return f"{self._range_label()}: {status.get('error', 'the query failed')}"
        elapsed = status.get("elapsed_ms")
        limit = status.get("limit") if status.get("limit_reached") else None
        return footer(
            int(status.get("rows", 0)),
            None if elapsed is None else elapsed / 1000,
            self._range_label(),
            limit,
            self.limit_hint,
        )

    def on_result(self, callback: Callable[[pl.DataFrame], None]) -> None:
        """Calls `callback(df)` with each new result the widget shows after its first: a range picked in the
        browser, dragged on the timeline or set from Python. The magics use it to keep `VAR` and `_` on the
        rows on screen. It may run on the widget's query thread: keep it short."""
        self._listeners.append(callback)

    def _range_label(self) -> str:
        try:
            return self.time_range.label()
        except LogfireError:
            return f"{self.min_timestamp} → {self.max_timestamp or 'now'}"

    # -- running ---------------------------------------------------------------------------------------

    @traitlets.validate("min_timestamp", "max_timestamp")
    def _valid_bound(self, proposal: dict[str, Any]) -> str:
        # "1h" is kept as "now-1h" and ISO times in one form; unreadable text raises TimeRangeError here.
        text = _bound_text(proposal["value"])
        if not text and proposal["trait"].name == "min_timestamp":
            from logfire_notebook._exceptions import TimeRangeError

            raise TimeRangeError("The range needs a start: use e.g. 'now-6h', '15m' or an ISO time.")
        return text

    @traitlets.validate("limit")
    def _valid_limit(self, proposal: dict[str, Any]) -> int:
        value = int(proposal["value"])
        most = self._source.max_limit
        if not 1 <= value <= most:
            raise ValueError(f"limit must be between 1 and {most:,} (the API's maximum), not {value}.")
        return value

    @traitlets.observe("min_timestamp", "max_timestamp", "limit", "all_rows")
    def _on_range(self, change: dict[str, Any]) -> None:
        if not self._started:
            return
        # The browser sets both ends in one message, which fires this twice: run once per distinct range.
        if self._queried is not None and self._queried == self._spec() and change["name"] in _RANGE_TRAITS:
            return
        self._run_after(change["name"])

    def _run_after(self, trait: str) -> None:
        """Runs the query after a change of `trait`, where the change came from."""
        if trait in self._property_lock and not _in_marimo():
            # From the browser (ipywidgets locks the names it is setting): run beside the kernel's message
            # loop, so a newer range can start at once and supersede this one.
            self._run_in_background()
        else:
            # From Python, or in marimo, whose cells re-run right after this returns and read `.df`.
            self._run()

    def _spec(self) -> tuple[str, str]:
        return (self.min_timestamp, self.max_timestamp)

    def _begin(self) -> int:
        """Starts a run: it supersedes every earlier one, whose request is cancelled (closed on the wire)."""
        with self._lock:
            self._generation += 1
            self._queried = self._spec()
            generation = self._generation
            if self._future is not None:
                self._future.cancel()
        self.status = {
            "min_timestamp": self.min_timestamp,
            "max_timestamp": self.max_timestamp,
            "state": "loading",
        }
        return generation

    def _run(self, data: pl.DataFrame | None = None, *, count_later: bool = False) -> None:
        """Runs the query for the current range (or filters the DataFrame) and shows it before returning.
        With `count_later` the timeline's count follows in a message of its own (see `_count_later`)."""
        generation = self._begin()
        spec, timeline = self._spec(), not count_later
        future: concurrent.futures.Future[_Result] | None = None
        try:
            result = self._compute_here(spec, data, timeline=timeline)
            if result is None:
                future = self._start(self._compute(spec, data, timeline=timeline))
                _wait(future)
                result = future.result()
        except concurrent.futures.CancelledError:
            return  # a newer run (from another thread) superseded this one and shows its own result
        except BaseException:
            if future is not None:
                future.cancel()  # Ctrl-C while waiting: hang up on the server too
            with self._lock:
                self._queried = None  # so that setting the same range again runs it
            self._publish(generation, _Result(spec, None, None, None, "", None, _INTERRUPTED))
            raise
        later = count_later and result.error is None
        revision = self._publish(generation, result, timeline_later=later)
        if later and revision is not None:
            self._start(self._count_later(revision, result))

    async def _count_later(self, revision: int, result: _Result) -> _Result:
        """Counts the timeline of the result shown as `revision` and sends it (unless a newer result replaced
        it): the rows need not wait for it, a second query as long as theirs. It starts once a browser has
        painted those rows (or none will; see `_paint_gate`): counting meanwhile took the cores they need."""
        assert result.frame is not None and result.window is not None
        await self._gate.wait(revision)
        try:
            timeline, note = await self._count_timeline(result.frame, *result.window)
        except Exception as exc:  # a bug must still end the timeline's pending state, in one sentence
            timeline, note = None, f"No timeline: the widget failed: {exc}"
        counted = _Result(result.spec, result.window, result.frame, timeline, note, result.elapsed_ms)
        self._publish_timeline(revision, counted)
        return counted

    def _run_in_background(self) -> None:
        generation = self._begin()
        spec = self._spec()

        async def work() -> _Result:
            # The rows go to the browser as soon as they are here; the timeline's count follows in a
            # message of its own (it takes as long as the rows query again, and a pick waits on the rows).
            try:
                result = await self._compute(spec, timeline=False)
                revision = self._publish(generation, result, timeline_later=result.error is None)
                if revision is not None and result.error is None:
                    result = await self._count_later(revision, result)
            except Exception as exc:  # a bug must still end the loading state, in one sentence
                result = _Result(spec, None, None, None, "", None, f"The widget failed: {exc}")
                self._publish(generation, result)
            return result

        self._start(work())

    def _start(self, coroutine: Coroutine[Any, Any, _Result]) -> concurrent.futures.Future[_Result]:
        future = _submit(coroutine)
        with self._lock:
            self._future = future
        return future

    async def _compute(
        self, spec: tuple[str, str], data: pl.DataFrame | None = None, *, timeline: bool = True
    ) -> _Result:
        """The rows (and timeline, unless `timeline=False`) for `spec`; reads the widget's settings, changes
        nothing. `elapsed_ms` is the rows' time: the footer says how long the query took."""
        here = self._compute_here(spec, data, timeline=timeline)
        if here is not None:
            return here
        t0 = time.perf_counter()
        window = None
        try:
            window = _resolve(spec)
            frame = await self._query(*window)
            elapsed = (time.perf_counter() - t0) * 1000
            histogram, note = await self._count_timeline(frame, *window) if timeline else (None, "")
        except LogfireError as exc:
            return _Result(spec, window, None, None, "", None, str(exc))
        return _Result(spec, window, frame, histogram, note, elapsed)

    def _compute_here(
        self, spec: tuple[str, str], data: pl.DataFrame | None, *, timeline: bool
    ) -> _Result | None:
        """`_compute` for what needs no query: a DataFrame shown as is (filtered here), or the rows a caller
        gives without their timeline. Done on the calling thread: the hop to the query thread and back cost a
        few ms, and more on a busy machine, before the first rows could leave. None when a query is needed."""
        if not self.local and (data is None or timeline):
            return None
        t0 = time.perf_counter()
        window = None
        try:
            window = _resolve(spec)
            if data is not None:
                frame = data
                elapsed = None if self._data_elapsed is None else self._data_elapsed * 1000
            else:
                frame = _filter_frame(self._local_data, *window, self._source.time_column)
                elapsed = (time.perf_counter() - t0) * 1000
            histogram, note = self._local_timeline(frame, *window) if timeline else (None, "")
        except LogfireError as exc:
            return _Result(spec, window, None, None, "", None, str(exc))
        return _Result(spec, window, frame, histogram, note, elapsed)

    def close(self) -> None:
        """Closes the widget (and the HTTP connections it opened)."""
        # getattr: ipywidgets also calls close() from __del__, even for a widget whose __init__ failed.
        future, closer = getattr(self, "_future", None), getattr(self, "_closer", None)
        if future is not None:
            future.cancel()
        if hasattr(self, "_lock"):
            self._live_stop()
        if closer is not None:
            closer()
        super().close()

    async def _query(self, start: datetime, end: datetime) -> pl.DataFrame:
        from logfire_notebook._polars import arrow_to_polars

        query_all = getattr(self._source, "query_all", None) if self.all_rows else None
        if query_all is not None:
            return await query_all(self.query, start, end)  # type: ignore[no-any-return]
        table = await self._source.query_arrow(self.query, start, end, self.limit)
        # A source whose times need more than microseconds (Loki's nanoseconds) converts them itself.
        convert = getattr(self._source, "to_polars", arrow_to_polars)
        return convert(table)

    async def _count_timeline(
        self, frame: pl.DataFrame, start: datetime, end: datetime
    ) -> tuple[dict[str, Any] | None, str]:
        """The histogram of the whole range: counted locally for a DataFrame, by the backend for a query."""
        if self.local:
            return self._local_timeline(frame, start, end)
        column = self._source.time_column
        if column not in frame.columns:
            return None, f"No timeline: the query's result has no {column} column."
        rows_timeline = getattr(self._source, "rows_timeline", None)
        note = rows_timeline(self.query) if rows_timeline is not None else None
        if note is not None:  # the rows are the points in time themselves (a Loki metric query)
            return wire.histogram_from_frame(frame, start, end, column), note
        interval = wire.bucket_interval(start, end)
        try:
            counts = await self._source.count(self.query, start, end, interval)
        except LogfireError as exc:
            # The rows still show; the note says why the timeline does not.
            return None, f"No timeline: {exc}"
        histogram = wire.histogram_from_counts(
            list(counts.starts), list(counts.counts), interval, start, end, counts.levels
        )
        return histogram, ""

    def _local_timeline(
        self, frame: pl.DataFrame, start: datetime, end: datetime
    ) -> tuple[dict[str, Any] | None, str]:
        """The histogram of a DataFrame shown without a query: its rows within [start, end)."""
        column = self._source.time_column
        timeline = wire.histogram_from_frame(
            self._local_data if self._local_data is not None else frame, start, end, column
        )
        return timeline, "" if timeline else f"No {column} column: the range filters nothing."

    def _publish(self, generation: int, result: _Result, *, timeline_later: bool = False) -> int | None:
        """Shows `result` unless a newer run has started since (then it is dropped, never shown) and returns
        its revision (None when dropped). With `timeline_later` its timeline is left out, for
        `_publish_timeline` to send when it is counted (the browser shows the old one as pending meanwhile:
        its `revision` is not the result's)."""
        windows = WindowedFrame(result.frame) if result.frame is not None else None
        head = windows.head() if windows is not None else b""
        with self._lock:
            if generation != self._generation:
                return None
            self._frame = result.frame
            if self._windows is not None:
                self._windows.retire()
            self._windows = windows
            status: dict[str, Any] = {"min_timestamp": result.spec[0], "max_timestamp": result.spec[1]}
            if result.window is not None:
                start, end = result.window
                status.update(
                    from_ms=start.timestamp() * 1000,
                    to_ms=end.timestamp() * 1000,
                    window=[start.isoformat(), end.isoformat()],
                )
            if result.error is not None:
                status.update(state="error", error=result.error)
            else:
                rows = result.frame.height if result.frame is not None else 0
                status.update(state="ready", rows=rows)
                if result.elapsed_ms is not None:
                    status["elapsed_ms"] = round(result.elapsed_ms, 1)
                if not self.local:
                    paged = self.all_rows and hasattr(self._source, "query_all")
                    limit = None if paged else self.limit
                    status.update(limit=limit, limit_reached=limit is not None and rows >= limit)
            # One message for all: the browser never sees a status without the rows it describes.
            with self.hold_sync():
                self.status = status
                self.head = head
                if not timeline_later:
                    self.timeline = self._timeline_of(result, self.revision + 1)
                elif not self.timeline:  # a first result: the browser shows its timeline as pending, not none
                    self.timeline = {"histogram": None, "note": "", "revision": self.revision}
                self.trace_column = self._trace_column_of(result.frame)
                self.revision += 1
            first, revision = generation == 1, self.revision
        if result.frame is not None and result.error is None and not first:
            self._tell_listeners(result.frame)
        return revision

    def _publish_timeline(self, revision: int, result: _Result) -> None:
        """Sends the timeline of the result `_publish` showed as `revision`, unless another result (a newer
        run's, or a Live poll's) has replaced it since."""
        with self._lock:
            if revision == self.revision:
                self.timeline = self._timeline_of(result, revision)

    @staticmethod
    def _timeline_of(result: _Result, revision: int) -> dict[str, Any]:
        # `revision`: the result it counts, so the browser never draws it over another result's rows.
        return {"histogram": result.timeline, "note": result.note, "revision": revision}

    def _tell_listeners(self, frame: pl.DataFrame) -> None:
        for callback in list(self._listeners):
            try:
                callback(frame)
            except Exception as exc:  # a listener's bug must not stop the widget showing results
                print(f"{type(self).__name__}: a result listener failed: {exc}", file=sys.stderr)

    # -- the browser's requests ------------------------------------------------------------------------

    def _on_message(self, _widget: Any, content: Any, _buffers: list[bytes]) -> None:
        if isinstance(content, dict) and content.get("type") == "painted":
            revision = content.get("revision")
            if isinstance(revision, int) and not isinstance(revision, bool):
                self._gate.open(revision)  # a view drew this result's rows: its timeline may be counted
            return
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        request_id = content.get("id")
        if content.get("kind") == "trace":
            self._open_trace(request_id, content)
            return
        if content.get("kind") == "live":
            self._live_poll(request_id)
            return
        request: WindowRequest | None = None
        try:
            if content.get("kind") == "chart":
                with self._lock:
                    frame = self._frame
                reply, buffers = chart_reply(frame, content)
            elif content.get("kind") != "window":
                raise ValueError(f"unknown request {content.get('kind')!r}")
            else:
                request = WindowRequest.parse(content)
                reply, buffers = self._window_reply(request)
        except Exception as exc:  # an answer with the same id, so the browser's promise never hangs
            self.send({"type": "reply", "id": request_id, "ok": False, "error": f"The widget failed: {exc}."})
            return
        self.send({"type": "reply", "id": request_id, **reply}, buffers)
        windows = self._windows
        if (
            request is not None
            and request.sort is not None
            and windows is not None
            and not reply.get("stale")
        ):
            windows.sort_ahead(request.sort)

    def _window_reply(self, request: WindowRequest) -> tuple[dict[str, Any], list[bytes]]:
        with self._lock:
            revision, windows = self.revision, self._windows
        if request.revision != revision or windows is None:
            # The browser asked about a result since replaced; the new one is on its way in `head`. Not an
            # error to show: the browser drops the answer.
            return {"ok": True, "stale": True, "revision": revision}, []
        window = windows.window(request.offset, request.count, request.sort)
        reply = {
            "ok": True,
            "revision": revision,
            "offset": request.offset,
            "count": window.height,
            "rows": windows.rows,
        }
        return reply, [wire.to_ipc(window.to_arrow())]

    def _live_poll(self, request_id: Any) -> None:
        """Answers a Live poll off the kernel's message loop (see `_live`), with the request's id."""

        async def work() -> None:
            try:
                reply = await live_poll(self)
            except Exception as exc:  # one sentence, with the same id, so the browser's promise never hangs
                reply = {"ok": False, "error": f"The widget failed: {exc}"}
            self.send({"type": "reply", "id": request_id, **reply})

        asyncio.run_coroutine_threadsafe(work(), _loop())

    # -- opening a trace -------------------------------------------------------------------------------

    def _trace_column_of(self, frame: pl.DataFrame | None) -> str:
        """Which column of a result holds trace ids: the source says (see `_sources.base.TraceSource`); for a
        DataFrame shown without a query, Logfire's and Loki's usual names."""
        if frame is None:
            return ""
        if self.local:
            from logfire_notebook._trace import trace_column

            return trace_column(frame.columns) or ""
        finder = getattr(self._source, "trace_column", None)
        return (finder(frame) or "") if finder is not None else ""

    def _open_trace(self, request_id: Any, content: dict[str, Any]) -> None:
        """Answers the browser's "trace" request off the kernel's message loop: one query by trace id, in a
        window around the row's time (`at_ms`), replied as Arrow IPC with the request's id."""

        async def work() -> None:
            try:
                reply, buffers = await self._trace_reply(content.get("trace_id"), content.get("at_ms"))
            except Exception as exc:  # one sentence, with the same id, so the browser's promise never hangs
                message = str(exc) if isinstance(exc, LogfireError) else f"The widget failed: {exc}"
                self.send({"type": "reply", "id": request_id, "ok": False, "error": message})
                return
            self.send({"type": "reply", "id": request_id, "ok": True, **reply}, buffers)

        asyncio.run_coroutine_threadsafe(work(), _loop())

    async def _trace_reply(self, trace_id: Any, at_ms: Any) -> tuple[dict[str, Any], list[bytes]]:
        from logfire_notebook import _trace

        t0 = time.perf_counter()
        trace_id = _trace.normalize_trace_id(trace_id)
        if isinstance(at_ms, (int, float)):
            window = _trace.trace_window(datetime.fromtimestamp(at_ms / 1000, tz=timezone.utc))
        else:
            start, until = self.time_range.resolve()
            window = (start, until or datetime.now(timezone.utc))
        query_trace = getattr(self._source, "query_trace", None)
        if self.local:
            table = _trace.spans_from_frame(self._local_data, trace_id).to_arrow()
        elif query_trace is None:
            raise LogfireError(f"This {self._source.language} source cannot open traces.")
        else:
            table = await query_trace(trace_id, *window)
        reply = _trace.trace_reply(table, trace_id, window, (time.perf_counter() - t0) * 1000)
        return reply, [wire.to_ipc(table)]


def _open_after_cell_unless_shown(widget: QueryTable) -> None:
    """Opens the widget's paint gate when the running cell ends without having displayed it: no browser will
    paint a widget kept in a variable, so its timeline is counted then, not after the gate's wait."""
    from IPython import get_ipython

    shell, ref = get_ipython(), weakref.ref(widget)

    def after_cell(*_: Any) -> None:
        shell.events.unregister("post_run_cell", after_cell)
        table = ref()
        if table is not None and not table._displayed:
            table._gate.open(table.revision)

    shell.events.register("post_run_cell", after_cell)


def _resolve(spec: tuple[str, str]) -> tuple[datetime, datetime]:
    """The instants a range's text names now (an open end is now); raises TimeRangeError for bad text."""
    start, until = TimeRange.parse(spec[0], spec[1] or None).resolve()
    return start, until or datetime.now(timezone.utc)


def _empty_frame() -> pl.DataFrame:
    import polars as pl

    return pl.DataFrame()


def _extent(frame: pl.DataFrame, time_column: str) -> tuple[str | None, str | None]:
    """A DataFrame's time span as an absolute range (the picker's start for local data)."""
    import polars as pl

    if time_column not in frame.columns or frame.height == 0:
        return None, None
    column = frame.get_column(time_column)
    if not isinstance(column.dtype, pl.Datetime):
        return None, None
    low, high = column.min(), column.max()
    if not isinstance(low, datetime) or not isinstance(high, datetime):
        return None, None
    from datetime import timedelta

    def iso(value: datetime) -> str:
        return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).isoformat()

    # A little margin so the last row is inside the (end-exclusive) range.
    return iso(low), iso(high + timedelta(milliseconds=1))


def _utc_naive(frame: pl.DataFrame, time_column: str) -> pl.Expr | None:
    """The time column as naive UTC (naive columns are UTC already), or None when there is no such column."""
    import polars as pl

    dtype = frame.schema.get(time_column)
    if not isinstance(dtype, pl.Datetime):
        return None
    column = pl.col(time_column)
    if dtype.time_zone is not None:
        column = column.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
    return column


def _filter_frame(
    frame: pl.DataFrame | None, start: datetime, end: datetime, time_column: str
) -> pl.DataFrame:
    if frame is None:
        return _empty_frame()
    column = _utc_naive(frame, time_column)
    if column is None:
        return frame
    start, end = start.replace(tzinfo=None), end.replace(tzinfo=None)
    # A range holding every row (a DataFrame's first showing: the range is its extent) keeps the frame as is:
    # filtering a million rows copies them all (8-15 ms, on the way to the first paint); this reads two values.
    low, high, nulls = frame.select(
        column.min().alias("low"), column.max().alias("high"), column.null_count().alias("nulls")
    ).row(0)
    if nulls == 0 and low is not None and start <= low and high < end:
        return frame
    return frame.filter((column >= start) & (column < end))


class LogfireTable(QueryTable):
    """The table widget over Logfire SQL (or the local backend).

    `LogfireTable(sql=None, *, since=None, until=None, limit=None, environment=None, read_token=None,
    base_url=None, client=None, data=None, data_elapsed=None, all_rows=False)`. `data` is a polars DataFrame
    shown as is: with `sql` it is the first result (so a caller that already ran the query does not run it
    twice; `data_elapsed` is how long that took, for the footer); without `sql` it is all the widget shows, and
    the range filters it locally. `all_rows=True` fetches every row of each range in pages (`--all`). The
    options every table takes are `QueryTable`'s (`TableOptions`).
    """

    def __init__(
        self,
        sql: str | None = None,
        *,
        environment: str | Sequence[str] | None = None,
        read_token: str | None = None,
        base_url: str | None = None,
        client: LogfireClient | None = None,
        **options: Unpack[TableOptions],
    ) -> None:
        source = LogfireSource(client, read_token=read_token, base_url=base_url, environment=environment)
        super().__init__(sql, source=source, **options)

    @property
    def sql(self) -> str:
        """The SQL query (the `query` trait)."""
        return self.query
