"""`LokiTable`: a LogQL query's rows in the table widget, with the time picker, the timeline and label chips.

```python
from logfire_notebook import LokiTable

table = LokiTable('{service_name="checkout"} |= "error"', since="6h")
table                          # pick a range or drag the timeline: the query re-runs with Loki's start/end
table.narrow("level", "error") # what clicking a label chip does: adds level="error" to the selector, re-runs
table.df                       # the rows on screen, as a polars DataFrame
```

It is the shared `QueryTable` over a `LokiSource`; only the label chips are Loki's own: the `labels` column
shows each stream label as a chip, and a click adds `label="value"` to the query's stream selectors. A metric
query (`sum by (level) (count_over_time(...))`) opens on its chart, one series per label set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook._loki import logql as lq
from logfire_notebook._sources.loki import LokiSource
from logfire_notebook.widget import QueryTable, TableOptions

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from logfire_notebook._client import LogfireClient
    from logfire_notebook._loki.client import LokiClient

__all__ = ["LokiTable"]


class LokiTable(QueryTable):
    """The table widget over LogQL.

    `LokiTable(logql=None, *, direction="backward", client=None, traces=None, addr=None, org_id=None,
    username=None, password=None, bearer_token=None, **options)`: `options` are the ones every table takes
    (`TableOptions`: since, until, limit, data, data_elapsed, all_rows); addr= ... bearer_token= configure the
    LokiClient the table makes (pass client= for its other arguments); without them, LOKI_ADDR and the other
    LOKI_* variables are read as logcli reads them.
    A line with a trace id (`trace_id`/`traceID`/`traceId` in its labels, structured metadata or parsed
    fields) opens its trace from Logfire's query API: `traces=` (a `LogfireClient`), else LOGFIRE_READ_TOKEN
    and LOGFIRE_BASE_URL.
    """

    label_column = traitlets.Unicode("labels").tag(sync=True)
    """The column whose map entries show as chips; a click narrows the query to that label's value."""

    chip_click = traitlets.Dict().tag(sync=True)
    """The browser's last label-chip click, `{"label", "value", "click"}` (`click` counts clicks, so the same
    chip twice is two changes): the kernel adds `label="value"` to the query and re-runs it. A trait, not a
    message, so that marimo re-runs the cells that read the widget, as it does for a picked range."""

    def __init__(
        self,
        logql: str | None = None,
        *,
        direction: str = "backward",
        client: LokiClient | None = None,
        traces: LogfireClient | None = None,
        addr: str | None = None,
        org_id: str | None = None,
        username: str | None = None,
        password: str | None = None,
        bearer_token: str | None = None,
        **options: Unpack[TableOptions],
    ) -> None:
        # The connection settings go to the LokiClient the source makes (a caller who needs LokiClient's other
        # arguments passes client=); the table's options are checked by mypy like LogfireTable's.
        config = dict(
            addr=addr, org_id=org_id, username=username, password=password, bearer_token=bearer_token
        )
        source = LokiSource(
            client,
            direction=direction,
            traces=traces,
            **{name: value for name, value in config.items() if value is not None},
        )
        super().__init__(logql, source=source, **options)
        if self.query and not lq.is_log_query(self.query):
            self.view_as = "chart"

    @property
    def logql(self) -> str:
        """The LogQL query (the `query` trait)."""
        return self.query

    def narrow(self, label: str, value: str) -> None:
        """Adds `label="value"` to the query's stream selectors and runs it (a chip click does this)."""
        self.query = lq.narrow(self.query, label, value)
        self._run()

    @traitlets.observe("chip_click")
    def _on_chip_click(self, change: dict[str, Any]) -> None:
        label, value = change["new"].get("label"), change["new"].get("value")
        if not isinstance(label, str) or not isinstance(value, str) or self.local:
            return
        try:
            self.query = lq.narrow(self.query, label, value)
        except ValueError as exc:
            self.status = {**self.status, "state": "error", "error": f"Cannot narrow the query: {exc}."}
            return
        self._run_after("chip_click")
