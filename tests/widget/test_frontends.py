"""The other front ends a user meets: the JupyterLab extension that ships in the wheel (a `%%logfire` cell is
SQL, a `%%logql` cell LogQL, not Python with errors), and Jupyter Notebook 7, where the widget's picker,
timeline and sort work as in JupyterLab. Both run on the session's JupyterLab server (Notebook 7 is served by
the same server at /notebooks/), driven by Debian's chromium."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import pytest
from _browser import Lab, open_notebook, screenshot
from test_widget_browser import CELL, TIMEOUT, backend_count, column_texts, shown_rows, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# The colour of the first token with exactly this text in a cell's editor (a token CodeMirror did not
# highlight has the editor's own colour).
TOKEN_COLOR = """([cell, text]) => {
  const content = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell].querySelector('.cm-content');
  const span = [...content.querySelectorAll('span')].find((s) => s.textContent === text);
  return getComputedStyle(span ?? content).color;
}"""
HIGHLIGHT_CELLS = (
    "import json",
    "%%logfire errors << --since 1d\n"
    "SELECT service_name, count(*) AS n FROM records WHERE level >= 'error' GROUP BY ALL",
    '%%logql\n{service_name="web-api"} |= "timeout" | json',
    "x = 'timeout'",
)


def wait_for_kernel(lab: Lab, name: str) -> None:
    """Waits until the notebook's kernel is idle with the page connected (Run All is ignored before)."""
    import time

    deadline = time.monotonic() + TIMEOUT / 1000
    while time.monotonic() < deadline:
        sessions = httpx.get(f"{lab.url}/api/sessions", params={"token": lab.token}, timeout=10).json()
        for session in sessions:
            kernel = session.get("kernel") or {}
            if (
                session.get("path") == name
                and kernel.get("execution_state") == "idle"
                and kernel.get("connections")
            ):
                return
        time.sleep(0.25)
    raise AssertionError(f"the kernel of {name} did not become idle")


def open_in_notebook7(page: Any, lab: Lab, name: str, *cells: str) -> None:
    lab.write_notebook(name, *cells)
    page.goto(f"{lab.url}/notebooks/{name}?token={lab.token}")
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.wait_for(timeout=TIMEOUT)


def assert_cells_highlighted(page: Any, where: str, first: int = 0) -> None:
    """Checks HIGHLIGHT_CELLS, the notebook's cells from index `first` on."""

    cells = first + len(HIGHLIGHT_CELLS)
    page.wait_for_function(
        f"() => document.querySelectorAll('.jp-Notebook .jp-Cell .cm-content').length >= {cells}",
        timeout=TIMEOUT,
    )

    def color(cell: int, text: str) -> str:
        found: str = page.evaluate(TOKEN_COLOR, [first + cell, text])
        return found

    def wait_for_color(cell: int, text: str, relation: str, other: str) -> None:
        # Every editor parses and colours its own text when it gets to it (and languages load after the
        # editors show), so one highlighted cell says nothing of the next: wait for each token.
        # Where the user looks: CodeMirror may leave text outside the screen for later.
        page.evaluate(
            "(cell) => document.querySelectorAll('.jp-Notebook .jp-Cell')[cell].scrollIntoView()",
            first + cell,
        )
        condition = f"() => ({TOKEN_COLOR})([{first + cell}, {text!r}]) {relation} {other}"
        try:
            page.wait_for_function(condition, timeout=TIMEOUT)
        except Exception:
            screenshot(page, f"failed-highlighting-{where}")
            raise AssertionError(
                f"cell {cell}'s {text} should be coloured {relation} {other}, but is {color(cell, text)}"
            ) from None

    plain_js = f"({TOKEN_COLOR})([{first}, 'json'])"
    wait_for_color(0, "import", "!==", plain_js)  # Python's keyword colour
    wait_for_color(3, "'timeout'", "!==", plain_js)  # Python's string colour
    keyword, string = color(0, "import"), color(3, "'timeout'")
    # SQL's keywords take the keyword colour (never, without the extension: Python's) and its strings the string's.
    for token in ("FROM", "SELECT", "GROUP", "ALL"):
        wait_for_color(1, token, "===", repr(keyword))
    wait_for_color(1, "'error'", "===", repr(string))
    # The magic line is read as neither SQL nor Python: not one token of it is coloured.
    magic_line_spans = page.evaluate(
        "(cell) => document.querySelectorAll('.jp-Notebook .jp-Cell')[cell]"
        ".querySelector('.cm-line').querySelectorAll('span').length",
        first + 1,
    )
    assert magic_line_spans == 0
    # LogQL: the line filter's text is a string, the parser stage a keyword.
    wait_for_color(2, '"timeout"', "===", repr(string))
    wait_for_color(2, "json", "===", repr(keyword))
    screenshot(page, f"highlighting-{where}")


def test_logfire_and_logql_cells_are_highlighted_in_jupyterlab(page: Any, lab: Lab) -> None:
    open_notebook(page, lab, "highlight.ipynb", *HIGHLIGHT_CELLS)
    page.locator(".jp-Notebook .jp-Cell .cm-content").first.wait_for(timeout=TIMEOUT)
    assert_cells_highlighted(page, "jupyterlab")


@pytest.mark.own_page  # Notebook 7's own page
def test_the_widget_works_in_notebook_7(page: Any, lab: Lab, backend: Any) -> None:
    name = "nb7.ipynb"
    open_in_notebook7(page, lab, name, CELL, *HIGHLIGHT_CELLS)
    # Notebook 7's own page (its single-document shell), and the cells look like what they are here too.
    assert page.locator("#main-panel").count() == 1, page.url
    assert_cells_highlighted(page, "notebook7", first=1)
    wait_for_kernel(lab, name)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    try:
        page.locator(".lf-root").wait_for(timeout=TIMEOUT)
        wait_ready(page)
    except Exception:
        screenshot(page, "failed-notebook7")
        raise
    week = shown_rows(page)
    assert week == backend_count(backend, page)

    # The picker: Last 1 hour re-runs the query.
    page.locator(".lf-range").click()
    page.get_by_role("button", name="Last 1 hour").click()
    page.wait_for_function(
        "() => document.querySelector('.lf-range-label').textContent === 'Last 1 hour'", timeout=TIMEOUT
    )
    wait_ready(page)
    hour = shown_rows(page)
    assert hour == backend_count(backend, page) < week
    screenshot(page, "notebook7-1h")

    # The timeline: back to 7 days, then a drag narrows the range.
    page.locator(".lf-range").click()
    page.get_by_role("button", name="Last 7 days").click()
    wait_ready(page)
    page.wait_for_function(
        f"() => !/^{hour} rows/.test(document.querySelector('.lf-status-text').textContent)"
    )
    start_before = page.locator(".lf-root").get_attribute("data-from")
    box = page.locator(".lf-timeline-svg").bounding_box()
    y = box["y"] + 20
    page.mouse.move(box["x"] + box["width"] * 0.55, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.85, y, steps=10)
    page.mouse.up()
    page.wait_for_function(
        f"() => document.querySelector('.lf-root').dataset.from !== {start_before!r}", timeout=TIMEOUT
    )
    wait_ready(page)
    root = page.locator(".lf-root")
    width = datetime.fromisoformat(root.get_attribute("data-to")) - datetime.fromisoformat(
        root.get_attribute("data-from")
    )
    assert 1.9 < width.total_seconds() / 86400 < 2.3  # 30% of 7 days
    assert shown_rows(page) == backend_count(backend, page)

    # Sorting by a header click.
    names = page.evaluate("[...document.querySelectorAll('.lf-th')].map(th => th.dataset.col)")
    column = names.index("span_name")
    page.locator('.lf-th[data-col="span_name"]').click()
    ascending = column_texts(page, column, 30)
    assert ascending == sorted(ascending)
    screenshot(page, "notebook7-sorted")
