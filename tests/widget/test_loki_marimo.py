"""LokiTable in a real marimo app (`marimo run`), driven by Debian's chromium, on Loki entries pushed to the
session's backend under a tenant of this test's own: `mo.ui.anywidget(LokiTable(...))` shows the rows under its
query, a picked range re-runs the cell that reads it, and a label chip narrows the query there too."""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from _browser import screenshot
from playwright.sync_api import expect
from test_loki_browser import OLDER, RECENT, chip_values, push_entries
from test_widget_marimo import TIMEOUT, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow]

APP = """
import marimo

app = marimo.App(width="full")


@app.cell
def _():
    import marimo as mo
    from logfire_notebook import LokiTable

    table = mo.ui.anywidget(LokiTable('{app="shop"} |= "order placed"', since="7d"))
    table
    return mo, table


@app.cell
def _(mo, table):
    # Uses the widget, so marimo re-runs this cell whenever its range or query changes.
    mo.md(f"loki-rows: {table.widget.df.height} | range: {table.value['min_timestamp']} | query: {table.widget.logql}")
    return


if __name__ == "__main__":
    app.run()
"""


def python_line(page: Any) -> dict[str, str]:
    text = page.get_by_text(re.compile("^loki-rows:")).inner_text()
    return dict(part.split(": ", 1) for part in text.split(" | "))


def test_a_loki_table_in_marimo_reruns_its_cells_for_a_picked_range_and_a_label_chip(
    tmp_path: Path, page: Any, backend: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    push_entries(backend, tenant)
    for url in serve(APP, tmp_path, {"LOKI_ADDR": backend.base_url, "LOKI_ORG_ID": tenant}):
        page.goto(url)
        page.locator(".lf-root .lf-tr").first.wait_for(timeout=TIMEOUT)
        page.get_by_text(re.compile("^loki-rows:")).wait_for(timeout=TIMEOUT)
        week = sum(OLDER.values()) + sum(RECENT.values())
        assert python_line(page)["loki-rows"] == str(week)
        query = page.locator(".lf-query-text")
        expect(query).to_have_text('{app="shop"} |= "order placed"')
        expect(page.locator(".lf-timeline path.lf-bar-error").first).to_be_attached(timeout=TIMEOUT)
        screenshot(page, "marimo-loki-7d")

        page.locator(".lf-range").click()
        page.get_by_role("button", name="Last 1 hour").click()
        page.get_by_text(re.compile(r"range: now-1h")).wait_for(timeout=TIMEOUT)
        assert python_line(page)["loki-rows"] == str(sum(RECENT.values()))

        page.locator('.lf-body .lf-chip[data-label="env"][data-value="staging"]').first.click()
        narrowed = '{env="staging", app="shop"} |= "order placed"'
        expect(query).to_have_text(narrowed, timeout=TIMEOUT)
        root = page.locator(".lf-root")
        expect(root).to_have_attribute("data-rows", str(RECENT["staging"]), timeout=TIMEOUT)
        production = page.locator('.lf-body .lf-chip[data-label="env"][data-value="production"]')
        expect(production).to_have_count(0, timeout=TIMEOUT)
        assert chip_values(page, "env") == ["staging"] * RECENT["staging"]
        try:
            page.get_by_text(re.compile(r"query: \{env=")).wait_for(timeout=TIMEOUT)
        except Exception:
            screenshot(page, "failed-marimo-loki")
            raise
        assert python_line(page) == {
            "loki-rows": str(RECENT["staging"]),
            "range": "now-1h",
            "query": narrowed,
        }
        screenshot(page, "marimo-loki-narrowed")
