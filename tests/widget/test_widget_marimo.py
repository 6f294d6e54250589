"""LogfireTable in a real marimo app (`marimo run`), driven by Debian's chromium: picking a range in the widget
re-runs the cell that reads it, and that cell sees the new rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _browser import screenshot
from _loopback import free_port, stop, wait_until_answering
from playwright.sync_api import expect

from logfire_notebook import LogfireClient

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APP = """
import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo
    from logfire_notebook import LogfireTable

    table = mo.ui.anywidget(
        LogfireTable(
            "SELECT start_timestamp, level, span_name, message, attributes FROM records ORDER BY start_timestamp DESC",
            since="7d",
            limit=5000,
        )
    )
    table
    return mo, table


@app.cell
def _(mo, table):
    # Uses the widget, so marimo re-runs this cell whenever its range changes.
    window = table.value["status"].get("window", ["", ""])
    mo.md(f"rows-in-python: {table.widget.df.height} | range: {table.value['min_timestamp']} | from: {window[0]} | to: {window[1]}")
    return


if __name__ == "__main__":
    app.run()
"""
TIMEOUT = 30_000


BIG_APP = """
import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo
    import polars as pl
    from logfire_notebook import LogfireTable

    n = 20_000
    big = pl.DataFrame({"code": [f"c{(i * 7919) % 20_011:05d}" for i in range(n)], "message": [f"row {i}" for i in range(n)]})
    mo.ui.anywidget(LogfireTable(data=big))
    return


if __name__ == "__main__":
    app.run()
"""


def serve(app: str, folder: Path, env: dict[str, str]) -> Iterator[str]:
    (folder / "app.py").write_text(app)
    port = free_port()
    env = {**os.environ, **env, "MARIMO_SKIP_UPDATE_CHECK": "1"}
    log = (folder / "marimo.log").open("wb")
    marimo = Path(sys.executable).parent / "marimo"
    process = subprocess.Popen(
        [str(marimo), "run", "app.py", "--headless", "--no-token", "--port", str(port), "--no-sandbox"],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(process, f"{url}/health", what="marimo", log=log.name, seconds=60)
        yield url
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="module")
def marimo_app(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"LOGFIRE_READ_TOKEN": backend.token, "LOGFIRE_BASE_URL": backend.base_url}
    yield from serve(APP, tmp_path_factory.mktemp("marimo"), env)


def python_line(page: Any) -> dict[str, str]:
    text = page.get_by_text(re.compile("^rows-in-python:")).inner_text()
    return dict(part.split(": ", 1) for part in text.split(" | "))


def test_picking_a_range_reruns_the_cells_that_use_the_widget(
    page: Any, marimo_app: str, backend: Any
) -> None:
    page.goto(marimo_app)
    page.locator(".lf-root .lf-tr").first.wait_for(timeout=TIMEOUT)
    page.get_by_text(re.compile("^rows-in-python:")).wait_for(timeout=TIMEOUT)
    before = python_line(page)
    assert before["range"] == "now-7d"
    screenshot(page, "marimo-7d")

    page.locator(".lf-range").click()
    page.get_by_role("button", name="Last 1 hour").click()
    try:
        page.get_by_text(re.compile(r"range: now-1h")).wait_for(timeout=TIMEOUT)
    except Exception:
        screenshot(page, "failed-marimo")
        raise
    after = python_line(page)
    with LogfireClient(backend.token, backend.base_url) as client:
        expected = (
            client.query_arrow(
                "SELECT count(*) AS n FROM records",
                min_timestamp=datetime.fromisoformat(after["from"]),
                max_timestamp=datetime.fromisoformat(after["to"]),
            )
            .column("n")[0]
            .as_py()
        )
    assert int(after["rows-in-python"]) == expected < int(before["rows-in-python"])
    # marimo renders widgets in a shadow root: Playwright's locators reach into it, querySelector does not.
    root = page.locator(".lf-root")
    expect(root).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    expect(root).not_to_have_class(re.compile("lf-loading"), timeout=TIMEOUT)
    status = page.locator(".lf-status-text").inner_text()
    assert status.startswith(f"{expected} rows")
    screenshot(page, "marimo-1h")


def test_a_cells_json_detail_opens_inside_the_widget_without_making_it_taller(
    page: Any, marimo_app: str
) -> None:
    page.goto(marimo_app)
    root = page.locator(".lf-root")
    page.locator(".lf-root .lf-tr").first.wait_for(timeout=TIMEOUT)
    expect(root).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    before = root.bounding_box()
    # The attributes cell of the first row (the query's 5th column).
    page.locator(".lf-root .lf-tr").first.locator(".lf-cell").nth(4).click()
    detail = page.locator(".lf-detail")
    expect(detail).to_be_visible(timeout=TIMEOUT)
    expect(detail.locator(".lf-tree").first).to_be_visible()
    after, pane = root.bounding_box(), detail.bounding_box()
    screenshot(page, "marimo-detail")
    assert after["height"] == before["height"]
    assert after["y"] <= pane["y"] and pane["y"] + pane["height"] <= after["y"] + after["height"]
    # The first level of the tree shows without scrolling inside the pane.
    tree = detail.locator(".lf-tree").first.bounding_box()
    assert tree["y"] + min(tree["height"], 40) <= pane["y"] + pane["height"]


def test_a_large_frame_scrolls_and_sorts_by_window_in_marimo(tmp_path: Path, page: Any) -> None:
    for url in serve(BIG_APP, tmp_path, {}):
        page.goto(url)
        rows = page.locator(".lf-body .lf-tr")
        rows.first.wait_for(timeout=TIMEOUT)
        assert page.locator(".lf-status-text").inner_text().startswith("20,000 rows")
        # marimo renders widgets in a shadow root: Playwright's locators reach into it, querySelector does not.
        page.locator(".lf-scroll").evaluate("s => { s.scrollTop = s.scrollHeight / 2; }")
        expect(rows.first).to_have_attribute("data-row", re.compile(r"^(9\d{3}|10\d{3})$"), timeout=TIMEOUT)
        expect(page.locator(".lf-body .lf-tr.lf-pending")).to_have_count(0, timeout=TIMEOUT)
        first = int(rows.first.get_attribute("data-row"))
        assert rows.first.locator(".lf-cell").nth(1).inner_text() == f"row {first}"

        page.locator('.lf-th[data-col="code"]').click()
        expect(rows.first).to_have_attribute("data-row", "0", timeout=TIMEOUT)
        expect(page.locator(".lf-body .lf-tr.lf-pending")).to_have_count(0, timeout=TIMEOUT)
        codes = sorted(f"c{(i * 7919) % 20_011:05d}" for i in range(20_000))
        shown = [rows.nth(k).locator(".lf-cell").first.inner_text() for k in range(5)]
        assert shown == codes[:5]
        screenshot(page, "marimo-20k-sorted")
