"""From a range picked in the widget to the new rows painted, next to the query's own time.

A real JupyterLab runs a notebook whose kernel shows `LogfireTable(SQL, since="6h", limit=N)` over a local
backend filled with 12,000 records of the last 3 hours; headless Debian chromium clicks the picker's quick
ranges ("Last 3 hours", "Last 6 hours", alternately, so every pick changes the range) and measures, in the
page, from the click to the frame after the new result's rows are on screen (`performance.now()`). For
N = 1,000 and 10,000 (both ranges hold more than N rows, so every pick returns N rows).

Baseline, measured in the same run: the query itself, the same SQL, range and limit through `LogfireClient`
in this process (Arrow over loopback HTTP, into polars), median of as many runs. The widget's cost is the
difference: the kernel's range handling, the messages both ways, and the browser's decode and paint (the
timeline's count is not on the path: it follows the rows in a message of its own). Target: the widget adds
at most 100 ms to the query.

Where the time goes, per pick (medians), from timestamps on one clock: the page's performance marks (the
widget sets them, see js/src/widget.ts) and the kernel's, taken by wrappers this bench's notebook installs
around the kernel's comm handler and the widget's query and publish steps (so the package carries no
timing code):

- to kernel: the click to the kernel handling the range (the page's send, the Jupyter server, the kernel's
  message loop);
- kernel: the kernel's own work around the query (the range, the result's Arrow IPC, the message);
- query in kernel: the widget's query as the kernel runs it (HTTP, Arrow, polars), next to the same query
  run alone from this process;
- to page: the result's message through the Jupyter server to the widget;
- decode + draw: decoding the Arrow rows and writing the table, footer and timeline;
- paint: the browser's style, layout and paint of the frame that shows them.

What profiling found (Chrome traces of the page, py-spy on the kernel; 2 cores shared at load 10-16): each
pick forced the page's layout three or four times (the table and timeline read their sizes right after
writing, and redrew for a UTC setting that had not changed), 10-70 ms each, and the loading bar animated
`left`, laying out and painting the page every frame while the query ran. Now the click reaches the kernel's
send in 1-2 ms, a result is decoded and drawn in 5-10 ms, nothing is laid out while loading (the bar and
dimming wait 0.2 s), and the first frame draws only the rows on screen. The kernel's own work is 15-30 ms
(its query thread otherwise waits on the backend); the query is slower inside a pick than alone because
the browser, the Jupyter server and the kernel compete with the backend for the CPU, and under heavy load
that and the frame's paint are most of what remains.

    .venv/bin/python bench/widget_interaction.py [--rows 1000 10000] [--picks 8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
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
sys.path.insert(0, str(ROOT / "bench"))

from _backend import start_backend  # noqa: E402
from _browser import CHROMIUM, CHROMIUM_ARGS, LAB_SETTINGS, Lab  # noqa: E402
from _loopback import free_port, stop, wait_until_answering  # noqa: E402
from client_fetch import records  # noqa: E402  (realistic rows with every column filled)

from logfire_notebook import LogfireClient  # noqa: E402

SQL = (
    "SELECT start_timestamp, level, service_name, span_name, message, duration, attributes, tags, trace_id "
    "FROM records ORDER BY start_timestamp DESC"
)
RECORDS = 12_000  # over the last 3 hours: both ranges hold more than the largest N
RANGES = ("Last 3 hours", "Last 6 hours")
TIMEOUT = 120_000

# In the page: click a quick range, then wait for the frame after the new result is painted (a new window in
# the root's data-from, not loading, rows drawn). Returns the click, the widget's marks and the paint, as
# epoch milliseconds (the kernel's clock).
PICK = r"""async ([name, rows]) => {
  const root = document.querySelector('.lf-root');
  const before = root.dataset.from;
  document.querySelector('.lf-range').click();
  const button = [...document.querySelectorAll('.lf-quick-item')].find((b) => b.textContent === name);
  const t0 = performance.now();
  button.click();
  // Checked as soon as the widget changes the page (a mutation observer runs at the end of the task that
  // changed it), then the frame that paints it: its animation frame, and a task after that frame.
  await new Promise((resolve, reject) => {
    const done = () => root.dataset.from !== before && root.dataset.state === 'ready'
      && !root.classList.contains('lf-loading') && root.dataset.rows === String(rows)
      && root.querySelector('.lf-tr .lf-cell');
    const timer = setTimeout(() => reject(new Error(`no result for ${name} in 60 s`)), 60000);
    const observer = new MutationObserver(() => {
      if (!done()) return;
      observer.disconnect();
      clearTimeout(timer);
      resolve();
    });
    observer.observe(root, {attributes: true, childList: true, characterData: true, subtree: true});
  });
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));  // painted
  const epoch = (t) => performance.timeOrigin + t;
  const mark = (n) => epoch(performance.getEntriesByName(n).at(-1).startTime);
  return {click: epoch(t0), result: mark('lf-result'), shown: mark('lf-shown'), painted: epoch(performance.now())};
}"""

# In the kernel, before the widget is made: wrappers that append `[step, epoch ms]` lines to PROBE.
KERNEL_PROBE = """
import json as _json, time as _time
from logfire_notebook.widget import QueryTable as _Table
_probe = open(PROBE, "a", buffering=1)
def _mark(step):
    _probe.write(_json.dumps([step, _time.time() * 1000]) + "\\n")
def _timed(function, before, after):
    def wrapper(*args, **kwargs):
        _mark(before)
        try:
            return function(*args, **kwargs)
        finally:
            _mark(after)
    return wrapper
def _timed_async(function, before, after):
    async def wrapper(*args, **kwargs):
        _mark(before)
        try:
            return await function(*args, **kwargs)
        finally:
            _mark(after)
    return wrapper
_kernel = get_ipython().kernel
_kernel.shell_handlers["comm_msg"] = _timed(_kernel.shell_handlers["comm_msg"], "kernel_in", "kernel_handled")
_Table._query = _timed_async(_Table._query, "query_start", "query_end")
_Table._publish = _timed(_Table._publish, "publish_start", "published")
"""

# The breakdown's columns: (heading, from, to), each a step of the page's or the kernel's.
STEPS = (
    ("to kernel", "click", "kernel_in"),
    ("kernel", None, None),  # kernel_in → query_start, plus query_end → published
    ("query in kernel", "query_start", "query_end"),
    ("to page", "published", "result"),
    ("decode + draw", "result", "shown"),
    ("paint", "shown", "painted"),
)


def start_lab(backend: Any, root: Path) -> tuple[subprocess.Popen[Any], Lab]:
    settings = root / "settings"
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    (root / "notebooks").mkdir()
    port, token = free_port(), secrets.token_hex(16)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "LOGFIRE_READ_TOKEN": backend.token,
        "LOGFIRE_BASE_URL": backend.base_url,
        "PATH": os.pathsep.join((venv_bin, os.environ.get("PATH", ""))),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
    }
    log = (root / "jupyterlab.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(venv_bin) / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root / 'notebooks'}",
            "--LabApp.news_url=",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until_answering(
        process, f"{url}/api/status", what="JupyterLab", log=log.name, seconds=120, token=token
    )
    return process, Lab(url=url, token=token, root=root / "notebooks")


def open_widget(page: Any, lab: Lab, rows: int, probe: Path) -> None:
    cell = (
        f"PROBE = {str(probe)!r}\n{KERNEL_PROBE}\nfrom logfire_notebook import LogfireTable\n"
        f"LogfireTable({SQL!r}, since='6h', limit={rows})"
    )
    page.goto(lab.write_notebook(f"bench-{rows}.ipynb", cell))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=TIMEOUT)
    page.get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=TIMEOUT)
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile("^Run All Cells")).click()
    page.wait_for_function(
        f"() => {{ const r = document.querySelector('.lf-root'); return r && r.dataset.state === 'ready'"
        f" && !r.classList.contains('lf-loading') && r.dataset.rows === '{rows}'; }}",
        timeout=TIMEOUT,
    )


def query_ms(client: LogfireClient, name: str, rows: int) -> float:
    """The same query the widget runs for `name`, in this process: Arrow over HTTP into polars."""
    hours = int(name.split()[1])
    start = datetime.now(timezone.utc) - timedelta(hours=hours)
    t0 = time.perf_counter()
    frame = client.query_polars(SQL, min_timestamp=start, limit=rows)
    elapsed = (time.perf_counter() - t0) * 1000
    assert frame.height == rows, frame.height
    return elapsed


def pick_steps(page: Any, probe: Path, name: str, rows: int) -> dict[str, float]:
    """One pick in the page, and the epoch ms of each of its steps, in the page and in the kernel."""
    steps: dict[str, float] = page.evaluate(PICK, [name, rows])
    for line in probe.read_text().splitlines():
        step, at = json.loads(line)
        if at >= steps["click"] and step not in steps:  # this pick's first of each
            steps[step] = at
    return steps


def breakdown(steps: dict[str, float]) -> dict[str, float]:
    """Milliseconds of each of STEPS in one pick."""
    out = {}
    for heading, start, end in STEPS:
        if start is None:
            out[heading] = (steps["query_start"] - steps["kernel_in"]) + (
                steps["published"] - steps["query_end"]
            )
        else:
            out[heading] = steps[end] - steps[start]
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--picks", type=int, default=8, help="range picks per size (and as many queries)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    from logfire_notebook.server.store import Store

    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "data"
        with Store(data_dir) as store:
            store.append_records(records(RECORDS))
        backend = start_backend(data_dir)
        process, lab = start_lab(backend, Path(tmp))
        try:
            with sync_playwright() as p, LogfireClient(backend.token, backend.base_url) as client:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                heads = ("pick→painted", "query alone", "widget adds", *(h for h, _, _ in STEPS))
                print(
                    f"load average {os.getloadavg()[0]:.1f}; medians of {args.picks} picks, ms; target: the"
                )
                print("widget adds <= 100 ms to the query alone")
                print(f"{'rows':>7}" + "".join(f"  {h:>15}" for h in heads))
                for rows in args.rows:
                    probe = Path(tmp) / f"kernel-{rows}.jsonl"
                    open_widget(page, lab, rows, probe)
                    picks: list[dict[str, float]] = []
                    queries = []
                    for i in range(args.picks + 1):
                        name = RANGES[i % 2]
                        steps = pick_steps(page, probe, name, rows)
                        queried = query_ms(client, name, rows)
                        if i:  # the first pick warms up the kernel's and the browser's code paths
                            picks.append(
                                {"pick→painted": steps["painted"] - steps["click"], **breakdown(steps)}
                            )
                            queries.append(queried)
                    medians = {h: statistics.median(p[h] for p in picks) for h in picks[0]}
                    medians["query alone"] = statistics.median(queries)
                    medians["widget adds"] = medians["pick→painted"] - medians["query alone"]
                    verdict = "ok" if medians["widget adds"] <= 100 else "over"
                    print(f"{rows:>7,}" + "".join(f"  {medians[h]:>15.0f}" for h in heads) + f"  {verdict}")
                print(f"load average {os.getloadavg()[0]:.1f}")
                browser.close()
        finally:
            stop(process)
            backend.stop()


if __name__ == "__main__":
    main()
