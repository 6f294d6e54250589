"""LogfireTable in a real JupyterLab, driven by Debian's chromium, on a notebook querying the local backend.

What a user sees: the rows; "Last 1 hour" re-runs the query and the row count becomes what the backend has
for that hour; dragging across the timeline narrows the range; a header click sorts; a JSON cell opens as a
tree. Each step leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import Lab, open_notebook, screenshot
from _loopback import free_port
from playwright.sync_api import expect

from logfire_notebook import LogfireClient

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SQL = (
    "SELECT start_timestamp, level, service_name, span_name, message, duration, attributes, tags, trace_id "
    "FROM records ORDER BY start_timestamp DESC"
)
CELL = f"""
from logfire_notebook import LogfireTable

table = LogfireTable({SQL!r}, since="7d", limit=5000)
table
"""
TIMEOUT = 60_000


def run_notebook(page: Any, lab: Lab, name: str, *cells: str) -> Any:
    """Opens a notebook, runs every cell and returns the widget's root element once its rows are shown."""
    open_notebook(page, lab, name, *cells)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=TIMEOUT)
    # Run All is ignored until the notebook's kernel is connected: wait for the status bar to say Idle.
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=TIMEOUT)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    root = page.locator(".lf-root")
    try:
        root.first.wait_for(timeout=TIMEOUT)
        wait_ready(page)
    except Exception:
        screenshot(page, f"failed-{name}")
        raise
    return root


def wait_ready(page: Any) -> None:
    page.wait_for_function(
        "() => { const r = document.querySelector('.lf-root');"
        " return r && r.dataset.state === 'ready' && !r.classList.contains('lf-loading')"
        " && r.dataset.timeline !== 'pending'; }",
        timeout=TIMEOUT,
    )


def shown_rows(page: Any) -> int:
    text = page.locator(".lf-status-text").inner_text()
    match = re.match(r"([\d,]+) rows?", text)
    assert match, f"status line reads {text!r}"
    return int(match.group(1).replace(",", ""))


def backend_count(backend: Any, page: Any) -> int:
    """What the backend has for the window the widget says it shows (its exact instants)."""
    root = page.locator(".lf-root")
    start = datetime.fromisoformat(root.get_attribute("data-from"))
    end = datetime.fromisoformat(root.get_attribute("data-to"))
    with LogfireClient(backend.token, backend.base_url) as client:
        table = client.query_arrow(
            "SELECT count(*) AS n FROM records", min_timestamp=start, max_timestamp=end
        )
    return int(table.column("n")[0].as_py())


def column_texts(page: Any, column: int, count: int = 12) -> list[str]:
    """The texts of the first `count` rows' cells in `column`, once none of them is a placeholder (a large
    result's rows after a sort come from the kernel; a placeholder's empty text would pass for sorted)."""
    page.wait_for_function(
        "(n) => { const trs = [...document.querySelectorAll('.lf-body .lf-tr')].slice(0, n);"
        " return trs.length === n && !trs.some(tr => tr.classList.contains('lf-pending')); }",
        arg=count,
        timeout=TIMEOUT,
    )
    texts: list[str] = page.evaluate(
        "([c, n]) => [...document.querySelectorAll('.lf-body .lf-tr')].slice(0, n)"
        ".map(tr => tr.children[c].textContent)",
        [column, count],
    )
    return texts


def test_rows_show_and_last_hour_requeries_to_the_backends_count(page: Any, lab: Lab, backend: Any) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    run_notebook(page, lab, "range.ipynb", CELL)
    # anywidget's current module form: no "Direct export of a 'render' will likely be deprecated" warning.
    assert not [text for text in console if "render" in text and "deprecat" in text.lower()], console
    assert page.locator(".lf-body .lf-tr").count() > 10
    assert shown_rows(page) == backend_count(backend, page)
    assert page.locator(".lf-range-label").inner_text() == "Last 7 days"
    assert int(page.locator(".lf-timeline-svg").get_attribute("data-bars") or 0) > 10
    screenshot(page, "widget-7d")

    page.locator(".lf-range").click()
    screenshot(page, "widget-picker")
    page.get_by_role("button", name="Last 1 hour").click()
    wait_ready(page)
    page.wait_for_function(
        "() => document.querySelector('.lf-range-label').textContent === 'Last 1 hour'", timeout=TIMEOUT
    )
    expected = backend_count(backend, page)
    assert 0 < expected < 3000
    assert shown_rows(page) == expected
    assert page.locator(".lf-body .lf-tr").count() == min(expected, page.locator(".lf-body .lf-tr").count())
    screenshot(page, "widget-1h")


def test_dragging_on_the_timeline_narrows_the_range(page: Any, lab: Lab, backend: Any) -> None:
    run_notebook(page, lab, "drag.ipynb", CELL)
    before = shown_rows(page)
    start_before = page.locator(".lf-root").get_attribute("data-from")
    box = page.locator(".lf-timeline-svg").bounding_box()
    y = box["y"] + 20
    page.mouse.move(box["x"] + box["width"] * 0.55, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, y, steps=8)
    page.mouse.move(box["x"] + box["width"] * 0.85, y, steps=8)
    page.mouse.up()
    page.wait_for_function(
        f"() => document.querySelector('.lf-root').dataset.from !== {start_before!r}", timeout=TIMEOUT
    )
    wait_ready(page)
    root = page.locator(".lf-root")
    start = datetime.fromisoformat(root.get_attribute("data-from"))
    end = datetime.fromisoformat(root.get_attribute("data-to"))
    width_days = (end - start).total_seconds() / 86400
    assert 1.9 < width_days < 2.3  # 30% of 7 days
    assert page.locator(".lf-range-label").inner_text() == "Custom range"
    # The picker's From / To fields show the instants as its label does (no cut-off ISO text with .999).
    times = page.locator(".lf-range-times").inner_text()
    page.locator(".lf-range").click()
    fields = [page.locator(f".lf-{end}").input_value() for end in ("from", "to")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?", f) for f in fields), fields
    assert times.startswith(fields[0]) and times.endswith(fields[1][-5:]), (times, fields)
    page.locator(".lf-range").click()
    after = shown_rows(page)
    assert after == backend_count(backend, page)
    assert after < before
    screenshot(page, "widget-dragged")


def test_clicking_a_header_sorts_and_a_json_cell_opens_as_a_tree(page: Any, lab: Lab) -> None:
    run_notebook(page, lab, "sort.ipynb", CELL)
    names = page.evaluate("[...document.querySelectorAll('.lf-th')].map(th => th.dataset.col)")
    span_col = names.index("span_name")
    unsorted = column_texts(page, span_col, 30)

    page.locator('.lf-th[data-col="span_name"]').click()
    ascending = column_texts(page, span_col, 30)
    assert ascending == sorted(ascending)
    assert ascending != unsorted
    page.locator('.lf-th[data-col="span_name"]').click()
    descending = column_texts(page, span_col, 30)
    assert descending == sorted(descending, reverse=True)
    assert page.locator('.lf-th[data-col="span_name"]').get_attribute("aria-sort") == "descending"
    screenshot(page, "widget-sorted")

    attributes_col = names.index("attributes")
    cell = page.locator(".lf-body .lf-tr").first.locator(".lf-cell").nth(attributes_col)
    preview = cell.inner_text()
    assert preview.startswith("{")
    cell.click()
    detail = page.locator(".lf-detail")
    detail.wait_for()
    tree = detail.locator("details.lf-tree").first
    assert tree.get_attribute("open") is not None
    keys = detail.locator(".lf-tree-key").all_inner_texts()
    assert keys, "the JSON tree shows the value's keys"
    # Collapse and expand the top level, as a user clicking the ▾ does.
    detail.locator("summary").first.click()
    assert tree.get_attribute("open") is None
    detail.locator("summary").first.click()
    assert tree.get_attribute("open") is not None
    screenshot(page, "widget-json")


def set_lab_theme(lab: Lab, theme: str) -> None:
    """Sets JupyterLab's theme through its settings API, as the Settings > Theme menu does."""
    response = httpx.put(
        f"{lab.url}/lab/api/settings/@jupyterlab/apputils-extension:themes",
        params={"token": lab.token},
        json={"raw": json.dumps({"theme": theme})},
        timeout=30,
    )
    response.raise_for_status()


@pytest.mark.own_page  # JupyterLab reads its theme when it loads
def test_follows_jupyterlabs_dark_theme(page: Any, lab: Lab) -> None:
    set_lab_theme(lab, "JupyterLab Dark")
    try:
        run_notebook(page, lab, "theme.ipynb", CELL)
    finally:
        set_lab_theme(lab, "JupyterLab Light")
    page.wait_for_function(
        "() => document.querySelector('.lf-root').classList.contains('lf-dark')", timeout=TIMEOUT
    )
    # The widget takes its background from JupyterLab's own dark palette.
    background = page.evaluate("getComputedStyle(document.querySelector('.lf-root')).backgroundColor")
    assert sum(int(v) for v in re.findall(r"\d+", background)[:3]) < 200, background
    page.locator(".lf-body .lf-tr").nth(2).locator(".lf-cell").nth(6).click()
    screenshot(page, "widget-dark")


def test_dragging_a_header_edge_resizes_the_column(page: Any, lab: Lab) -> None:
    run_notebook(page, lab, "resize.ipynb", CELL)
    header = page.locator('.lf-th[data-col="service_name"]')
    before = header.bounding_box()["width"]
    grip = header.locator(".lf-resize").bounding_box()
    x, y = grip["x"] + grip["width"] / 2, grip["y"] + grip["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y, steps=6)
    page.mouse.move(x + 120, y, steps=6)
    page.mouse.up()
    after = header.bounding_box()["width"]
    assert after == pytest.approx(before + 120, abs=2)
    # The cells below follow their header, and sorting is not triggered by the drag.
    cell = page.locator(".lf-body .lf-tr").first.locator(".lf-cell").nth(2).bounding_box()
    assert cell["width"] == pytest.approx(after, abs=2)
    assert header.get_attribute("aria-sort") == "none"


def test_empty_and_error_states_say_what_happened(page: Any, lab: Lab) -> None:
    empty = f"LogfireTable({SQL!r}, since='now-30d', until='now-29d')"
    broken = "LogfireTable('SELECT no_such_column FROM records', since='1h')"
    open_notebook(page, lab, "states.ipynb", f"from logfire_notebook import LogfireTable\n{empty}", broken)
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=TIMEOUT)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    roots = page.locator(".lf-root")
    expect(roots).to_have_count(2, timeout=TIMEOUT)
    expect(roots.nth(0)).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    expect(roots.nth(1)).to_have_attribute("data-state", "error", timeout=TIMEOUT)
    empty_message = roots.nth(0).locator(".lf-message")
    expect(empty_message).to_be_visible()
    assert re.fullmatch(
        r"No rows in .+: widen the time range or loosen the query's filters\.",
        empty_message.inner_text(),
    )
    error_message = roots.nth(1).locator(".lf-message.lf-error").inner_text()
    assert "no_such_column" in error_message and "\n" not in error_message
    screenshot(page, "widget-empty-and-error")


BIG = """
from datetime import datetime, timedelta, timezone
import polars as pl
from logfire_notebook import LogfireTable

n = 100_000
end = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
big = pl.DataFrame({
    "start_timestamp": pl.datetime_range(end - timedelta(seconds=n - 1), end, "1s", eager=True, time_zone="UTC").reverse(),
    "code": [f"c{(i * 7919) % 100_003:06d}" for i in range(n)],
    "message": [f"row {i}" for i in range(n)],
})
LogfireTable(data=big)
"""


def first_rows(page: Any) -> list[tuple[int, str, str]]:
    """(row number, code, message) of the rows drawn, once none is a placeholder any more."""
    page.wait_for_function(
        "() => document.querySelectorAll('.lf-body .lf-tr').length > 5"
        " && !document.querySelector('.lf-body .lf-tr.lf-pending')",
        timeout=TIMEOUT,
    )
    rows: list[list[Any]] = page.evaluate(
        "[...document.querySelectorAll('.lf-body .lf-tr')].map(tr =>"
        " [Number(tr.dataset.row), tr.children[1].textContent, tr.children[2].textContent])"
    )
    return [(int(row), str(code), str(message)) for row, code, message in rows]


# Samples the rows drawn at every animation frame after `scrollTop` is set to `fraction` of the scroll range,
# until no row is a placeholder: [first row number, rows drawn, placeholders, rows that are not the row they
# say] per frame.
SCROLL_AND_WATCH = """async (fraction) => {
  const s = document.querySelector('.lf-scroll');
  s.scrollTop = (s.scrollHeight - s.clientHeight) * fraction;
  const frames = [];
  const deadline = performance.now() + 60000;
  while (performance.now() < deadline) {
    await new Promise((r) => requestAnimationFrame(r));
    const trs = [...document.querySelectorAll('.lf-body .lf-tr')];
    const pending = trs.filter((tr) => tr.classList.contains('lf-pending')).length;
    const wrong = trs.filter((tr) => !tr.classList.contains('lf-pending')
      && tr.children[2].textContent !== 'row ' + tr.dataset.row).length;
    frames.push([Number(trs[0]?.dataset.row ?? -1), trs.length, pending, wrong]);
    if (trs.length && !pending && Number(trs[0].dataset.row) > 0) break;
  }
  return frames;
}"""
# Drags the scroll position from 10% to 80% of the way, one step per animation frame (as a scrollbar drag
# moves it), and returns the gaps between the steps in ms.
DRAG = """async () => {
  const s = document.querySelector('.lf-scroll');
  const range = s.scrollHeight - s.clientHeight;
  const gaps = [];
  let last = performance.now();
  for (let k = 0; k <= 20; k++) {
    s.scrollTop = range * (0.1 + (0.7 * k) / 20);
    await new Promise((r) => requestAnimationFrame(r));
    const now = performance.now();
    gaps.push(now - last);
    last = now;
  }
  return gaps;
}"""


# A window request as the page sends it (its `sort` is null or one flat object).
WINDOW_REQUEST = re.compile(r'\{"type":"request","id":\d+,"kind":"window"[^{}]*(\{[^{}]*\}[^{}]*)?\}')


def window_requests(frames: list[bytes | str]) -> list[dict[str, Any]]:
    """The window requests among the frames the page sent on the kernel's websocket, in order."""
    found: list[dict[str, Any]] = []
    for frame in frames:
        text = frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame
        found += [json.loads(m.group(0)) for m in WINDOW_REQUEST.finditer(text)]
    return found


def test_a_hundred_thousand_rows_scroll_to_the_middle_and_sort_in_the_kernel(page: Any, lab: Lab) -> None:
    received: list[int] = []
    sent: list[bytes | str] = []

    def on_websocket(ws: Any) -> None:
        ws.on("framereceived", lambda f: received.append(len(f)))
        ws.on("framesent", lambda f: sent.append(f))

    page.on("websocket", on_websocket)
    run_notebook(page, lab, "big.ipynb", BIG)
    assert shown_rows(page) == 100_000
    drawn = first_rows(page)
    assert drawn[0] == (0, "c000000", "row 0")
    # The browser got its first rows, not the frame (100,000 rows would be megabytes).
    assert sum(received) < 2_000_000

    # A jump to the middle: placeholders where the rows will be (never a blank table), the same rows kept in
    # place when they arrive (no jump), one round trip.
    frames = page.evaluate(SCROLL_AND_WATCH, 0.5)
    first = frames[-1][0]
    assert 49_000 < first < 51_000, frames[-1]
    assert all(rows > 0 and wrong == 0 for _, rows, _, wrong in frames), frames
    # (The first frames may still show the top: the widget draws the scroll in the frame after it.)
    assert {row for row, _, _, _ in frames if row != 0} == {first}, frames
    # The only window asked so far is the middle's: the first rows came with the result, no request.
    # (Frames reach Python asynchronously, so requests are told apart by their ids, not by when they came.)
    asked = window_requests(sent)
    assert len(asked) == 1 and asked[0]["offset"] <= first < asked[0]["offset"] + asked[0]["count"], asked
    last_id = asked[0]["id"]
    middle = first_rows(page)
    assert all(message == f"row {row}" for row, _, message in middle)
    screenshot(page, "widget-100k-middle")

    # A windowed row's cell opens in the detail pane with its own value. (A row on screen, by its number:
    # the first rows drawn are above the screen, and scrolling one into view would redraw them.)
    target = first + 16
    page.locator(f'.lf-body .lf-tr[data-row="{target}"] .lf-cell').nth(2).click()
    expect(page.locator(".lf-detail .lf-detail-row")).to_have_text(f"row {target + 1}")
    expect(page.locator(".lf-detail .lf-detail-body")).to_have_text(f"row {target}")

    # A fast drag of the scroll position asks only for where it stops (a pause of SETTLE_MS, 40 ms, between
    # two steps, which a loaded machine can make, may add one request).
    gaps = page.evaluate(DRAG)
    page.wait_for_function(
        "() => Number(document.querySelector('.lf-body .lf-tr').dataset.row) > 70000"
        " && !document.querySelector('.lf-body .lf-tr.lf-pending')",
        timeout=TIMEOUT,
    )
    stop = first_rows(page)[0][0]
    asked = [request for request in window_requests(sent) if request["id"] > last_id]
    assert 1 <= len(asked) <= 1 + sum(gap >= 30 for gap in gaps), (asked, gaps)
    assert asked[-1]["offset"] <= stop < asked[-1]["offset"] + asked[-1]["count"], (asked, stop)

    page.locator('.lf-th[data-col="code"]').click()
    page.locator('.lf-th[data-col="code"]').click()  # descending
    page.wait_for_function(
        "() => document.querySelector('.lf-body .lf-tr')?.dataset.row === '0'"
        " && document.querySelector('.lf-th[data-col=\"code\"]').getAttribute('aria-sort') === 'descending'",
        timeout=TIMEOUT,
    )
    codes = sorted(((f"c{(i * 7919) % 100_003:06d}", i) for i in range(100_000)), key=lambda c: c[0])
    expected = [(rank, code, f"row {i}") for rank, (code, i) in enumerate(reversed(codes))]
    drawn = first_rows(page)
    assert drawn == expected[: len(drawn)]
    assert len(drawn) > 10
    # One round trip per click: the kernel sorts the whole frame and sends the top of the new order.
    asked = [request for request in window_requests(sent) if request["sort"]]
    assert [(r["sort"]["direction"], r["offset"]) for r in asked] == [("asc", 0), ("desc", 0)], asked
    screenshot(page, "widget-100k-sorted")

    # The range filter of a DataFrame runs in the kernel on the whole frame: a drag across the timeline
    # shows the exact count of rows in the range, still sorted by the kernel.
    box = page.locator(".lf-timeline-svg").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + 20)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 20, steps=8)
    page.mouse.up()
    page.wait_for_function(
        "() => !/^100,000 rows/.test(document.querySelector('.lf-status-text').textContent)", timeout=TIMEOUT
    )
    wait_ready(page)
    root = page.locator(".lf-root")
    start = datetime.fromisoformat(root.get_attribute("data-from"))
    stop_at = datetime.fromisoformat(root.get_attribute("data-to"))
    end = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    inside = [i for i in range(100_000) if start <= end - timedelta(seconds=i) < stop_at]
    assert 20_000 < len(inside) < 40_000
    assert shown_rows(page) == len(inside)
    kept = set(inside)
    expected = [(code, f"row {i}") for code, i in reversed(codes) if i in kept]
    drawn = first_rows(page)
    assert [(code, message) for _, code, message in drawn] == expected[: len(drawn)]
    screenshot(page, "widget-100k-range")


# Checks every animation frame (the DOM a frame callback sees is what that frame paints) for the first data
# row drawn, and records the timeline's state in that frame.
WATCH_FIRST_ROWS = """() => {
  window.__timelineAtFirstRows = undefined;
  const poll = () => {
    const root = document.querySelector('.lf-root');
    if (root && root.querySelector('.lf-body .lf-tr:not(.lf-pending) .lf-cell')) {
      window.__timelineAtFirstRows = root.dataset.timeline;
    } else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""
TIMELINE_COUNT = re.compile(r'"timeline":\s*\{"histogram":\s*\{')
PAINTED = re.compile(r'"type":\s*"painted"')


def test_a_windowed_dataframes_timeline_is_counted_after_its_first_rows_are_painted(
    page: Any, lab: Lab
) -> None:
    # The kernel counts the timeline once the browser says the rows are painted, so the count does not take
    # the cores the first paint needs; it comes with no user action, exact.
    events: list[tuple[str, str]] = []

    def on_websocket(ws: Any) -> None:
        def text(frame: bytes | str) -> str:
            return frame.decode("utf-8", "replace") if isinstance(frame, bytes) else frame

        ws.on("framesent", lambda f: events.append(("sent", text(f))))
        ws.on("framereceived", lambda f: events.append(("received", text(f))))

    page.on("websocket", on_websocket)
    # However long a loaded machine takes to paint, the count waits for the page's word (not the fallback).
    wait = "import logfire_notebook._paint_gate\nlogfire_notebook._paint_gate.PAINT_WAIT = 120\n"
    big = BIG.replace("LogfireTable(data=big)", "table = LogfireTable(data=big)\ntable")
    cells = (wait + big, PRINT_TIMELINE)
    open_notebook(page, lab, "painted.ipynb", *cells)
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=TIMEOUT)
    page.evaluate(WATCH_FIRST_ROWS)
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")  # runs the first cell only; nothing else is done until the check
    wait_ready(page)  # the rows, and the timeline drawn (not pending)
    assert page.evaluate("window.__timelineAtFirstRows") == "pending"
    assert int(page.locator(".lf-timeline-svg").get_attribute("data-bars") or 0) > 10
    painted = next(i for i, (way, text) in enumerate(events) if way == "sent" and PAINTED.search(text))
    counted = next(
        i for i, (way, text) in enumerate(events) if way == "received" and TIMELINE_COUNT.search(text)
    )
    assert painted < counted, "the timeline's count reached the page before the page said it painted"
    page.keyboard.press("Shift+Enter")  # the second cell: what the kernel sent as the timeline
    expect(page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea-output")).to_have_text(
        "100000 True", timeout=TIMEOUT
    )


PRINT_TIMELINE = (
    'print(sum(table.timeline["histogram"]["counts"]), table.timeline["revision"] == table.revision)'
)


def bundle_marker() -> bytes:
    """A slice of the built bundle that JSON would not escape: it shows in a frame whichever way it travels."""
    js = (Path(__file__).parents[2] / "logfire_notebook" / "static" / "widget.js").read_bytes()
    start = next(
        i
        for i in range(len(js) // 2, len(js) - 80)
        if all(b < 0x80 and b not in b'"\\' for b in js[i : i + 80])
    )
    return js[start : start + 80]


def test_two_widgets_on_a_page_both_show_and_the_bundle_crosses_the_websocket_once(
    page: Any, lab: Lab
) -> None:
    frames: list[bytes] = []
    page.on(
        "websocket",
        lambda ws: ws.on(
            "framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode("utf-8"))
        ),
    )
    make = "import polars as pl\nfrom logfire_notebook import LogfireTable\n"
    first = "LogfireTable(data=pl.DataFrame({'name': ['first-a', 'first-b']}))"
    second = "LogfireTable(data=pl.DataFrame({'name': ['second-a', 'second-b', 'second-c']}))"
    run_notebook(page, lab, "two-widgets.ipynb", make + first, second)
    page.wait_for_function("() => document.querySelectorAll('.lf-root[data-state=\"ready\"]').length === 2")
    roots = page.locator(".lf-root")
    expect(roots.nth(0).locator(".lf-body .lf-tr")).to_have_count(2)
    expect(roots.nth(1).locator(".lf-body .lf-tr")).to_have_count(3)
    expect(roots.nth(1).locator(".lf-body .lf-tr").first).to_contain_text("second-a")
    screenshot(page, "widget-two")

    # Each widget's state opened a comm; only one frame carried the bundle's code (the first widget's).
    opens = [f for f in frames if b'"comm_open"' in f and b"logfire_notebook" in f]
    assert len(opens) == 2
    marker = bundle_marker()
    assert [marker in f for f in opens] == [True, False]
    assert sum(marker in f for f in frames) == 1


def test_a_range_picked_in_a_magic_cells_widget_rebinds_its_variable(page: Any, lab: Lab) -> None:
    run_notebook(
        page,
        lab,
        "follow.ipynb",
        "%load_ext logfire_notebook",
        f"%%logfire small << --since 7d --limit 10000\n{SQL}",
        "print(f'small={small.height} underscore={_.height}')",
    )
    week = shown_rows(page)
    footer = page.locator(".lf-footer").inner_text()
    assert footer.startswith(f"{week:,} rows · ") and "Last 7 days" in footer
    output = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea-output")
    expect(output).to_have_text(f"small={week} underscore={week}", timeout=TIMEOUT)

    page.locator(".lf-range").click()
    page.get_by_role("button", name="Last 1 hour").click()
    page.wait_for_function(
        "() => document.querySelector('.lf-footer').textContent.includes('Last 1 hour')", timeout=TIMEOUT
    )
    wait_ready(page)
    hour = shown_rows(page)
    assert hour < week
    # Run the print cell again, as a user would after picking the range.
    page.locator(".jp-Cell").nth(2).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    expect(output).to_have_text(f"small={hour} underscore={hour}", timeout=TIMEOUT)
    screenshot(page, "widget-follow")


def test_clicking_a_rows_trace_id_opens_its_waterfall(page: Any, lab: Lab, backend: Any) -> None:
    spans: dict[str, list[dict[str, Any]]] = {}
    for row in backend.dataset.visible_records:
        spans.setdefault(row["trace_id"], []).append(row)
    # The trace with the most spans (logs are ticks on their span's line, not lines of their own).
    trace_id = max(spans, key=lambda t: sum(r["kind"] == "span" for r in spans[t]))
    expected = sum(r["kind"] == "span" for r in spans[trace_id])
    sql = (
        "SELECT start_timestamp, span_name, message, trace_id FROM records "
        f"WHERE trace_id = '{trace_id}' AND parent_span_id IS NULL"
    )
    run_notebook(
        page,
        lab,
        "trace.ipynb",
        f"from logfire_notebook import LogfireTable\nLogfireTable({sql!r}, since='7d')",
    )
    page.locator(".lf-body .lf-tr .lf-trace-link").first.click()
    pane = page.locator(".lf-trace")
    expect(pane).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    expect(pane.locator(".lf-waterfall")).to_have_attribute("data-lines", str(expected))
    expect(pane.locator(".lf-trace-row")).to_have_count(expected)
    assert pane.get_attribute("data-trace-id") == trace_id

    # The deepest span's bar lies inside its parent's bar.
    depths = [
        int(d) for d in pane.locator(".lf-trace-row").evaluate_all("rs => rs.map(r => r.dataset.depth)")
    ]
    assert max(depths) >= 1
    deepest = pane.locator(".lf-trace-row").nth(depths.index(max(depths)))
    parent = pane.locator(f'.lf-trace-row[data-line="{deepest.get_attribute("data-parent")}"]')
    child_bar = deepest.locator(".lf-trace-span").bounding_box()
    parent_bar = parent.locator(".lf-trace-span").bounding_box()
    assert parent_bar["x"] - 0.5 <= child_bar["x"]
    assert child_bar["x"] + child_bar["width"] <= parent_bar["x"] + parent_bar["width"] + 0.5
    screenshot(page, "trace-waterfall")

    # A click on a span shows its attributes in the table's JSON tree.
    deepest.click()
    detail = pane.locator(".lf-trace-detail")
    expect(detail).to_be_visible()
    expect(detail.locator(".lf-tree").first).to_be_visible()


def test_a_magic_cells_chart_draws_its_series_shows_values_and_brushing_narrows_the_range(
    page: Any, lab: Lab, backend: Any
) -> None:
    sql = (
        "SELECT time_bucket('1 hour', start_timestamp) AS t, service_name, count(*) AS n, "
        "avg(duration) AS mean_duration FROM records GROUP BY t, service_name ORDER BY t"
    )
    root = run_notebook(
        page, lab, "chart.ipynb", "%load_ext logfire_notebook", f"%%logfire --chart --since 7d\n{sql}"
    )
    # Both numeric columns are drawn at first (a series per service and column); the Y picker keeps only n.
    chart = page.locator(".lf-chart")
    expect(chart).to_have_attribute("data-series", re.compile(r"[1-9]\d*"), timeout=TIMEOUT)
    both = int(chart.get_attribute("data-series") or 0)
    expect(page.locator(".lf-chart-x")).to_have_value("")  # automatic: t, the only time column
    page.locator(".lf-chart-y summary").click()
    page.locator(".lf-chart-y input[value='mean_duration']").uncheck()
    expect(chart).to_have_attribute("data-series", str(both // 2), timeout=TIMEOUT)
    expect(page.locator(".lf-chart-y summary")).to_have_text("Y: n")
    page.locator(".lf-chart-y summary").click()
    start = datetime.fromisoformat(root.get_attribute("data-from"))
    end = datetime.fromisoformat(root.get_attribute("data-to"))
    with LogfireClient(backend.token, backend.base_url) as client:
        services = client.query_arrow(
            "SELECT count(DISTINCT service_name) AS s FROM records", min_timestamp=start, max_timestamp=end
        )
    expected_series = int(services.column("s")[0].as_py())
    chart = page.locator(".lf-chart")
    expect(chart).to_be_visible(timeout=TIMEOUT)
    expect(chart).to_have_attribute("data-series", str(expected_series), timeout=TIMEOUT)
    assert int(chart.get_attribute("data-points") or 0) > expected_series
    expect(page.locator(".lf-table")).to_be_hidden()
    # Every series has its row in the legend; hovering the plot shows exact values there.
    legend = chart.locator(".u-legend .u-series")
    expect(legend).to_have_count(expected_series + 1)
    over = chart.locator(".u-over")
    box = over.bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.97, box["y"] + box["height"] / 2)
    values = legend.locator(".u-value").all_inner_texts()
    assert any(re.fullmatch(r"[\d,]+", v) for v in values[1:]), values
    screenshot(page, "widget-chart")

    # The switch goes back to the table and again to the chart.
    page.locator(".lf-view-table").click()
    expect(page.locator(".lf-chart-panel")).to_be_hidden()
    expect(page.locator(".lf-body .lf-tr").first).to_be_visible()
    page.locator(".lf-view-chart").click()
    expect(chart).to_be_visible()

    # Brushing across the last quarter of the chart picks that range and runs the query again.
    before = root.get_attribute("data-from")
    page.mouse.move(box["x"] + box["width"] * 0.75, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.95, box["y"] + box["height"] / 2, steps=5)
    page.mouse.up()
    page.wait_for_function(
        "(b) => { const r = document.querySelector('.lf-root');"
        " return r.dataset.from !== b && r.dataset.state === 'ready' && !r.classList.contains('lf-loading'); }",
        arg=before,
        timeout=TIMEOUT,
    )
    assert page.locator(".lf-range-label").inner_text() != "Last 7 days"
    expect(chart).to_have_attribute("data-series", re.compile(r"[1-9]\d*"), timeout=TIMEOUT)
    screenshot(page, "widget-chart-brushed")


@pytest.fixture
def live_demo(tmp_path: Path, demo_data: Callable[[Path], Path]) -> Iterator[tuple[str, Path]]:
    """`logfire-notebook demo --headless` on a copy of the session's small demo data: its services top up the
    minutes since that fill, then keep sending in real time (5 records a second) until the test ends. Yields
    its address and its token file."""
    port = free_port()
    data_dir = demo_data(tmp_path / "demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGFIRE_", "OTEL_"))}
    process = subprocess.Popen(
        [
            *[sys.executable, "-m", "logfire_notebook.cli", "demo", "--headless", "--records", "300"],
            *["--data-dir", str(data_dir), "--port", str(port), "--live-per-minute", "300"],
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its live services are its children: Ctrl-C to the session stops them all
    )
    watchdog = threading.Timer(300, os.killpg, args=(process.pid, signal.SIGKILL))
    watchdog.start()
    try:
        assert process.stdout is not None
        said: list[str] = []
        while not any("serving with live telemetry" in line for line in said):
            line = process.stdout.readline()
            assert line, "the demo ended before serving:\n" + "".join(said)
            said.append(line)
        watchdog.cancel()
        yield f"http://127.0.0.1:{port}", data_dir / "demo_token"
    finally:
        watchdog.cancel()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_live_shows_the_demos_new_rows_without_a_click_and_sends_nothing_while_the_page_is_hidden(
    page: Any, lab: Lab, live_demo: tuple[str, Path]
) -> None:
    base_url, token_file = live_demo
    # The token is read when the cell runs: the notebook holds only where it is.
    cell = (
        "from pathlib import Path\n"
        "from logfire_notebook import LogfireClient, LogfireTable\n"
        f"client = LogfireClient(Path({str(token_file)!r}).read_text().strip(), {base_url!r})\n"
        "t = LogfireTable('SELECT start_timestamp, service_name, span_name FROM records "
        "ORDER BY start_timestamp DESC', since='15m', client=client)\n"
        "t.live_interval = 1\n"
        "t"
    )
    root = run_notebook(page, lab, "live.ipynb", cell)
    page.locator(".lf-live-box").check()
    expect(root).to_have_class(re.compile("lf-live-on"))

    # The demo's services send on their own: new rows show on top, marked, with no click.
    fresh = page.locator(".lf-body .lf-tr.lf-fresh")
    expect(fresh.first).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".lf-body .lf-tr").first).to_have_class(re.compile("lf-fresh"))
    screenshot(page, "widget-live")

    # Hidden: the loop keeps ticking but sends nothing.
    page.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    polls = int(root.get_attribute("data-live-polls") or 0)
    page.wait_for_timeout(4_000)  # four intervals: no wait-for-condition can show that nothing happens
    assert int(root.get_attribute("data-live-polls") or 0) <= polls + 1  # at most the one already in flight
    page.evaluate("() => { delete document.visibilityState; }")
    page.wait_for_function(
        "(n) => Number(document.querySelector('.lf-root').dataset.livePolls) > n + 1",
        arg=polls,
        timeout=TIMEOUT,
    )
