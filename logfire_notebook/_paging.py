"""Results past the 10,000-row cap: keyset paging through a fixed time window.

Each page is the user's query wrapped as

```sql
SELECT * FROM (<sql>) AS _page
WHERE start_timestamp > :t OR (start_timestamp = :t AND (trace_id > :tr OR (trace_id = :tr AND span_id > :sp)))
ORDER BY start_timestamp, trace_id, span_id
LIMIT 10000
```

`(start_timestamp, trace_id, span_id)` identifies a span, so the order is total and the cursor neither repeats
nor skips rows, even when thousands of rows share one timestamp (an OFFSET or a timestamp-only cursor would).
The window's end is fixed when paging starts ("until now" becomes the instant paging began), so rows that
arrive meanwhile cannot shift the pages. The predicate is spelled out instead of a row comparison
`(a, b, c) > (x, y, z)`, which not every engine supports.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from logfire_notebook._exceptions import LogfireError, QueryError
from logfire_notebook._timerange import TimeRange

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = ["PAGE_SIZE", "KeysetPager", "PageProgress", "concat_pages", "explain_page_error"]

PAGE_SIZE = 10_000  # the API's row cap per query
KEY = ("start_timestamp", "trace_id", "span_id")
_TRAILING_LIMIT = re.compile(r"\blimit\s+\d+(\s+offset\s+\d+)?\s*$", re.IGNORECASE)
_HOW = "select start_timestamp, trace_id and span_id, e.g. `SELECT * FROM records WHERE ...`"


@dataclass(frozen=True)
class PageProgress:
    """Reported after each page."""

    pages: int
    rows: int
    fraction: float  # of the time window covered so far, 0..1 (1 when done)
    done: bool
    window: tuple[datetime, datetime]
    last_timestamp: datetime | None


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class KeysetPager:
    """The state of one paged read: the SQL of the next page, and where the last one ended."""

    def __init__(self, sql: str, window: TimeRange, *, page_size: int | None = None) -> None:
        start, end = window.resolve()
        self.start = start
        self.end = end or datetime.now(timezone.utc)
        self.sql = sql.strip().rstrip(";").strip()
        if _TRAILING_LIMIT.search(self.sql):
            raise LogfireError(
                "query_all reads every row of the time range, so the query's own LIMIT would cut pages short: "
                "remove the LIMIT, or use query_polars(sql, limit=...) for the first rows only."
            )
        self.page_size = min(page_size or PAGE_SIZE, PAGE_SIZE)
        self.pages = 0
        self.rows = 0
        self.done = False
        self._cursor: tuple[datetime, str, str] | None = None

    def page_sql(self) -> str:
        where = ""
        if self._cursor is not None:
            ts, trace, span = self._cursor
            t = _quote(ts.isoformat(timespec="microseconds"))
            tr, sp = _quote(trace), _quote(span)
            where = (
                f"\nWHERE start_timestamp > {t} OR (start_timestamp = {t} AND "
                f"(trace_id > {tr} OR (trace_id = {tr} AND span_id > {sp})))"
            )
        return (
            f"SELECT * FROM (\n{self.sql}\n) AS _page{where}\n"
            f"ORDER BY start_timestamp, trace_id, span_id\nLIMIT {self.page_size}"
        )

    def advance(self, page: pa.Table) -> None:
        """Move the cursor past `page`; a short page means the window is exhausted."""
        import pyarrow as pa

        self.pages += 1
        self.rows += page.num_rows
        if page.num_rows < self.page_size:
            self.done = True
            return
        last = page.slice(page.num_rows - 1, 1)
        ts = last.column("start_timestamp").cast(pa.timestamp("us", tz="UTC"))[0].as_py()
        self._cursor = (ts, str(last.column("trace_id")[0].as_py()), str(last.column("span_id")[0].as_py()))

    def progress(self) -> PageProgress:
        last = self._cursor[0] if self._cursor is not None else None
        span = (self.end - self.start).total_seconds()
        if self.done or span <= 0:
            fraction = 1.0
        elif last is None:
            fraction = 0.0
        else:
            fraction = min(1.0, max(0.0, (last - self.start).total_seconds() / span))
        return PageProgress(self.pages, self.rows, fraction, self.done, (self.start, self.end), last)


def explain_page_error(exc: QueryError) -> QueryError:
    """A failed first page usually means the key columns are missing: say how to fix the query."""
    detail = exc.detail or ""
    if any(column in detail for column in KEY):
        return QueryError(
            "--all (query_all) pages by (start_timestamp, trace_id, span_id), which the query does not return: "
            f"{_HOW}.",
            detail=detail,
            position=exc.position,
        )
    return exc


def concat_pages(pages: Sequence[pa.Table], json_columns: Sequence[str] = ()) -> pl.DataFrame:
    """One DataFrame from the pages (they share the schema of the first)."""
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._polars import arrow_to_polars

    if not pages:
        return pl.DataFrame()
    table = pa.concat_tables(pages, promote_options="permissive") if len(pages) > 1 else pages[0]
    return arrow_to_polars(table, json_columns)
