"""A `%%logql` cell's LokiTable in the real JupyterLab, driven by Debian's chromium, on Loki entries pushed to
the session's backend under a tenant of this test's own: the rows show under their query, the timeline's bars
are stacked by level, "Last 1 hour" re-runs the query with Loki's start/end, and a click on a label chip adds
`label="value"` to the query line and shows only those rows."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import httpx
import pytest
from _browser import Lab, screenshot
from _otlp_spans import send_trace_with_logs
from playwright.sync_api import expect
from test_widget_browser import TIMEOUT, run_notebook, shown_rows, wait_ready

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NS = 1_000_000_000
# Entries per environment: spread over the last week, and the few of the last half hour.
OLDER = {"production": 40, "staging": 30}
RECENT = {"production": 5, "staging": 3}
# Each entry's detected level (structured metadata, as Loki's level detection adds it), in turn.
LEVELS = ("info", "warn", "error")


def push_streams(backend: Any, tenant: str, streams: list[dict[str, Any]]) -> None:
    response = httpx.post(
        f"{backend.base_url}/loki/api/v1/push",
        json={"streams": streams},
        headers={"X-Scope-OrgID": tenant},
        timeout=30,
    )
    assert response.status_code == 204, response.text


def push_entries(backend: Any, tenant: str) -> None:
    now = time.time_ns()
    streams = []
    for env in OLDER:
        older = [now - (2 * 3600 + i * 7000) * NS for i in range(OLDER[env])]  # 2 h to ~3 days ago
        recent = [now - (60 + i * 300) * NS for i in range(RECENT[env])]  # within the last 30 minutes
        values = [
            [
                str(ts),
                f'level={LEVELS[i % 3]} msg="order placed" env={env} n={i}',
                {"detected_level": LEVELS[i % 3]},
            ]
            for i, ts in enumerate(older + recent)
        ]
        streams.append({"stream": {"app": "shop", "env": env}, "values": values})
    push_streams(backend, tenant, streams)


def chip_values(page: Any, label: str) -> list[str]:
    """The values of the `label` chips the table shows, top to bottom (locators reach into marimo's shadow
    root too)."""
    values: list[str] = page.locator(f'.lf-body .lf-tr .lf-chip[data-label="{label}"]').evaluate_all(
        "(chips) => chips.map((chip) => chip.dataset.value)"
    )
    return values


def test_a_logql_widget_shows_rows_requeries_a_picked_range_and_a_label_chip_narrows_it(
    page: Any, lab: Lab, backend: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    push_entries(backend, tenant)
    probe = "print(shop.height, sorted(set(shop['labels'].map.get('env').to_list())))"
    run_notebook(
        page,
        lab,
        "logql.ipynb",
        f"%load_ext logfire_notebook\n%config LokiMagic.org_id = {tenant!r}",
        '%%logql shop << --since 7d\n{app="shop"} |= "order placed"',
        probe,
    )
    week = sum(OLDER.values()) + sum(RECENT.values())
    assert shown_rows(page) == week
    assert page.locator(".lf-body .lf-tr").count() > 10
    assert set(chip_values(page, "env")) == {"production", "staging"}
    query = page.locator(".lf-query-text")
    expect(query).to_have_text('{app="shop"} |= "order placed"')
    # The timeline's bars are stacked by level, in the table's level colours.
    expect(page.locator(".lf-root[data-timeline='ready']")).to_have_count(1, timeout=TIMEOUT)
    stacked = page.evaluate(
        "() => [...new Set([...document.querySelectorAll('.lf-timeline path[data-level]')]"
        ".map((r) => `${r.dataset.level} ${r.getAttribute('class')}`))].sort()"
    )
    assert stacked == [f"{level} lf-bar lf-bar-{level}" for level in sorted(LEVELS)], stacked
    # A logfmt line reads as its keys and values; its level, in the level column, is coloured as in Logfire.
    first = page.locator(".lf-body .lf-tr").first
    keys = first.locator(".lf-logfmt-key").all_inner_texts()
    assert keys == ["level=", "msg=", "env=", "n="], keys
    level = first.locator(".lf-logfmt-value").first.inner_text()
    expect(first.locator(f".lf-level.lf-level-{level}")).to_have_text(level)
    screenshot(page, "logql-7d")

    page.locator(".lf-range").click()
    page.get_by_role("button", name="Last 1 hour").click()
    page.wait_for_function(
        "() => document.querySelector('.lf-footer').textContent.includes('Last 1 hour')", timeout=TIMEOUT
    )
    wait_ready(page)
    assert shown_rows(page) == sum(RECENT.values())

    page.locator('.lf-body .lf-chip[data-label="env"][data-value="staging"]').first.click()
    page.wait_for_function(
        f"() => document.querySelector('.lf-status-text').textContent.startsWith('{RECENT['staging']} row')",
        timeout=TIMEOUT,
    )
    wait_ready(page)
    assert chip_values(page, "env") == ["staging"] * RECENT["staging"]
    # The query line shows the label matcher the click added.
    expect(query).to_have_text('{env="staging", app="shop"} |= "order placed"')
    screenshot(page, "logql-narrowed")

    # The kernel's side: `shop` follows the narrowed rows.
    page.locator(".jp-Cell").nth(2).locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = page.locator(".jp-Cell").nth(2).locator(".jp-OutputArea-output")
    expect(output).to_have_text(f"{RECENT['staging']} ['staging']", timeout=TIMEOUT)


BULK = 3_000  # lines: more than a result that travels whole, so the browser gets them by window


def test_a_large_logql_result_scrolls_by_window_and_a_windowed_rows_chip_narrows_it(
    page: Any, lab: Lab, backend: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    now = time.time_ns()
    # Line n is n seconds older than line 0 (prose, not logfmt); lines alternate between two environments.
    streams = [
        {
            "stream": {"app": "bulk", "env": env},
            "values": [[str(now - (60 + n) * NS), f"bulk line {n}"] for n in range(parity, BULK, 2)],
        }
        for parity, env in enumerate(("even", "odd"))
    ]
    push_streams(backend, tenant, streams)
    run_notebook(
        page,
        lab,
        "logql-bulk.ipynb",
        f"%load_ext logfire_notebook\n%config LokiMagic.org_id = {tenant!r}",
        f'%%logql --since 2h --limit {BULK}\n{{app="bulk"}}',
    )
    assert shown_rows(page) == BULK
    names = page.locator(".lf-header .lf-th-name").all_inner_texts()
    line = names.index("line")
    page.locator(".lf-scroll").evaluate("s => { s.scrollTop = s.scrollHeight / 2; }")
    rows = page.locator(".lf-body .lf-tr")
    expect(rows.first).to_have_attribute("data-row", re.compile(r"^1[45]\d\d$"), timeout=TIMEOUT)
    expect(page.locator(".lf-body .lf-tr.lf-pending")).to_have_count(0, timeout=TIMEOUT)
    # Newest first: row k is line k.
    first = int(rows.first.get_attribute("data-row"))
    assert rows.first.locator(".lf-cell").nth(line).inner_text() == f"bulk line {first}"
    assert chip_values(page, "env")[:2] == (["even", "odd"] if first % 2 == 0 else ["odd", "even"])

    # A row on screen, found by its number (the first drawn rows are above the screen, and Playwright's
    # scrolling one into view would redraw them as other rows).
    target = first + 16
    page.locator(f'.lf-body .lf-tr[data-row="{target}"] .lf-chip[data-label="env"]').click()
    env = "even" if target % 2 == 0 else "odd"
    page.wait_for_function(
        f"() => document.querySelector('.lf-status-text').textContent.startsWith('{BULK // 2:,} rows')",
        timeout=TIMEOUT,
    )
    wait_ready(page)
    expect(page.locator(".lf-query-text")).to_have_text(f'{{env="{env}", app="bulk"}}')
    assert set(chip_values(page, "env")) == {env}
    screenshot(page, "logql-bulk-narrowed")


def test_a_metric_logql_cell_opens_on_its_chart_one_series_per_label_set(
    page: Any, lab: Lab, backend: Any
) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    push_entries(backend, tenant)
    run_notebook(
        page,
        lab,
        "logql-metric.ipynb",
        f"%load_ext logfire_notebook\n%config LokiMagic.org_id = {tenant!r}",
        '%%logql --since 7d --step 1h\nsum by (env) (count_over_time({app="shop"} [1h]))',
    )
    # No --chart: a metric query's rows are series over time, so the widget opens on the chart.
    chart = page.locator(".lf-chart")
    expect(chart).to_be_visible(timeout=TIMEOUT)
    expect(page.locator(".lf-view-chart")).to_have_attribute("aria-pressed", "true")
    expect(chart).to_have_attribute("data-series", str(len(OLDER)), timeout=TIMEOUT)
    labels = chart.locator(".u-legend .u-series .u-label").all_inner_texts()
    assert {'{env="production"}', '{env="staging"}'} <= set(labels), labels
    # Its timeline counts the series' points, and says so.
    expect(page.locator(".lf-timeline-note")).to_have_text(
        "The bars count the series' points; the Chart view draws their values."
    )
    screenshot(page, "logql-metric-chart")


def test_a_loki_lines_trace_id_opens_its_waterfall(page: Any, lab: Lab, backend: Any) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    # The lab's kernels read the shared backend: the trace goes 45 days back, where no other test reads.
    ago = 45 * 86400
    trace_id, spans = send_trace_with_logs(backend.base_url, "loki-browser-trace", tenant, depth=4, ago=ago)
    run_notebook(
        page,
        lab,
        "logql-trace.ipynb",
        f"%load_ext logfire_notebook\n%config LokiMagic.org_id = {tenant!r}",
        '%%logql --since 46d --until now-44d\n{service_name="loki-browser-trace"}',
    )
    assert shown_rows(page) == 1
    # The line's structured metadata holds its trace id: its detail offers "Open trace".
    names = page.locator(".lf-header .lf-th-name").all_inner_texts()
    metadata = (
        page.locator(".lf-body .lf-tr").first.locator(".lf-cell").nth(names.index("structured_metadata"))
    )
    expect(metadata).to_contain_text(trace_id)
    metadata.click()
    page.locator(".lf-detail .lf-open-trace").click()

    pane = page.locator(".lf-trace")
    expect(pane).to_have_attribute("data-state", "ready", timeout=TIMEOUT)
    assert pane.get_attribute("data-trace-id") == trace_id
    expect(pane.locator(".lf-waterfall")).to_have_attribute("data-lines", str(spans))
    expect(pane.locator(".lf-trace-row")).to_have_count(spans)
    # The spans came from Logfire's query API, nested as sent: the deepest bar inside its parent's.
    depths = [
        int(d) for d in pane.locator(".lf-trace-row").evaluate_all("rs => rs.map(r => r.dataset.depth)")
    ]
    assert sorted(depths) == list(range(spans))
    deepest = pane.locator(".lf-trace-row").nth(depths.index(spans - 1))
    parent = pane.locator(f'.lf-trace-row[data-line="{deepest.get_attribute("data-parent")}"]')
    child_bar = deepest.locator(".lf-trace-span").bounding_box()
    parent_bar = parent.locator(".lf-trace-span").bounding_box()
    assert parent_bar["x"] - 0.5 <= child_bar["x"]
    assert child_bar["x"] + child_bar["width"] <= parent_bar["x"] + parent_bar["width"] + 0.5
    screenshot(page, "logql-trace-waterfall")
