"""How a LogfireTable's rows reach the browser: the kernel keeps the frame, the browser asks for windows.

A million-row result would be hundreds of megabytes on the websocket and in the browser's heap, and every
row would cross before the first is drawn. Instead:

- The *head* (the first HEAD_ROWS rows of the result) travels with the result itself, in the `head` trait
  that changes in the same message as `status` and `revision`: the first rows paint with no round trip.
- A result of at most WHOLE_MAX_ROWS rows travels whole in the head; the browser then scrolls and sorts it
  without asking again (below that size one message is faster end to end than windows; bench/table_scale.py).
- For larger results the browser asks for the rows it shows plus a margin: a custom message
  `{"type": "request", "id", "kind": "window", "revision", "offset", "count", "sort"}`, answered by
  `{"type": "reply", "id", "ok", "revision", "offset", "count", "rows"}` with the rows as Arrow IPC in one
  binary buffer (as quak does). A request for a result that has since been replaced gets `stale: true`
  and no rows (the new result is on its way); bad input gets `ok: false` and one sentence.
- Sorting runs here, on the whole frame (Polars): a window request names its sort, the kernel keeps the
  row order of the last few sorts, and a window of a sorted view is a gather of those row numbers. Rows
  sort like the browser sorts a whole result: stable, nulls (and NaN) last in both directions.
- A full row order of a million strings takes Polars seconds (an arg-sort of text is far slower than a
  sort of it), while the first rows of that order (a top-k) take a fraction of it. So the first windows of
  a new sort, the ones on screen right after a header click, come from a top-k, and the full order is
  computed on a worker thread for the windows further down (started a second after the top-k's reply is
  sent, and only for the order still shown: the two would share the cores with the browser's paint).

Windows are Arrow IPC made by `_widget_data.to_ipc`, uncompressed. Measured on the bench's log-like frame
(bench/table_scale.py's columns): a 300-row window is 69 KB plain, 36 KB with LZ4 and 23 KB with ZSTD;
compressing takes the kernel about 2 ms, and decoding in the browser adds 0.2 ms (lz4js) or 0.4 ms (fzstd;
flechette 2.6 reads compressed buffers only through a codec the page registers, and fzstd's output needs
copying to an aligned buffer first). On a local kernel's websocket the 46 KB saved move in well under the
2 ms spent, so windows stay uncompressed and the bundle carries no codec; over a slow remote link (10
Mbit/s) LZ4 would save about 35 ms a window.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from logfire_notebook import _widget_data as wire

if TYPE_CHECKING:
    import polars as pl

__all__ = [
    "HEAD_ROWS",
    "MAX_WINDOW_ROWS",
    "WHOLE_MAX_ROWS",
    "Sort",
    "WindowRequest",
    "WindowedFrame",
]

# Rows sent with the result: a screenful and a prefetch margin, so the first paint needs no request. 100 (the
# first screen shows ~20-30) painted the first rows no sooner (bench/table_scale.py --head-rows, load 5-9) and
# makes the browser ask for the margin at once; below the browser's block (window.ts BLOCK, 100 rows, held
# only whole) the first screen would show placeholders.
HEAD_ROWS = 200
# Results up to this many rows travel whole in the head. bench/table_scale.py --whole-max: at 2,000 rows
# whole and windowed paint first rows alike (268 vs 303 ms) and whole scrolls and sorts with no round trip
# (61/33 ms vs 146/169 ms); at 5,000 whole is slower to the first rows (535 vs 216 ms).
WHOLE_MAX_ROWS = 2_000
# The most rows one window request may ask for (the browser asks for a few hundred).
MAX_WINDOW_ROWS = 5_000
# Row orders kept per result: a sort toggled back and forth, or two views of one widget, sort once.
KEPT_SORTS = 4
# Windows ending within this many rows of the top of a sort are answered by a top-k while the full order
# is still being computed.
TOP_ROWS = 2_000
# Seconds between a new sort's first reply and the start of its full order: the order takes both cores for
# seconds on a million rows, and the browser is still decoding and painting that reply (on a small machine
# that paint then took hundreds of ms longer). A window past TOP_ROWS asked sooner starts the order at once.
SORT_AHEAD_DELAY = 1.0

_sorter_lock = threading.Lock()
_sorter: concurrent.futures.ThreadPoolExecutor | None = None


def _sort_pool() -> concurrent.futures.ThreadPoolExecutor:
    """One worker thread for full sorts (Polars releases the GIL and uses its own threads inside)."""
    global _sorter
    with _sorter_lock:
        if _sorter is None:
            _sorter = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="LogfireTable sort")
        return _sorter


@dataclass(frozen=True)
class Sort:
    column: str
    descending: bool


@dataclass(frozen=True)
class WindowRequest:
    revision: int
    offset: int
    count: int
    sort: Sort | None

    @classmethod
    def parse(cls, content: dict[str, Any]) -> WindowRequest:
        """The browser's request, checked: anything else raises ValueError with one sentence."""
        revision, offset, count = (content.get(k) for k in ("revision", "offset", "count"))
        for name, value in (("revision", revision), ("offset", offset), ("count", count)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"a window request needs a non-negative integer {name}, not {value!r}")
        assert isinstance(revision, int) and isinstance(offset, int) and isinstance(count, int)
        if count > MAX_WINDOW_ROWS:
            raise ValueError(f"a window request asks for at most {MAX_WINDOW_ROWS:,} rows, not {count:,}")
        sort = content.get("sort")
        if sort is None:
            return cls(revision, offset, count, None)
        if (
            not isinstance(sort, dict)
            or not isinstance(sort.get("column"), str)
            or sort.get("direction") not in ("asc", "desc")
        ):
            raise ValueError(f"a window request's sort is {{column, direction: asc|desc}}, not {sort!r}")
        return cls(revision, offset, count, Sort(sort["column"], sort["direction"] == "desc"))


class WindowedFrame:
    """One result as the browser reads it: its head, and any window of it in any sort order."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame
        self._orders: OrderedDict[Sort, concurrent.futures.Future[pl.Series]] = OrderedDict()
        self._lock = threading.Lock()
        self._latest_sort: Sort | None = None  # the order of the latest window asked
        self._retired = False

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def whole(self) -> bool:
        """True when the head is the whole result (the browser needs no windows)."""
        return self.rows <= WHOLE_MAX_ROWS

    def head(self) -> bytes:
        """The first rows (all of them for a small result) as Arrow IPC."""
        rows = self.rows if self.whole else HEAD_ROWS
        return wire.to_ipc(self.frame.head(rows).to_arrow())

    def window(self, offset: int, count: int, sort: Sort | None = None) -> pl.DataFrame:
        """Rows [offset, offset + count) of the result in `sort` order (cut at the end)."""
        offset = min(offset, self.rows)
        count = min(count, self.rows - offset)
        self._latest_sort = sort
        if sort is None:
            return self.frame.slice(offset, count)
        with self._lock:
            order = self._orders.get(sort)
        if (order is None or not order.done()) and offset + count <= TOP_ROWS:
            _sort_key(self.frame, sort)  # an unknown column fails here, in one sentence
            first = _first_in_order(self.frame, sort, offset + count)
            return self.frame[first.slice(offset, count)]
        return self.frame[self._order(sort).result().slice(offset, count)]

    def sort_ahead(self, sort: Sort) -> None:
        """Starts the full order for `sort` on the worker SORT_AHEAD_DELAY from now, for the windows further
        down. The caller does it once its reply is sent: the sort takes Polars' threads, which that reply's
        own work, and the browser painting it, also need."""
        with self._lock:
            if sort in self._orders:
                return
        timer = threading.Timer(SORT_AHEAD_DELAY, self._sort_later, (sort,))
        timer.daemon = True
        timer.start()

    def retire(self) -> None:
        """This result was replaced: sorts not yet started never start (nobody will read them)."""
        self._retired = True

    def _sort_later(self, sort: Sort) -> None:
        # Only the order the browser shows now: headers clicked in a row start one full sort, not one each.
        if not self._retired and sort == self._latest_sort:
            self._order(sort)

    def _order(self, sort: Sort) -> concurrent.futures.Future[pl.Series]:
        """The full row order for `sort`, computed once on the sort worker (started on first use)."""
        with self._lock:
            order = self._orders.get(sort)
            if order is None:
                _sort_key(self.frame, sort)
                order = _sort_pool().submit(_row_order, self.frame, sort)
                self._orders[sort] = order
                while len(self._orders) > KEPT_SORTS:
                    self._orders.popitem(last=False)[1].cancel()
            else:
                self._orders.move_to_end(sort)
            return order


def _sort_key(frame: pl.DataFrame, sort: Sort) -> pl.Expr:
    """What rows sort by: the column, with NaN as null (the browser puts both last)."""
    import polars as pl

    if sort.column not in frame.columns:
        raise ValueError(f"there is no column {sort.column!r} to sort by")
    key = pl.col(sort.column)
    if frame.schema[sort.column].is_float():
        key = pl.when(key.is_nan()).then(None).otherwise(key)
    return key


def _row_order(frame: pl.DataFrame, sort: Sort) -> pl.Series:
    """Row numbers in `sort` order: stable, nulls and NaN last whichever the direction."""
    import polars as pl

    key = _sort_key(frame, sort)
    try:
        return frame.select(
            pl.arg_sort_by(key, descending=sort.descending, nulls_last=True, maintain_order=True)
        ).to_series()
    except pl.exceptions.PolarsError as exc:
        raise ValueError(
            f"the column {sort.column!r} cannot be sorted ({frame.schema[sort.column]})"
        ) from exc


def _first_in_order(frame: pl.DataFrame, sort: Sort, k: int) -> pl.Series:
    """The first `k` row numbers of `_row_order` (the same rows, in the same order), by a top-k rather than a
    sort. An unstable top-k (a lazy sort and head; three times faster than a stable one on a million strings)
    picks the right keys; only the rows tied with its last key need their original order back: those before
    it are re-sorted by (key, row), and the tied ones are the first of their key in row order."""
    import polars as pl

    key, row = _sort_key(frame, sort), pl.int_range(pl.len(), dtype=pl.get_index_type())
    keyed = frame.lazy().select(key.alias("key"), row.alias("row"))
    try:
        top = keyed.sort("key", descending=sort.descending, nulls_last=True).head(k).collect()
        if top.height == 0:
            return top.get_column("row")
        last = top.get_column("key").slice(top.height - 1, 1)
        if last.null_count():
            before, tied = top.filter(pl.col("key").is_not_null()), keyed.filter(pl.col("key").is_null())
        else:
            before = top.filter(pl.col("key") != pl.lit(last))
            tied = keyed.filter(pl.col("key") == pl.lit(last))
        ahead = before.sort(["key", "row"], descending=[sort.descending, False]).get_column("row")
        rest = tied.select("row").head(k - ahead.len()).collect().get_column("row")
    except pl.exceptions.PolarsError as exc:
        raise ValueError(
            f"the column {sort.column!r} cannot be sorted ({frame.schema[sort.column]})"
        ) from exc
    return pl.concat([ahead, rest])
