"""The table at any size: LogfireTable against the other ways to look at a frame in JupyterLab.

A real JupyterLab and headless Debian chromium; the same 12-column, log-like Polars frame for every subject
(built in the kernel, vectorized): LogfireTable, ipydatagrid's DataGrid and StreamingDataGrid, itables
(`maxBytes=0`, so it shows the frame rather than a sample), Polars' own HTML repr (which shows 10 rows) and
"anywidget floor", the smallest anywidget that draws that same HTML: what any widget pays over the repr.
For each subject and size, in a fresh notebook whose first cell builds the frame and shows a tiny instance
of the subject (so its JavaScript is loaded), the second cell shows the frame. Measured:

- first rows: from Ctrl+Enter on that cell to the first data row drawn;
- websocket bytes received by the page in that time;
- browser heap growth (after a forced GC) from before the cell to 1 s after its rows show;
- scroll: rows after scrolling to the middle. LogfireTable: no placeholder left; ipydatagrid (both grids
  draw on a canvas and scroll on wheel events): one wheel to the middle, until the canvas stops changing.
  itables pages rather than scrolls, Polars' repr shows 10 rows: no figure;
- sort by `message`: LogfireTable and itables, a header click until the sorted first rows are drawn.
  ipydatagrid sorts from a menu drawn on its canvas, and `grid.transform([sort])` from a cell sorted the rows
  without a canvas change this script could see: no figure.

Every figure is the median of --repeat runs (default 3), and the runs take turns across subjects.

Baseline: Polars' HTML repr of the same frame in the same run. Targets: first rows <= 2x the HTML repr at
every size; heap growth <= 50 MB at 1,000,000 rows; scroll and sort <= 150 ms at 100,000 rows and <= 500 ms
at 1,000,000. Heavy peers are skipped where they take minutes (ipydatagrid past 100,000 rows, itables past
10,000; --all runs them anyway).

The peers come from the `bench` extra (`pip install -e '.[bench]'`); the script installs it when missing.

Last runs, quiet machine (load 0.5-2.2, medians of 3): LogfireTable's first rows at 10 / 10k / 100k / 1M rows
128 / 133 / 116 / 140 ms against the HTML repr's 63 / 85 / 65 / 62 ms (2.05 / 1.56 / 1.79 / 2.27x); in a second
run with the floor, LogfireTable 96 / 137 / 156 ms at 10 / 10k / 1M against the anywidget floor's 106 / 109 /
111 ms and the repr's 60 / 69 / 70 ms (floor 1.59-1.76x). So a 10-row (whole) result is at the floor, and
a windowed one pays ~25-45 ms more: with the timeline's count held back 0.5 s (an experiment, not kept) it
was 112 / 123 ms at 10k / 1M, so most of that is the kernel counting the timeline while the browser paints,
on 2 cores. 12-57 KB over the websocket; heap +0.5 MB; scroll 67-97 ms and sort 47-101 ms at 10k-1M.

Since then the count waits for the page to say the rows are painted (logfire_notebook/_paint_gate.py). Two
runs on a loaded machine (load 5-10, other helpers' tests; medians of 3, noise dominates), LogfireTable
against the same widget counting at once (`--paint-wait 0`, the old behaviour, as an extra subject in the
same run) at 10 / 10k / 100k / 1M rows: 216 / 349 / 222 / 204 vs 294 / 291 / 205 / 315 ms, and 286 / 302 /
193 / 284 vs 311 / 489 / 519 / 293 ms (faster in 6 of the 8 pairs); 0.69-2.17x the repr, the anywidget
floor 0.87-2.26x in the same runs. HEAD_ROWS 100 instead of 200 (`--head-rows 100`, same first run): 199 /
322 / 217 / 242 ms, no gain to see, so 200 stays. To be re-measured on a quiet machine.

Then one run of every subject on a machine otherwise idle (the bench itself keeps the load at 2.4-3.3;
medians of 3), 10 / 10k / 100k / 1M rows: LogfireTable 161 / 184 / 169 / 203 ms, the repr 77 / 120 / 126 /
117 ms (2.08 / 1.53 / 1.35 / 1.73x), the anywidget floor 136 / 150 / 150 / 169 ms (1.76 / 1.25 / 1.19 /
1.44x); ipydatagrid 730 / 2,374 / 7,469 ms (to 100k), StreamingDataGrid 818 / 1,594 / 1,746 / 1,751 ms,
itables 202 / 1,769 ms (to 10k). LogfireTable 13-57 KB over the websocket, heap +0.4-0.5 MB; scroll 134 /
138 / 114 ms and sort 88 / 93 / 119 ms at 10k / 100k / 1M. The 10-row (whole) result is the one nearest the
2x line: 25 ms over the floor, which is itself 1.76x a 77 ms repr.

Then a widget's first render does less before its first rows: the picker's popover is built when it first
opens, and a result that fits on screen is not drawn a second time after its first paint. In JupyterLab,
80 renders each of the 10-row frame's widget state, both bundles in one page (load 10-24, medians): 19.0 ms of script
before, 9.9 after (the floor's innerHTML 1.0). One run of this script at 10 rows after, load 8-13 (noise
dominates; medians of 3): LogfireTable 368 ms, the repr 193, the floor 213 (1.91x / 1.11x). To be
re-measured quietly. Where the rest goes (Chromium traces): every anywidget model imports its `_esm` from
a blob URL, a fetch through the browser process (20-120 ms here, the floor's too); LogfireTable's result
then came in an update that JupyterLab's message queue holds until that import is done, so the output was
built only after it (branch h17f-open opens the widget with its result instead: not landed, see below).

Re-measured on an otherwise idle machine (load 1-3.7, the bench's own; medians of 3), LogfireTable and the
floor: 10 / 10k / 100k / 1M rows LogfireTable 170 / 194 / 201 / 165 ms, the repr 120 / 117 / 122 / 95 ms
(1.42 / 1.66 / 1.65 / 1.73x), the floor 143 / 156 / 162 / 140 ms (1.19 / 1.33 / 1.33 / 1.47x); heap +0.4-0.5
MB; scroll 132 / 130 / 116 ms and sort 85 / 88 / 119 ms at 10k / 100k / 1M. At 10 rows, medians of 5, the
same widget opening with its result (h17f-open) against opening empty then updating: 1.57x both (191 / 184
ms, the floor 1.35 / 1.39x), so it stays unlanded.

    .venv/bin/python bench/table_scale.py [--rows 10 10000 100000 1000000] [--repeat 3] [--subjects ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests" / "widget"))

from _browser import CHROMIUM, CHROMIUM_ARGS, LAB_SETTINGS, Lab  # noqa: E402
from _loopback import free_port, stop, wait_until_answering  # noqa: E402

# The frame, built in the kernel without a Python loop over rows (a million rows in a few seconds).
FRAME = r"""
import numpy as np, polars as pl
def log_frame(n, seed=7):
    rng = np.random.default_rng(seed)
    spans = np.array(["GET /users/{id}", "POST /orders", "db.query", "cache.get", "chat gpt-4o", "send_email", "render"])
    span = pl.Series(spans[rng.integers(0, len(spans), n)])
    end = np.datetime64("2026-01-31T12:00:00", "us")
    start = end - rng.uniform(0, 6 * 3600e6, n).astype("timedelta64[us]")
    duration = rng.exponential(0.08, n)
    user = pl.Series(rng.integers(0, 5000, n))
    frame = pl.DataFrame({
        "start_timestamp": pl.Series(start).dt.replace_time_zone("UTC"),
        "end_timestamp": pl.Series(start + (duration * 1e6).astype("timedelta64[us]")).dt.replace_time_zone("UTC"),
        "level": pl.Series(rng.choice([1, 5, 9, 9, 9, 9, 10, 13, 17, 21], n).astype(np.int32)),
        "service_name": pl.Series(np.array(["api", "worker", "billing", "frontend", "scheduler"])[rng.integers(0, 5, n)]),
        "span_name": span,
        "message": span + " handled request " + pl.Series(rng.integers(0, 10**6, n)).cast(pl.String)
            + " for user " + user.cast(pl.String),
        "duration": duration,
        "trace_id": pl.Series(rng.integers(0, 2**63, n, dtype=np.int64)).hash(1).cast(pl.String).str.zfill(32),
        "span_id": pl.Series(rng.integers(0, 2**63, n, dtype=np.int64)).hash(2).cast(pl.String).str.zfill(16),
        "http_response_status_code": pl.Series(rng.choice([200, 200, 200, 201, 404, 500], n).astype(np.int32)),
        "is_exception": pl.Series(rng.random(n) < 0.03),
        "attributes": '{"http.route": "' + span + '", "user_id": ' + user.cast(pl.String) + ', "items": '
            + pl.Series(rng.integers(0, 20, n)).cast(pl.String) + ', "ok": true}',
    })
    return frame
"""


@dataclass(frozen=True)
class Subject:
    name: str
    setup: str  # imports, and a tiny instance shown so its JavaScript is loaded before the timed cell
    show: str  # the timed cell: shows `df`
    row: str  # CSS selector of a drawn data row inside the cell's output
    max_rows: int  # skipped above this (without --all): they take minutes there
    scroll: str | None = None  # a page function: scrolls the shown frame to its middle, resolves with ms
    sort: str | None = None  # a page function: sorts by `message`, resolves with ms


# Polls (once per frame) for `selector` inside the timed cell's output; records when it is drawn. (The clock
# starts just before Ctrl+Enter is sent: JupyterLab's own key handling hides the key from the page.)
WATCH = """([selector, cell]) => {
  window.__t0 = undefined; window.__t1 = undefined;
  const poll = () => {
    const out = document.querySelectorAll('.jp-Notebook .jp-Cell')[cell]?.querySelector('.jp-OutputArea');
    const hit = out && out.querySelector(selector);
    const drawn = hit && (hit.tagName !== 'CANVAS' || (hit.width > 0 && hit.height > 0));
    if (drawn && window.__t0 !== undefined) {
      requestAnimationFrame(() => { window.__t1 = performance.now(); });
    } else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
}"""

# The timed cell's widget (the first cell holds a small one that loaded the JavaScript).
TIMED = "document.querySelectorAll('.jp-Notebook .jp-Cell')[1]"

SCROLL = f"""() => new Promise((resolve) => {{
  const cell = {TIMED};
  const s = cell.querySelector('.lf-scroll');
  const rows = Number(cell.querySelector('.lf-root').dataset.rows);
  const t0 = performance.now();
  s.scrollTop = s.scrollHeight / 2;
  const poll = () => {{
    const first = cell.querySelector('.lf-body .lf-tr');
    const there = first && Number(first.dataset.row) > rows / 2 - 200;
    if (there && !cell.querySelector('.lf-body .lf-tr.lf-pending')) resolve(performance.now() - t0);
    else requestAnimationFrame(poll);
  }};
  requestAnimationFrame(poll);
}})"""

SORT = f"""() => new Promise((resolve) => {{
  const cell = {TIMED};
  const t0 = performance.now();
  cell.querySelector('.lf-th[data-col="message"]').click();
  // A click re-renders at once: a kernel-sorted result shows placeholders until its first window lands.
  const poll = () => {{
    const header = cell.querySelector('.lf-th[data-col="message"]');
    const first = cell.querySelector('.lf-body .lf-tr');
    const done = header.getAttribute('aria-sort') === 'ascending' && first && first.dataset.row === '0'
      && !cell.querySelector('.lf-body .lf-tr.lf-pending');
    if (done) resolve(performance.now() - t0);
    else requestAnimationFrame(poll);
  }};
  requestAnimationFrame(poll);
}})"""

# The first cell has run when its prompt shows an execution count ("[1]:" rather than "[*]:").
RAN = "() => /\\[\\d+\\]/.test(document.querySelector('.jp-Notebook .jp-Cell .jp-InputPrompt').textContent)"


# A canvas grid (ipydatagrid) has no DOM rows to wait for: its rows are painted when its canvas stops
# changing. Resolves with the time of the last change, once nothing changed for SETTLED_MS (or null if
# nothing changed within 20 s). `act` runs after the first signature is taken.
CANVAS_SETTLE = """(act) => new Promise((resolve) => {
  const SETTLED_MS = 600;
  const canvases = [...document.querySelectorAll('.jp-Notebook .jp-Cell')[1].querySelectorAll('.jp-OutputArea-output canvas')];
  const canvas = canvases[0];
  const sig = () => {
    let h = 0;
    for (const c of canvases) {  // the grid's rows and its overlay
      const d = c.getContext('2d').getImageData(0, 0, c.width, Math.min(c.height, 400)).data;
      for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0;
    }
    return h;
  };
  let last = sig();
  const t0 = performance.now();
  let changed = null;
  act(canvas);
  const poll = () => {
    const now = performance.now();
    const s = sig();
    if (s !== last) { last = s; changed = now; }
    if (changed !== null && now - changed > SETTLED_MS) resolve(changed - t0);
    else if (now - t0 > 20000) resolve(null);
    else requestAnimationFrame(poll);
  };
  requestAnimationFrame(poll);
})"""

# ipydatagrid scrolls on wheel events (its scroll bars are drawn, not native): one wheel to the middle.
GRID_SCROLL = f"""() => ({CANVAS_SETTLE})((canvas) => {{
  const rows = Number(window.__rows);
  canvas.dispatchEvent(new WheelEvent('wheel', {{deltaY: rows * 10, bubbles: true, cancelable: true}}));
}})"""

# itables sorts in the page on a header click (DataTables redraws its one page of rows at once).
ITABLES_SORT = f"""() => new Promise((resolve) => {{
  const cell = {TIMED};
  // With a scrolled table DataTables draws the header in a table of its own (the body's copy is hidden).
  const head = cell.querySelector('.dt-scroll-head thead, .dataTables_scrollHead thead') ?? cell.querySelector('thead');
  const index = [...head.rows[0].children].findIndex((t) => t.textContent.trim() === 'message');
  const th = head.rows[0].children[index];
  const first = () => cell.querySelector('table.dataTable tbody tr td:nth-child(' + (index + 1) + ')')?.textContent;
  const before = first();
  const t0 = performance.now();
  (th.querySelector('.dt-column-order') ?? th).click();  // itables sets data-dt-order="icon-only"
  const poll = () => {{
    if (first() !== before) requestAnimationFrame(() => resolve(performance.now() - t0));
    else if (performance.now() - t0 > 60000) resolve(null);
    else requestAnimationFrame(poll);
  }};
  requestAnimationFrame(poll);
}})"""

SUBJECTS = [
    Subject(
        "LogfireTable",
        "from logfire_notebook import LogfireTable\nLogfireTable(data=log_frame(10))",
        "LogfireTable(data=df)",
        ".lf-body .lf-tr:not(.lf-pending) .lf-cell",
        10**9,
        scroll=SCROLL,
        sort=SORT,
    ),
    Subject("Polars HTML repr", "log_frame(10)", "df", "table.dataframe tbody td", 10**9),
    # The floor for any anywidget table: the smallest widget that draws Polars' own 10-row HTML. What it
    # costs over the HTML repr is JupyterLab's and ipywidgets' per-widget machinery, which no widget avoids.
    Subject(
        "anywidget floor",
        "import anywidget, traitlets\n"
        "class HtmlWidget(anywidget.AnyWidget):\n"
        "    _esm = 'export default { render({ model, el }) { el.innerHTML = model.get(\"html\"); } };'\n"
        "    html = traitlets.Unicode().tag(sync=True)\n"
        "HtmlWidget(html=log_frame(10)._repr_html_())",
        "HtmlWidget(html=df._repr_html_())",
        "table.dataframe tbody td",
        10**9,
    ),
    Subject(
        "ipydatagrid",
        "from ipydatagrid import DataGrid\nDataGrid(log_frame(10).to_pandas())",
        "DataGrid(df.to_pandas())",
        ".jp-OutputArea-output canvas",
        100_000,
        scroll=GRID_SCROLL,
    ),
    Subject(
        "StreamingDataGrid",
        "from ipydatagrid import StreamingDataGrid\nStreamingDataGrid(log_frame(10).to_pandas())",
        "StreamingDataGrid(df.to_pandas())",
        ".jp-OutputArea-output canvas",
        10**9,
        scroll=GRID_SCROLL,
    ),
    Subject(
        "itables",
        "from itables import show, init_notebook_mode\ninit_notebook_mode(connected=False)\n"
        "show(log_frame(10), maxBytes=0)",
        "show(df, maxBytes=0)",
        "table.dataTable tbody tr td",
        10_000,
        sort=ITABLES_SORT,
    ),
]


@dataclass
class Figures:
    first_ms: list[float] = field(default_factory=list)
    bytes: list[int] = field(default_factory=list)
    heap_mb: list[float] = field(default_factory=list)
    scroll_ms: list[float] = field(default_factory=list)
    sort_ms: list[float] = field(default_factory=list)


def ensure_peers() -> None:
    if all(importlib.util.find_spec(name) for name in ("ipydatagrid", "itables")):
        return
    print("installing the bench peers (the `bench` extra) ...", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "-e", f"{ROOT}[bench]"], check=True)


def start_lab(root: Path, settings: Path) -> tuple[subprocess.Popen[Any], Lab]:
    for name, value in {
        **LAB_SETTINGS,
        # Every cell stays in the DOM (the timed cell is found by its index).
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    }.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    env = {
        **os.environ,
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces"),
        "PATH": os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", ""))),
    }
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(
        process, f"{url}/api/status", what="JupyterLab", log="(none)", seconds=90, token=token
    )
    return process, Lab(url=url, token=token, root=root)


def heap_mb(cdp: Any) -> float:
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"]) / 1e6


def run_cell(page: Any, index: int, *, timed: bool = False) -> None:
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputPrompt").click()
    if timed:
        page.evaluate("window.__t0 = performance.now()")
    page.keyboard.press("Control+Enter")


def measure(
    browser: Any, lab: Lab, subject: Subject, rows: int, figures: Figures, run: int, tuning: str
) -> None:
    name = f"scale-{subject.name.replace(' ', '_')}-{rows}-{run}.ipynb"
    setup = tuning + FRAME + f"df = log_frame({rows})\n" + subject.setup
    url = lab.write_notebook(name, setup, subject.show)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    received: list[tuple[float, int]] = []
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda f: received.append((time.perf_counter(), len(f)))),
    )
    try:
        page.goto(url)
        page.get_by_text("| Idle").first.wait_for(timeout=120_000)
        run_cell(page, 0)
        page.wait_for_function(RAN, timeout=600_000, polling=100)
        page.wait_for_timeout(500)
        cdp = context.new_cdp_session(page)
        before = heap_mb(cdp)
        page.evaluate(WATCH, [subject.row, 1])
        started = time.perf_counter()
        run_cell(page, 1, timed=True)
        page.wait_for_function("window.__t1 !== undefined", timeout=300_000, polling=50)
        shown = time.perf_counter()
        figures.first_ms.append(page.evaluate("window.__t1 - window.__t0"))
        figures.bytes.append(sum(n for t, n in received if started <= t <= shown))
        page.wait_for_timeout(1000)
        figures.heap_mb.append(heap_mb(cdp) - before)
        page.evaluate(f"window.__rows = {rows}")
        if subject.scroll is not None:
            keep(figures.scroll_ms, page.evaluate(subject.scroll))
            if subject.name == "LogfireTable":
                page.evaluate(f"{TIMED}.querySelector('.lf-scroll').scrollTop = 0")
            page.wait_for_timeout(300)
        if subject.sort is not None:
            keep(figures.sort_ms, page.evaluate(subject.sort))
    finally:
        context.close()
        shutdown_kernels(lab)


def keep(values: list[float], value: float | None) -> None:
    """A figure, unless the page saw nothing change (then the run says so and the median skips it)."""
    if value is None:
        print("    (nothing changed on the page within the time allowed)", flush=True)
    else:
        values.append(value)


def shutdown_kernels(lab: Lab) -> None:
    import httpx

    params = {"token": lab.token}
    for session in httpx.get(f"{lab.url}/api/sessions", params=params, timeout=30).json():
        httpx.delete(f"{lab.url}/api/sessions/{session['id']}", params=params, timeout=30)


def median(values: list[float] | list[int]) -> float | None:
    return statistics.median(values) if values else None


def cell(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}{unit}" if value >= 10 or unit != " MB" else f"{value:.1f}{unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10, 10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--subjects", nargs="+", default=[s.name for s in SUBJECTS])
    parser.add_argument("--all", action="store_true", help="run the peers at every size")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--whole-max", type=int, help="results up to this many rows travel whole (default: the widget's own)"
    )
    parser.add_argument(
        "--head-rows", type=int, help="rows sent with a windowed result (default: the widget's)"
    )
    parser.add_argument(
        "--paint-wait",
        type=float,
        help="seconds the timeline's count waits for the page to say it painted (0: counts at once, as before)",
    )
    args = parser.parse_args()
    tuning = "".join(
        f"import logfire_notebook.{module} as m\nm.{name} = {value}\n"
        for module, name, value in (
            ("_widget_window", "WHOLE_MAX_ROWS", args.whole_max),
            ("_widget_window", "HEAD_ROWS", args.head_rows),
            ("_paint_gate", "PAINT_WAIT", args.paint_wait),
        )
        if value is not None
    )
    if not (ROOT / "logfire_notebook" / "static" / "widget.js").exists():
        sys.exit("Build the bundle first: npm run build")
    ensure_peers()
    from playwright.sync_api import sync_playwright

    subjects = [s for s in SUBJECTS if s.name in args.subjects or s.name == "Polars HTML repr"]
    results: dict[tuple[str, int], Figures] = {}
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        root, settings = Path(tmp) / "root", Path(tmp) / "settings"
        root.mkdir()
        process, lab = start_lab(root, settings)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                for rows in args.rows:
                    shown = [s for s in subjects if rows <= s.max_rows or args.all]
                    # Runs take turns (A B C, A B C, ...): a change in the machine's load between runs
                    # then falls on every subject alike, not on one subject's whole series.
                    for run in range(args.repeat):
                        for subject in shown:
                            figures = results.setdefault((subject.name, rows), Figures())
                            measure(browser, lab, subject, rows, figures, run, tuning)
                            more = [
                                f"{what} {values[-1]:,.0f} ms"
                                for what, values in (("scroll", figures.scroll_ms), ("sort", figures.sort_ms))
                                if len(values) > run
                            ]
                            print(
                                f"  {subject.name} at {rows:,} rows, run {run + 1}: first rows "
                                f"{figures.first_ms[-1]:,.0f} ms" + "".join(f", {m}" for m in more),
                                flush=True,
                            )
                browser.close()
        finally:
            stop(process)

    print()
    print(f"{'rows':>9}  {'subject':<18} {'first rows':>11} {'x HTML':>7} {'ws bytes':>12} {'heap':>9} "
          f"{'scroll':>8} {'sort':>8}")  # fmt: skip
    for rows in args.rows:
        baseline = median(results[("Polars HTML repr", rows)].first_ms)
        for subject in subjects:
            figures = results.get((subject.name, rows))
            if figures is None:
                print(f"{rows:>9,}  {subject.name:<18} {'(skipped: minutes at this size)':>40}")
                continue
            first = median(figures.first_ms)
            ratio = f"{first / baseline:.2f}" if first is not None and baseline else "-"
            print(
                f"{rows:>9,}  {subject.name:<18} {cell(first, ' ms'):>11} {ratio:>7} "
                f"{cell(median(figures.bytes), ' B'):>12} {cell(median(figures.heap_mb), ' MB'):>9} "
                f"{cell(median(figures.scroll_ms), ' ms'):>8} {cell(median(figures.sort_ms), ' ms'):>8}"
            )
    load_after = os.getloadavg()
    print(
        f"load average (1, 5, 15 min): {', '.join(f'{x:.1f}' for x in load_before)} before the runs, "
        f"{', '.join(f'{x:.1f}' for x in load_after)} after (2 cores: figures above ~2 are inflated)"
    )
    print(
        "x HTML = first rows / Polars' HTML repr in the same run (target <= 2); targets: LogfireTable heap "
        "<= 50 MB at 1,000,000 rows, scroll and sort <= 150 ms at 100,000 and <= 500 ms at 1,000,000."
    )
    if args.json:
        args.json.write_text(
            json.dumps({f"{name}|{rows}": vars(f) for (name, rows), f in results.items()}, indent=1)
        )


if __name__ == "__main__":
    main()
