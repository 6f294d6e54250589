"""The widgets' JavaScript and CSS leave the kernel once, not with every widget (see `_bundle`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from _captured import Captured

from logfire_notebook import LogfireTrace, _bundle

STATIC = Path(_bundle.__file__).parent / "static"
FRAME = pl.DataFrame({"span_name": ["a", "b"]})


def test_only_the_first_widget_of_a_process_carries_the_bundle_and_the_rest_a_small_loader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_bundle, "_sent", False)
    first, second = Captured(data=FRAME), Captured(data=FRAME)
    js, css = (STATIC / "widget.js").read_bytes(), (STATIC / "widget.css").read_bytes()

    carried = first.get_state()["_bundle"]
    assert (carried["js"], carried["css"]) == (js, css)
    state = second.get_state()
    assert state["_bundle"] == {}
    assert "_css" not in state
    assert len(state["_esm"]) < 4000
    assert carried["hash"] in state["_esm"]  # the loader asks for (and caches) exactly this bundle


def test_a_page_without_the_bundle_gets_it_by_message_as_two_binary_buffers() -> None:
    table = Captured(data=FRAME)
    table._on_bundle_request(table, {"type": "bundle"}, [])

    (reply, buffers) = table.sent[-1]
    assert reply["type"] == "bundle" and reply["hash"] in table._esm
    assert buffers == [(STATIC / "widget.js").read_bytes(), (STATIC / "widget.css").read_bytes()]


def test_the_trace_view_uses_the_same_loader() -> None:
    trace = LogfireTrace("ab" * 16, data=pl.DataFrame({"trace_id": ["ab" * 16]}))
    assert trace.get_state()["_esm"] == Captured(data=FRAME).get_state()["_esm"]


def test_a_table_opens_one_comm_not_a_second_for_an_ipywidgets_layout() -> None:
    # ipywidgets' Layout is a widget of its own: a comm, model and view the page builds before the rows show.
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    table = Captured(data=FRAME)
    assert set(_instances) - before == {table.model_id}
    assert table.get_state()["layout"] is None
