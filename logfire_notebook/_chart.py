"""The table widget's Chart view, kernel side: the chart's choices as traits, and the rows it draws.

The browser picks what to draw from the result's columns (js/src/chart.ts `chooseAxes`) unless these traits
name columns; it then asks for just those columns, sorted by x (a "chart" request), as Arrow IPC in a binary
buffer. Nothing here draws: uPlot does, in the browser.

```python
table = LogfireTable("SELECT time_bucket('1m', start_timestamp) AS t, service_name, count(*) AS n "
                     "FROM records GROUP BY t, service_name", since="1h")
table.view_as = "chart"; table.chart_kind = "area"      # stacked areas, one per service
```
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from logfire_notebook import _widget_data as wire

if TYPE_CHECKING:
    import polars as pl

__all__ = ["MAX_CHART_ROWS", "ChartTraits", "chart_reply"]

MAX_CHART_ROWS = 500_000
"""Most rows one chart draws (uPlot draws this many in well under a second; more would only fill memory)."""


class ChartTraits(traitlets.HasTraits):
    """The chart's choices, synced with the browser, saved with the notebook, observable from marimo."""

    view_as = traitlets.Enum(["table", "chart"], "table").tag(sync=True)
    """Which view the widget shows: `"table"` or `"chart"` (the Table/Chart switch; the magics' `--chart`)."""

    chart_kind = traitlets.Enum(["line", "bar", "area"], "line").tag(sync=True)
    """How the chart draws each series: `"line"`, `"bar"` (stacked bars) or `"area"` (stacked areas)."""

    chart_x = traitlets.Unicode("").tag(sync=True)
    """The time column along the x axis; `""`: the result's first timestamp column."""

    chart_y = traitlets.List(traitlets.Unicode()).tag(sync=True)
    """The numeric columns drawn; empty: every numeric column of the result."""

    chart_series = traitlets.Unicode("").tag(sync=True)
    """The text (or level) column whose values split the rows into series, e.g. `"service_name"`; `""`: the
    result's first text column, else its level column. A level series is coloured like the table's levels."""


def _names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("the chart's columns must be a list of names")
    return value


def chart_reply(frame: pl.DataFrame | None, request: dict[str, Any]) -> tuple[dict[str, Any], list[bytes]]:
    """The reply to a "chart" request: the chosen columns of the shown result, rows with an x, sorted by x."""
    import polars as pl

    if frame is None:
        return {"ok": False, "error": "There is no result to draw yet."}, []
    x = request.get("x")
    series = request.get("series") or ""
    ys = _names(request.get("y"))
    if not isinstance(x, str) or not isinstance(series, str) or not ys:
        raise ValueError("a chart needs an x column and at least one y column")
    wanted = [x, *([series] if series else []), *ys]
    missing = [name for name in dict.fromkeys(wanted) if name not in frame.columns]
    if missing:
        return {"ok": False, "error": f"The result has no column {missing[0]!r} to draw."}, []
    rows = frame.select(list(dict.fromkeys(wanted))).filter(pl.col(x).is_not_null()).sort(x)
    cut = rows.height > MAX_CHART_ROWS
    if cut:
        rows = rows.head(MAX_CHART_ROWS)
    # x as epoch milliseconds and y as float64: the browser reads both as Float64Arrays without converting a
    # value (a timestamp or int64 column would be read one BigInt at a time); text series go as dictionaries.
    rows = rows.with_columns(_as_ms(rows.schema[x], x), *(_as_float(rows.schema[y], y) for y in ys if y != x))
    return {"ok": True, "rows": rows.height, "cut": cut}, [wire.to_ipc(rows.to_arrow())]


def _as_ms(dtype: Any, name: str) -> pl.Expr:
    import polars as pl

    column = pl.col(name)
    if isinstance(dtype, pl.Datetime):
        return (column.dt.epoch("us").cast(pl.Float64) / 1000).alias(name)
    if dtype == pl.Date:
        return (column.cast(pl.Datetime("ms")).dt.epoch("ms").cast(pl.Float64)).alias(name)
    return column.cast(pl.Float64, strict=False).alias(name)


def _as_float(dtype: Any, name: str) -> pl.Expr:
    import polars as pl

    column = pl.col(name)
    if isinstance(dtype, pl.Duration):
        return (column.dt.total_microseconds().cast(pl.Float64) / 1e6).alias(name)
    return column.cast(pl.Float64, strict=False).alias(name)
