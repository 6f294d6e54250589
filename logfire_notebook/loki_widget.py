"""`LokiTable`: a LogQL query's rows in the table widget, with the time picker, the timeline and label chips.

```python
from logfire_notebook import LokiTable

table = LokiTable('{service_name="checkout"} |= "error"', since="6h")
table                          # pick a range or drag the timeline: the query re-runs with Loki's start/end
table.narrow("level", "error") # what clicking a label chip does: adds level="error" to the selector, re-runs
table.df                       # the rows on screen, as a polars DataFrame
```

It is the shared `QueryTable` over a `LokiSource`; only the label chips are Loki's own: the `labels` column
shows each stream label as a chip, and a click adds `label="value"` to the query's stream selectors.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook._loki import logql as lq
from logfire_notebook._sources.loki import LokiSource
from logfire_notebook.widget import QueryTable

if TYPE_CHECKING:
    import polars as pl

    from logfire_notebook._client import LogfireClient
    from logfire_notebook._loki.client import LokiClient

__all__ = ["LokiTable"]


class LokiTable(QueryTable):
    """The table widget over LogQL.

    `LokiTable(logql=None, *, since=None, until=None, limit=None, direction="backward", client=None,
    traces=None, data=None, data_elapsed=None, all_rows=False, **config)`: `config` is `LokiClient`'s (addr=, org_id=, username=, password=, bearer_token=);
    without a client or config, LOKI_ADDR and the other LOKI_* variables are read as logcli reads them.
    A line with a trace id (`trace_id`/`traceID`/`traceId` in its labels, structured metadata or parsed
    fields) opens its trace from Logfire's query API: `traces=` (a `LogfireClient`), else LOGFIRE_READ_TOKEN
    and LOGFIRE_BASE_URL.
    """

    label_column = traitlets.Unicode("labels").tag(sync=True)
    """The column whose map entries show as chips; a click narrows the query to that label's value."""

    def __init__(
        self,
        logql: str | None = None,
        *,
        since: Any = None,
        until: Any = None,
        limit: int | None = None,
        direction: str = "backward",
        client: LokiClient | None = None,
        traces: LogfireClient | None = None,
        data: pl.DataFrame | None = None,
        data_elapsed: float | None = None,
        all_rows: bool = False,
        **config: Any,
    ) -> None:
        source = LokiSource(client, direction=direction, traces=traces, **config)
        super().__init__(
            logql,
            source=source,
            since=since,
            until=until,
            limit=limit,
            data=data,
            data_elapsed=data_elapsed,
            all_rows=all_rows,
        )

    @property
    def logql(self) -> str:
        """The LogQL query (the `query` trait)."""
        return self.query

    def narrow(self, label: str, value: str) -> None:
        """Adds `label="value"` to the query's stream selectors and runs it (a chip click does this)."""
        self.query = lq.narrow(self.query, label, value)
        self._run()

    def _on_message(self, widget: Any, content: Any, buffers: list[bytes]) -> None:
        if isinstance(content, dict) and content.get("type") == "narrow":
            label, value = content.get("label"), content.get("value")
            if isinstance(label, str) and isinstance(value, str) and not self.local:
                try:
                    self.query = lq.narrow(self.query, label, value)
                except ValueError as exc:
                    self.status = {
                        **self.status,
                        "state": "error",
                        "error": f"Cannot narrow the query: {exc}.",
                    }
                    return
                self._run_in_background()
            return
        super()._on_message(widget, content, buffers)
