"""`%%logfire --trace ID` and `%logfire --trace ID` against the local backend: the trace's spans are the result."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from IPython.core.interactiveshell import InteractiveShell

from .conftest import run


@pytest.fixture
def live(shell: InteractiveShell, backend: Any, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", backend.token)
    monkeypatch.setenv("LOGFIRE_BASE_URL", backend.base_url)
    return shell


def biggest_trace(backend: Any) -> tuple[str, list[dict[str, Any]]]:
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in backend.dataset.visible_records:
        by_trace.setdefault(row["trace_id"], []).append(row)
    trace_id = max(by_trace, key=lambda t: len(by_trace[t]))
    return trace_id, by_trace[trace_id]


def test_a_trace_cell_assigns_its_spans_in_start_order(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_id, rows = biggest_trace(backend)
    ok, out = run(live, f"%%logfire spans << --trace {trace_id}\n-- the biggest trace", capsys)
    assert ok, out
    spans = live.user_ns["spans"]
    assert isinstance(spans, pl.DataFrame) and live.user_ns["_"] is spans
    assert sorted(spans["span_id"]) == sorted(r["span_id"] for r in rows)
    assert spans["start_timestamp"].is_sorted()
    footer = out.strip().splitlines()[-1]
    assert footer.startswith(f"{len(rows)} rows · ")
    assert footer.endswith(f" · Last 7 days · trace {trace_id}")


def test_the_line_form_takes_an_uppercase_id_and_pandas(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    trace_id, rows = biggest_trace(backend)
    ok, out = run(live, f"%logfire t << --trace {trace_id.upper()} --pandas", capsys)
    assert ok, out
    assert len(live.user_ns["t"]) == len(rows)


def test_a_bad_trace_id_or_sql_with_trace_is_one_sentence(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(live, "%logfire --trace not-a-trace", capsys)
    assert not ok
    assert "'not-a-trace' is not a trace id" in out and "Traceback" not in out
    ok, out = run(live, "%%logfire --trace 4bf92f3577b34da6a3ce929d0e0e4736\nSELECT 1", capsys)
    assert not ok
    assert "--trace takes no SQL" in out and "Traceback" not in out
