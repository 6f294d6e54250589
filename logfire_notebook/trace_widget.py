"""`LogfireTrace`: one trace as a waterfall of its spans (an anywidget sharing LogfireTable's bundle).

```python
from logfire_notebook import LogfireTrace

trace = LogfireTrace("4bf92f3577b34da6a3ce929d0e0e4736", at=row["start_timestamp"])
trace                 # the waterfall: spans nested by parent, bars on the trace's own time axis
trace.df              # its spans and logs, as a polars DataFrame in start order
```

The trace is fetched once, when the widget is made (one query by trace id; with `at`, in a window of
`_trace.TRACE_WINDOW` on each side of it, else over `since`/`until`, by default the last 7 days). Ctrl-C
while it runs cancels the request. The browser asks for the spans with a custom message and gets them as
Arrow IPC, as LogfireTable's rows. The read token stays in the client: no trait carries it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook import _trace
from logfire_notebook import _widget_data as wire
from logfire_notebook._bundle import BundledWidget

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

    from logfire_notebook._client import LogfireClient

__all__ = ["LogfireTrace"]

DEFAULT_SINCE = "7d"


class LogfireTrace(BundledWidget):
    """The waterfall of one trace.

    `LogfireTrace(trace_id, *, at=None, since=None, until=None, environment=None, read_token=None,
    base_url=None, client=None, data=None)`. `at` (a datetime) is when the trace ran, e.g. a row's
    `start_timestamp`: the query then reads only the hours around it. `data` is a DataFrame of spans shown as
    is (the rows of `trace_id` in it), without a query.
    """

    view = traitlets.Unicode("trace").tag(sync=True)
    """Tells the shared bundle to draw a waterfall rather than a table."""

    trace_id = traitlets.Unicode("").tag(sync=True)
    """The trace shown: 32 lowercase hex digits."""

    utc = traitlets.Bool(False).tag(sync=True)
    """Show times in UTC rather than the browser's time zone."""

    status = traitlets.Dict().tag(sync=True)
    """`state` (ready/error), `rows`, `elapsed_ms`, `limit_reached`, `error` (one sentence), `window`."""

    def __init__(
        self,
        trace_id: str,
        *,
        at: datetime | None = None,
        since: Any = None,
        until: Any = None,
        environment: str | Sequence[str] | None = None,
        read_token: str | None = None,
        base_url: str | None = None,
        client: LogfireClient | None = None,
        data: pl.DataFrame | None = None,
    ) -> None:
        super().__init__()
        self.trace_id = _trace.normalize_trace_id(trace_id)
        self._table: pa.Table | None = None
        self._ipc: bytes | None = None
        self.on_msg(self._on_message)
        t0 = time.perf_counter()
        if data is not None:
            self._table = _trace.spans_from_frame(data, self.trace_id).to_arrow()
            window = _extent(self._table)
        else:
            window = self._window(at, since, until)
            self._table = self._fetch(window, environment, client, read_token, base_url)
        elapsed = (time.perf_counter() - t0) * 1000
        self.status = {"state": "ready", **_trace.trace_reply(self._table, self.trace_id, window, elapsed)}

    @property
    def df(self) -> pl.DataFrame:
        """The trace's spans, logs and span events, as a polars DataFrame in start order."""
        from logfire_notebook._polars import arrow_to_polars

        assert self._table is not None
        return arrow_to_polars(self._table)

    def __repr__(self) -> str:
        rows = self._table.num_rows if self._table is not None else 0
        return f"LogfireTrace({self.trace_id!r}, rows={rows})"

    @staticmethod
    def _window(at: datetime | None, since: Any, until: Any) -> tuple[datetime, datetime]:
        if at is not None:
            return _trace.trace_window(at)
        from logfire_notebook._timerange import TimeRange

        start, end = TimeRange.parse(since or DEFAULT_SINCE, until).resolve()
        return start, end or datetime.now(timezone.utc)

    def _fetch(
        self,
        window: tuple[datetime, datetime],
        environment: str | Sequence[str] | None,
        client: LogfireClient | None,
        read_token: str | None,
        base_url: str | None,
    ) -> pa.Table:
        from logfire_notebook._client import LogfireClient

        owned = client is None
        client = client or LogfireClient(read_token, base_url)
        try:
            return client.query_arrow(
                _trace.trace_sql(self.trace_id),
                min_timestamp=window[0],
                max_timestamp=window[1],
                limit=_trace.TRACE_LIMIT,
                environment=environment,
            )
        finally:
            if owned:
                client.close()

    def _on_message(self, _widget: Any, content: Any, _buffers: list[bytes]) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        request_id = content.get("id")
        if content.get("kind") != "trace" or self._table is None:
            error = f"unknown request {content.get('kind')!r}"
            self.send(
                {"type": "reply", "id": request_id, "ok": False, "error": f"The widget failed: {error}"}
            )
            return
        if self._ipc is None:
            self._ipc = wire.to_ipc(self._table)
        reply = {k: v for k, v in self.status.items() if k != "state"}
        self.send({"type": "reply", "id": request_id, "ok": True, **reply}, [self._ipc])


def _extent(table: pa.Table) -> tuple[datetime, datetime]:
    """The first start and last end of a trace's rows (now, for an empty one)."""
    import pyarrow.compute as pc

    now = datetime.now(timezone.utc)
    if table.num_rows == 0 or "start_timestamp" not in table.column_names:
        return now, now
    low = pc.min(table.column("start_timestamp")).as_py()
    high_column = "end_timestamp" if "end_timestamp" in table.column_names else "start_timestamp"
    high = pc.max(table.column(high_column)).as_py()

    def aware(value: Any) -> datetime:
        if not isinstance(value, datetime):
            return now
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)

    return aware(low), aware(high)
