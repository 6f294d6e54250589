"""How fast LogfireTable shows rows in a real browser, and how small its wire format is.

Headless Debian chromium loads a plain page with the built bundle (logfire_notebook/static/widget.js) and a
small fake anywidget model whose `head` holds the whole result as Arrow IPC bytes made by the widget's own
serializer (`_widget_data.to_ipc`), for 10,000 and 100,000 rows x 12 telemetry columns (what the browser
side costs when a result travels whole; bench/table_scale.py measures the windowed path end to end in
JupyterLab). Measured:

- time from `render()` to the first rows painted (Arrow decode + first window of DOM rows);
- the number of row elements in the DOM once shown, and after scrolling to the middle;
- the time a click on a text column's header takes to show the rows sorted;
- Arrow bytes against the same rows as JSON (records, as `json.dumps` writes them).

Baseline, measured in the same run and page: `JSON.parse` of the same rows as JSON text, which is the least
a JSON-rows widget must do before drawing anything. Targets: 100,000 rows visible in <= 1 s, <= 200 DOM
rows, Arrow <= half the JSON bytes.

    .venv/bin/python bench/widget_render.py [--rows 10000 100000] [--screenshot out.png]
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import random
import shutil
import socketserver
import sys
import tempfile
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "widget"))  # the browser tests' chromium and its flags

from _browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><link rel="stylesheet" href="widget.css">
<style>body { margin: 16px; font-family: system-ui; } #out { width: 1200px; }</style></head>
<body><div id="out"></div>
<script type="module">
import widget from "./widget.js";
const params = new URLSearchParams(location.search);
const rows = Number(params.get("rows"));
const [arrow, jsonText, meta] = await Promise.all([
  fetch(`rows-${rows}.arrow`).then((r) => r.arrayBuffer()),
  fetch(`rows-${rows}.json`).then((r) => r.text()),
  fetch(`meta-${rows}.json`).then((r) => r.json()),
]);
// Baseline: parsing the same rows as JSON (best of 3).
let jsonMs = Infinity;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  JSON.parse(jsonText);
  jsonMs = Math.min(jsonMs, performance.now() - t);
}
const handlers = {};
const state = {
  sql: "SELECT * FROM records", min_timestamp: meta.min, max_timestamp: meta.max, utc: false, local: false,
  revision: 1, limit: rows, head: new DataView(arrow.slice(0)),
  timeline: { histogram: meta.timeline, note: "" }, status: { state: "ready", rows, elapsed_ms: 42, limit: rows, limit_reached: false,
  min_timestamp: meta.min, max_timestamp: meta.max, from_ms: meta.timeline.from, to_ms: meta.timeline.to },
};
const model = {
  get: (k) => state[k],
  set: (k, v) => { state[k] = v; },
  on: (e, f) => { (handlers[e] ??= []).push(f); },
  off: () => {},
  save_changes: () => {},
  send: () => {},  // the whole result came in `head`, as the kernel sends a result it does not window
};
const el = document.getElementById("out");
const t0 = performance.now();
widget.render({ model, el });
await new Promise((resolve) => {
  const check = () => el.querySelector(".lf-tr .lf-cell") ? resolve() : requestAnimationFrame(check);
  check();
});
await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));  // painted
const visibleMs = performance.now() - t0;
const domRows = el.querySelectorAll(".lf-tr").length;
const scroller = el.querySelector(".lf-scroll");
scroller.scrollTop = scroller.scrollHeight / 2;
await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
const domRowsScrolled = el.querySelectorAll(".lf-tr").length;
const middleRow = el.querySelector(".lf-tr")?.dataset.row;
// Click-to-sort on a text column (the slowest kind: every string is decoded and compared).
const t1 = performance.now();
el.querySelector('.lf-th[data-col="message"]').click();
await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
const sortMs = performance.now() - t1;
window.result = { visibleMs, jsonMs, domRows, domRowsScrolled, middleRow: Number(middleRow), sortMs };
</script></body></html>
"""

LEVELS = (1, 5, 9, 9, 9, 9, 10, 13, 17, 21)
SERVICES = ("api", "worker", "billing", "frontend", "scheduler")
SPANS = ("GET /users/{id}", "POST /orders", "db.query", "cache.get", "chat gpt-4o", "send_email", "render")


def make_rows(n: int, seed: int = 7) -> list[dict[str, Any]]:
    """n telemetry-like rows of 12 columns (what `SELECT ... FROM records` typically shows)."""
    rng = random.Random(seed)
    end = datetime(2026, 1, 31, 12, tzinfo=timezone.utc)
    rows = []
    for i in range(n):
        start = end - timedelta(seconds=rng.uniform(0, 6 * 3600))
        duration = rng.expovariate(1 / 0.08)
        span = rng.choice(SPANS)
        rows.append(
            {
                "start_timestamp": start,
                "end_timestamp": start + timedelta(seconds=duration),
                "level": rng.choice(LEVELS),
                "service_name": rng.choice(SERVICES),
                "span_name": span,
                "message": f"{span} handled request {rng.randrange(10**6)} for user {rng.randrange(5000)}",
                "duration": duration,
                "trace_id": f"{rng.getrandbits(128):032x}",
                "span_id": f"{rng.getrandbits(64):016x}",
                "http_response_status_code": rng.choice((200, 200, 200, 201, 404, 500)),
                "is_exception": rng.random() < 0.03,
                "attributes": json.dumps(
                    {
                        "http.route": span,
                        "user_id": rng.randrange(5000),
                        "items": rng.randrange(20),
                        "ok": True,
                    }
                ),
            }
        )
        del i
    return rows


def write_fixtures(directory: Path, n: int) -> dict[str, int]:
    import polars as pl

    from logfire_notebook import _widget_data as wire

    rows = make_rows(n)
    frame = pl.DataFrame(rows)
    arrow = wire.to_ipc(frame.to_arrow())
    as_json = json.dumps(rows, default=lambda v: v.isoformat()).encode()
    start = min(r["start_timestamp"] for r in rows)
    end = max(r["start_timestamp"] for r in rows) + timedelta(seconds=1)
    timeline = wire.histogram_from_frame(frame, start, end)
    meta = {"min": start.isoformat(), "max": end.isoformat(), "timeline": timeline}
    (directory / f"rows-{n}.arrow").write_bytes(arrow)
    (directory / f"rows-{n}.json").write_bytes(as_json)
    (directory / f"meta-{n}.json").write_text(json.dumps(meta))
    return {"arrow": len(arrow), "json": len(as_json)}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(directory: Path) -> tuple[socketserver.TCPServer, str]:
    handler = lambda *a, **k: _Quiet(*a, directory=str(directory), **k)  # noqa: E731
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@contextlib.contextmanager
def served_bundle(page: str) -> Iterator[tuple[Path, str]]:
    """A temporary folder holding the built widget bundle and `page` as index.html, served on loopback:
    yields the folder (for the page's fixtures) and its URL."""
    static = ROOT / "logfire_notebook" / "static"
    if not (static / "widget.js").exists():
        sys.exit("Build the bundle first: npm run build")
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        shutil.copy(static / "widget.js", directory)
        shutil.copy(static / "widget.css", directory)
        (directory / "index.html").write_text(page)
        server, url = serve(directory)
        try:
            yield directory, url
        finally:
            server.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--screenshot", type=Path, help="save a screenshot of the last size shown")
    parser.add_argument("--dark", action="store_true", help="emulate a dark colour scheme")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    with served_bundle(PAGE) as (directory, url):
        sizes = {n: write_fixtures(directory, n) for n in args.rows}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(
                viewport={"width": 1240, "height": 760}, color_scheme="dark" if args.dark else "light"
            )
            print(f"{'rows':>8} {'visible ms':>11} {'JSON.parse ms':>14} {'ratio':>6} {'DOM rows':>9} "
                  f"{'scrolled':>9} {'Arrow KB':>9} {'JSON KB':>8} {'bytes ratio':>12} {'sort ms':>8}")  # fmt: skip
            # The first page load warms up chromium (JIT, fonts, module cache); shown apart, not in ratios.
            page.goto(f"{url}/index.html?rows={args.rows[0]}")
            page.wait_for_function("window.result !== undefined", timeout=60_000)
            cold = page.evaluate("window.result")
            print(
                f"{'(cold)':>8} {cold['visibleMs']:>11.0f}   first page load of {args.rows[0]} rows, not counted"
            )
            for n in args.rows:
                page.goto(f"{url}/index.html?rows={n}")
                page.wait_for_function("window.result !== undefined", timeout=60_000)
                r = page.evaluate("window.result")
                b = sizes[n]
                print(
                    f"{n:>8} {r['visibleMs']:>11.0f} {r['jsonMs']:>14.0f} "
                    f"{r['visibleMs'] / max(r['jsonMs'], 0.1):>6.2f} {r['domRows']:>9} "
                    f"{r['domRowsScrolled']:>9} {b['arrow'] / 1024:>9.0f} {b['json'] / 1024:>8.0f} "
                    f"{b['arrow'] / b['json']:>12.2f} {r['sortMs']:>8.0f}"
                )
            if args.screenshot:
                page.evaluate("document.querySelector('.lf-scroll').scrollTop = 0")
                page.wait_for_timeout(100)
                page.screenshot(path=str(args.screenshot), full_page=True)
            browser.close()
    print("ratio = time to rows visible / JSON.parse of the same rows (baseline, same page); "
          "bytes ratio = Arrow / JSON. Targets: 100k visible <= 1000 ms, DOM rows <= 200, bytes ratio <= 0.5.")  # fmt: skip


if __name__ == "__main__":
    main()
