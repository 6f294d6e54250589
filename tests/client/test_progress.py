"""The progress of a paged read: the caller's callback, or an in-place bar in a notebook."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from logfire_notebook._paging import PageProgress
from logfire_notebook._progress import NotebookProgress, progress_reporter

WINDOW = (datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 2, tzinfo=timezone.utc))


def _report(pages: int, rows: int, fraction: float, done: bool) -> PageProgress:
    return PageProgress(pages, rows, fraction, done, WINDOW, None)


def test_outside_a_notebook_nothing_is_shown_unless_asked() -> None:
    with progress_reporter(None) as report:
        assert report is None
    with progress_reporter(False) as report:
        assert report is None
    seen: list[PageProgress] = []
    with progress_reporter(seen.append) as report:
        assert report is not None
        report(_report(1, 10, 0.5, False))
    assert seen == [_report(1, 10, 0.5, False)]


def test_notebook_bar_updates_one_output_in_place() -> None:
    InteractiveShell.instance()
    bar = NotebookProgress()
    with capture_output() as captured:
        bar(_report(1, 10_000, 0.25, False))
        bar(_report(2, 20_000, 0.6, False))
        bar(_report(3, 24_500, 1.0, True))
    outputs: list[Any] = captured.outputs
    assert len(outputs) == 3
    first, last = outputs[0], outputs[-1]
    assert first.data["text/plain"] == "Fetched 10,000 rows (1 page, 25% of the time range)…"
    assert '<progress value="0.250" max="1"' in first.data["text/html"]
    assert last.data["text/plain"] == "Fetched 24,500 rows in 3 pages."
    # Same display id: the front end replaces the bar instead of stacking three outputs.
    ids = {o.transient["display_id"] for o in outputs}
    assert len(ids) == 1


def test_single_page_reads_show_no_bar() -> None:
    InteractiveShell.instance()
    with capture_output() as captured:
        NotebookProgress()(_report(1, 120, 1.0, True))
    assert captured.outputs == []
