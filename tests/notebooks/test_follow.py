"""In a real kernel: a range picked in a `%%logfire` cell's widget rebinds VAR and `_` to the rows it shows
(the range is set from Python here, the same path a pick in the browser ends in; the browser test drives the
real picker), while a name the user has since reassigned is left alone, and `follow_widget = False` keeps the
first result. The widget's text/plain, what a saved notebook shows without widgets, is the footer line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from .conftest import run_notebook

SQL = "SELECT start_timestamp, span_name, trace_id, span_id FROM records ORDER BY start_timestamp DESC"
# The newest LogfireTable of the kernel (the one the last %%logfire cell showed).
NEWEST_WIDGET = (
    "from ipywidgets.widgets.widget import _instances\n"
    "widget = [w for w in list(_instances.values()) if type(w).__name__ == 'LogfireTable'][-1]\n"
)


def notebook(tmp_path: Path, *cells: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in ("%load_ext logfire_notebook", *cells)]
    path = tmp_path / "follow.ipynb"
    nbformat.write(nb, path)
    return path


PICK_LAST_HOUR = (
    NEWEST_WIDGET
    + "first = small\n"
    + "widget.min_timestamp = 'now-1h'\n"
    + "import json\n"
    + "print(json.dumps({'small': small.height, 'underscore': _.height, 'shown': widget.df.height,"
    " 'first': first.height, 'footer': widget.footer_text()}))"
)


def test_picking_a_range_rebinds_the_variable_and_underscore(backend: Any, tmp_path: Path) -> None:
    path = notebook(tmp_path, f"%%logfire small << --since 7d --limit 10000\n{SQL}")
    executed = run_notebook(path, backend, [PICK_LAST_HOUR])
    result = executed.probes[0]
    assert result["small"] == result["underscore"] == result["shown"] < result["first"]
    assert result["footer"].startswith(f"{result['shown']:,} rows · ")
    assert result["footer"].endswith(" · Last 1 hour")
    # Without a widget front end the notebook file shows the footer line as the widget's text.
    outputs = executed.nb.cells[1].outputs
    texts = [o["data"]["text/plain"] for o in outputs if "text/plain" in o.get("data", {})]
    assert texts == [f"{result['first']:,} rows · " + texts[0].split(" · ", 1)[1]]
    assert texts[0].endswith(" s · Last 7 days")


def test_a_reassigned_variable_is_not_overwritten(backend: Any, tmp_path: Path) -> None:
    path = notebook(tmp_path, f"%%logfire small << --since 7d\n{SQL}", "small = 'mine'")
    probe = NEWEST_WIDGET + "widget.min_timestamp = 'now-1h'\nimport json\nprint(json.dumps(small))"
    executed = run_notebook(path, backend, [probe])
    assert executed.probes == ["mine"]


def test_follow_widget_false_keeps_the_first_result(backend: Any, tmp_path: Path) -> None:
    path = notebook(
        tmp_path, "%config LogfireMagic.follow_widget = False", f"%%logfire small << --since 7d\n{SQL}"
    )
    executed = run_notebook(path, backend, [PICK_LAST_HOUR])
    result = executed.probes[0]
    assert result["small"] == result["underscore"] == result["first"] > result["shown"]


@pytest.mark.parametrize("limit", ["--all", "--limit 10"])
def test_the_footer_claims_the_limit_only_when_it_cut_the_result(
    backend: Any, tmp_path: Path, limit: str
) -> None:
    path = notebook(tmp_path, f"%%logfire rows << --since 7d {limit}\n{SQL}")
    probe = (
        NEWEST_WIDGET + "import json\nprint(json.dumps([rows.height, widget.status, widget.footer_text()]))"
    )
    executed = run_notebook(path, backend, [probe])
    height, status, footer = executed.probes[0]
    if limit == "--all":
        assert height == status["rows"] > 1000  # more than the magic's default limit, all of them
        assert status["limit"] is None and status["limit_reached"] is False
        assert "limit" not in footer
    else:
        assert height == 10 and status["limit_reached"] is True
        assert footer.endswith(
            "the limit of 10 rows was reached, more rows may exist (raise --limit or use --all)"
        )
