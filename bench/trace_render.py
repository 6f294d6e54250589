"""How fast "Open trace" shows a trace's waterfall: the query on the local backend, then click -> waterfall.

A local backend (`logfire-notebook serve`, the tests' `start_backend`) holds the standard test dataset plus
synthetic traces of 100 and 5,000 spans (a request fanning out to nested calls, logs on a tenth of the
spans, one exception deep inside). Measured, for each size:

- query: the kernel's trace query (`_trace.trace_sql`, one query by trace_id in the window around the root)
  through `LogfireClient.query_arrow`, plus the Arrow IPC the widget sends (median of `--runs`);
- click -> waterfall: in headless Debian chromium, the built bundle renders LogfireTable on a fake anywidget
  model; a click on a row's trace_id cell sends the "trace" request, the model answers at once with those
  IPC bytes, and the clock stops when the waterfall's lines are painted (decode + layout + first window).
  Each of `--runs` loads a fresh page (median; the slowest run is printed too, as the machine is shared).

Baselines, measured in the same run: for the query, `SELECT count(*)` of the same trace (the round trip
and scan without the rows); for the browser, `JSON.parse` of the same spans as JSON text (the least a
JSON-based view must do before drawing). Target: 5,000 spans click -> waterfall <= 500 ms plus the query.

    .venv/bin/python bench/trace_render.py [--spans 100 5000] [--screenshot out.png]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "widget"))

import _dataset  # noqa: E402
from _backend import start_backend  # noqa: E402
from _browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from widget_render import serve  # noqa: E402

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="widget.css">
<style>body { margin: 16px; font-family: system-ui; } #out { width: 1200px; }</style></head>
<body><div id="out"></div>
<script type="module">
import widget from "./widget.js";
const n = Number(new URLSearchParams(location.search).get("spans"));
const [rows, spans, jsonText, meta] = await Promise.all([
  fetch("rows.arrow").then((r) => r.arrayBuffer()),
  fetch(`trace-${n}.arrow`).then((r) => r.arrayBuffer()),
  fetch(`trace-${n}.json`).then((r) => r.text()),
  fetch(`meta-${n}.json`).then((r) => r.json()),
]);
let jsonMs = Infinity;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  JSON.parse(jsonText);
  jsonMs = Math.min(jsonMs, performance.now() - t);
}
const handlers = {};
const state = { sql: "SELECT * FROM records", min_timestamp: "now-7d", max_timestamp: "", utc: true, local: false,
  revision: 1, trace_column: "trace_id", head: new DataView(rows.slice(0)), timeline: { histogram: null, note: "" },
  status: { state: "ready", rows: meta.table_rows, min_timestamp: "now-7d", max_timestamp: "" } };
const model = {
  get: (k) => state[k], set: (k, v) => { state[k] = v; }, on: (e, f) => { (handlers[e] ??= []).push(f); },
  off: () => {}, save_changes: () => {},
  // The table's rows came in `head`; the only request is the trace's, answered with its Arrow IPC.
  send: (msg) => {
    if (msg.type !== "request" || msg.kind !== "trace") return;
    const reply = { type: "reply", id: msg.id, ok: true, rows: n, trace_id: meta.trace_id };
    queueMicrotask(() => handlers["msg:custom"].forEach((f) => f(reply, [new DataView(spans.slice(0))])));
  },
};
const el = document.getElementById("out");
widget.render({ model, el });
const frame = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
while (!el.querySelector(".lf-trace-link")) await frame();
const t0 = performance.now();
el.querySelector(`.lf-trace-link`).click();
while (!(el.querySelector(".lf-trace")?.dataset.state === "ready" && el.querySelector(".lf-trace-row .lf-trace-span"))) {
  await new Promise((r) => requestAnimationFrame(r));
}
await frame();  // painted
const clickMs = performance.now() - t0;
const wf = el.querySelector(".lf-waterfall");
const domLines = el.querySelectorAll(".lf-trace-row").length;
const scroller = el.querySelector(".lf-trace-scroll");
const t1 = performance.now();
scroller.scrollTop = scroller.scrollHeight / 2;
await frame();
const scrollMs = performance.now() - t1;
window.result = { clickMs, jsonMs, lines: Number(wf.dataset.lines), domLines, scrollMs };
</script></body></html>
"""


def synthetic_trace(n: int, start: datetime, seed: int) -> list[dict[str, Any]]:
    """n records of one trace: a request fanning out to services and nested calls, logs, one deep exception."""
    gen = _dataset._Gen(start, seed)
    rng = gen.rng
    trace_id = gen.hex(128)
    services = ["api-gateway", "checkout", "worker"]
    rows: list[dict[str, Any]] = []
    total = timedelta(seconds=max(2.0, n / 400))
    root = gen.base("api-gateway", start, start + total, "opentelemetry.instrumentation.fastapi")
    root.update(trace_id=trace_id, span_name="POST /orders", message="POST /orders")
    rows.append(root)
    open_spans = [root]
    depth = {root["span_id"]: 0}
    while len(rows) < n:
        # Realistic traces are wide rather than deep: parents within 12 levels of the root.
        parent = rng.choice([s for s in open_spans[-60:] if depth[s["span_id"]] < 12] or [root])
        p_start, p_end = parent["start_timestamp"], parent["end_timestamp"]
        length = (p_end - p_start) * rng.uniform(0.05, 0.6)
        s = p_start + (p_end - p_start - length) * rng.random()
        if rng.random() < 0.1:
            log = gen.base(parent["service_name"], s, s, "logfire")
            log.update(trace_id=trace_id, parent_span_id=parent["span_id"], kind="log", duration=None)
            log.update(span_name="step {i}", message=f"step {len(rows)} done")
            rows.append(log)
            continue
        service = parent["service_name"] if rng.random() < 0.8 else rng.choice(services)
        span = gen.base(service, s, s + length, "app")
        name = rng.choice(["SELECT orders", "GET inventory", "chat gpt-4o", "running tool", "render"])
        span.update(trace_id=trace_id, parent_span_id=parent["span_id"], span_name=name, message=name)
        span["attributes"] = json.dumps(
            {"i": len(rows), "db.statement": "SELECT * FROM orders WHERE id = $1"}
        )
        rows.append(span)
        open_spans.append(span)
        depth[span["span_id"]] = depth[parent["span_id"]] + 1
    gen.exception(max(open_spans, key=lambda r: depth[r["span_id"]]))
    return rows


def median_of(runs: int, fn: Any) -> tuple[float, Any]:
    """The median wall time of `runs` calls of fn, in ms, and its last value."""
    times, value = [], None
    for _ in range(runs):
        t0 = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spans", type=int, nargs="+", default=[100, 5_000])
    parser.add_argument("--runs", type=int, default=5, help="runs per measure; medians are printed")
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the last waterfall shown")
    args = parser.parse_args()

    import polars as pl
    import pyarrow as pa
    from playwright.sync_api import sync_playwright

    from logfire_notebook import LogfireClient
    from logfire_notebook import _widget_data as wire
    from logfire_notebook._trace import trace_sql, trace_window
    from logfire_notebook.server.store import Store

    static = ROOT / "logfire_notebook" / "static"
    if not (static / "widget.js").exists():
        sys.exit("Build the bundle first: npm run build")
    now = datetime.now(timezone.utc)
    traces = {
        n: synthetic_trace(n, now - timedelta(hours=1, minutes=i), seed=n) for i, n in enumerate(args.spans)
    }
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        data_dir = directory / "data"
        with Store(data_dir) as store:
            store.append_records(_dataset.build(now).records_table())
            for rows in traces.values():
                store.append_records(_dataset._table(rows, _dataset.RECORDS))
        backend = start_backend(data_dir)
        queried: dict[int, tuple[float, float, bytes]] = {}
        try:
            with LogfireClient(backend.token, backend.base_url) as client:
                for n, rows in traces.items():
                    trace_id = rows[0]["trace_id"]
                    start, end = trace_window(rows[0]["start_timestamp"])

                    def query(sql: str, start: datetime = start, end: datetime = end) -> pa.Table:
                        return client.query_arrow(sql, min_timestamp=start, max_timestamp=end, limit=10_000)

                    query_ms, table = median_of(args.runs, lambda: wire.to_ipc(query(trace_sql(trace_id))))  # noqa: B023
                    count_sql = f"SELECT count(*) AS n FROM records WHERE trace_id = '{trace_id}'"
                    count_ms, counted = median_of(args.runs, lambda: query(count_sql))  # noqa: B023
                    assert int(counted.column("n")[0].as_py()) == n, "the backend lost spans"
                    queried[n] = (query_ms, count_ms, table)
        finally:
            backend.stop()

        shutil.copy(static / "widget.js", directory)
        shutil.copy(static / "widget.css", directory)
        (directory / "index.html").write_text(PAGE)
        roots = pl.DataFrame(
            [{"start_timestamp": rows[0]["start_timestamp"], "span_name": "POST /orders", "trace_id": rows[0]["trace_id"]}
             for rows in traces.values()]
        )  # fmt: skip
        (directory / "rows.arrow").write_bytes(wire.to_ipc(roots.to_arrow()))
        for n, rows in traces.items():
            (directory / f"trace-{n}.arrow").write_bytes(queried[n][2])
            (directory / f"trace-{n}.json").write_text(json.dumps(rows, default=str))
            (directory / f"meta-{n}.json").write_text(
                json.dumps({"trace_id": rows[0]["trace_id"], "table_rows": roots.height})
            )
        server, url = serve(directory)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1240, "height": 900})
                page.on("pageerror", lambda error: print(f"page error: {error}"))
                print(
                    f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; medians of {args.runs} runs"
                )
                print(f"{'spans':>6} {'query ms':>9} {'count ms':>9} {'ratio':>6} {'click->waterfall ms':>20} "
                      f"{'(slowest)':>9} {'JSON.parse ms':>14} {'ratio':>6} {'total ms':>9} {'DOM lines':>10} "
                      f"{'scroll ms':>10}")  # fmt: skip
                page.goto(f"{url}/index.html?spans={args.spans[0]}")  # warms chromium up; not counted
                page.wait_for_function("window.result !== undefined", timeout=60_000)
                for n in args.spans:
                    results = []
                    for _ in range(args.runs):
                        page.goto(f"{url}/index.html?spans={n}")
                        page.wait_for_function("window.result !== undefined", timeout=60_000)
                        results.append(page.evaluate("window.result"))
                    lines = sum(1 for row in traces[n] if row["kind"] != "log")
                    assert all(r["lines"] == lines for r in results), (
                        f"the waterfall does not show {lines} lines"
                    )
                    click = statistics.median(r["clickMs"] for r in results)
                    slowest = max(r["clickMs"] for r in results)
                    parse = statistics.median(r["jsonMs"] for r in results)
                    scroll = statistics.median(r["scrollMs"] for r in results)
                    query_ms, count_ms, _ = queried[n]
                    print(
                        f"{n:>6} {query_ms:>9.0f} {count_ms:>9.0f} {query_ms / max(count_ms, 0.1):>6.2f} "
                        f"{click:>20.0f} {slowest:>9.0f} {parse:>14.1f} {click / max(parse, 0.1):>6.1f} "
                        f"{query_ms + click:>9.0f} {results[0]['domLines']:>10} {scroll:>10.0f}"
                    )
                if args.screenshot:
                    page.screenshot(path=str(args.screenshot), full_page=True)
                browser.close()
        finally:
            server.shutdown()
    print("ratios: query / count(*) of the same trace; click->waterfall / JSON.parse of the same spans. "
          "Target: 5,000 spans click->waterfall <= 500 ms (plus the query).")  # fmt: skip


if __name__ == "__main__":
    main()
