"""Without a browser, a table's timeline never waits for a paint that will not come (see `_paint_gate`).

In a real ipykernel (nbclient runs notebooks with no front end): the fallback wait is set to an hour, so a
timeline that waited for it would stop the notebook at nbclient's timeout.
"""

from __future__ import annotations

import nbformat
from nbclient import NotebookClient

SETUP = """
import time
from datetime import datetime, timedelta, timezone
import polars as pl
import logfire_notebook._paint_gate
from logfire_notebook import LogfireTable

logfire_notebook._paint_gate.PAINT_WAIT = 3600
end = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
frame = pl.DataFrame({"start_timestamp": pl.datetime_range(end - timedelta(seconds=9_999), end, "1s", eager=True,
                      time_zone="UTC"), "message": [f"row {i}" for i in range(10_000)]})
"""
KEPT = "kept = LogfireTable(data=frame)  # never displayed: counted when this cell ends"
# Reads the trait only (`.df` would start the count itself).
KEPT_TIMELINE = """
while kept.timeline.get("revision") != kept.revision:
    time.sleep(0.01)
print(sum(kept.timeline["histogram"]["counts"]))
"""
SHOWN = "shown = LogfireTable(data=frame)\nshown  # displayed, but no browser will say it painted"
SHOWN_DF = """print(shown.df.height, sum(shown.timeline["histogram"]["counts"]), shown.timeline["revision"] == shown.revision)"""


def test_a_timeline_without_a_browser_is_counted_at_the_cells_end_or_when_df_is_read() -> None:
    nb = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
    nb.cells = [nbformat.v4.new_code_cell(s) for s in (SETUP, KEPT, KEPT_TIMELINE, SHOWN, SHOWN_DF)]  # type: ignore[no-untyped-call]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    assert nb.cells[2].outputs[0]["text"] == "10000\n"
    assert nb.cells[4].outputs[0]["text"] == "10000 10000 True\n"
