"""The Chart view's kernel side: a "chart" request gets the chosen columns of the shown result, sorted by x,
as Arrow IPC; the chart's choices are traits (saved with the notebook, observable from marimo)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import polars as pl
import pyarrow as pa
import pytest
import traitlets
from _captured import Captured as _CapturedBase

from logfire_notebook import LogfireClient, LogfireTable

BUCKETS_SQL = (
    "SELECT time_bucket('1 hour', start_timestamp) AS t, service_name, count(*) AS n "
    "FROM records GROUP BY t, service_name"
)


class Captured(_CapturedBase):
    def chart(self, **params: Any) -> tuple[dict[str, Any], list[bytes]]:
        self._on_message(self, {"type": "request", "id": 7, "kind": "chart", **params}, [])
        return self.sent[-1]


def test_a_chart_request_gets_the_chosen_columns_sorted_by_time(backend: Any) -> None:
    with LogfireClient(backend.token, backend.base_url) as client:
        table = Captured(BUCKETS_SQL, since="7d", client=client)
        reply, buffers = table.chart(x="t", y=["n"], series="service_name")
        assert reply["id"] == 7 and reply["ok"] is True and reply["cut"] is False
        arrow = pa.ipc.open_stream(buffers[0]).read_all()
        assert arrow.column_names == ["t", "service_name", "n"]
        times = arrow.column("t").to_pylist()
        assert times == sorted(times)
        # Times as epoch ms and counts as float64: what the browser reads without converting each value.
        assert arrow.schema.field("t").type == pa.float64() and arrow.schema.field("n").type == pa.float64()
        first = table.df.sort("t").get_column("t")[0]
        assert times[0] == first.timestamp() * 1000
        # The same counts the backend has for the widget's range.
        start, end = (datetime.fromisoformat(t) for t in table.status["window"])
        total = client.query_arrow(
            "SELECT count(*) AS n FROM records", min_timestamp=start, max_timestamp=end
        )
        assert sum(arrow.column("n").to_pylist()) == total.column("n")[0].as_py() > 0
        table.close()


def test_a_chart_of_a_missing_column_says_so_in_one_sentence() -> None:
    now = datetime.now(timezone.utc)
    frame = pl.DataFrame({"start_timestamp": [now - timedelta(minutes=i) for i in range(3)], "n": [1, 2, 3]})
    table = Captured(data=frame)
    reply, buffers = table.chart(x="start_timestamp", y=["nope"], series="")
    assert reply == {
        "type": "reply",
        "id": 7,
        "ok": False,
        "error": "The result has no column 'nope' to draw.",
    }
    assert buffers == []
    reply, _ = table.chart(x="start_timestamp", y="n")
    assert reply["ok"] is False and "The widget failed" in reply["error"]


def test_the_charts_choices_are_synced_traits_with_checked_values() -> None:
    table = LogfireTable(data=pl.DataFrame({"n": [1]}))
    state = table.get_state()
    assert {k: state[k] for k in ("view_as", "chart_kind", "chart_x", "chart_y", "chart_series")} == {
        "view_as": "table",
        "chart_kind": "line",
        "chart_x": "",
        "chart_y": [],
        "chart_series": "",
    }
    seen: list[str] = []
    table.observe(lambda change: seen.append(change["new"]), "chart_kind")
    table.chart_kind = "area"
    assert seen == ["area"]
    with pytest.raises(traitlets.TraitError, match="pie"):
        table.chart_kind = "pie"
