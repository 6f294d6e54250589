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
# the root's data-from, not loading, rows drawn). Returns milliseconds.
PICK = r"""async ([name, rows]) => {
  const root = document.querySelector('.lf-root');
  const before = root.dataset.from;
  document.querySelector('.lf-range').click();
  const button = [...document.querySelectorAll('.lf-quick-item')].find((b) => b.textContent === name);
  const t0 = performance.now();
  button.click();
  let statusAt = 0;  // the new result's status reached the page (its window is on the root)
  await new Promise((resolve, reject) => {
    const check = () => {
      if (performance.now() - t0 > 60000) return reject(new Error(`no result for ${name} in 60 s`));
      if (!statusAt && root.dataset.from !== before) statusAt = performance.now() - t0;
      const done = root.dataset.from !== before && root.dataset.state === 'ready'
        && !root.classList.contains('lf-loading') && root.dataset.rows === String(rows)
        && root.querySelector('.lf-tr .lf-cell');
      if (done) resolve(); else requestAnimationFrame(check);
    };
    check();
  });
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));  // painted
  const total = performance.now() - t0;
  const at = (n) => { const e = performance.getEntriesByName(n).at(-1); return e ? performance.timeOrigin + e.startTime : null; };
  window.__lf = {click: performance.timeOrigin + t0, painted: performance.timeOrigin + t0 + total,
    sent: at('lf-range-sent'), result: at('lf-result'), decoded: at('lf-decoded'), shown: at('lf-shown')};
  // The kernel's own time for the rows query, as the footer says it: "1,000 rows · 0.21 s" (the timeline's
  // count follows the rows in a message of its own, off this path).
  const kernel = 1000 * Number(/ · ([\d.]+) s/.exec(root.querySelector('.lf-status-text').textContent)[1]);
  return [total, kernel, statusAt];
}"""


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
    code = Path("/tmp/h14_probe.py").read_text().replace("PATH", repr(str(probe)))
    cell = code + f"\nfrom logfire_notebook import LogfireTable\nLogfireTable({SQL!r}, since='6h', limit={rows})"
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
                print(
                    f"{'rows':>7}  {'pick→painted':>13}  {'query alone':>12}  {'widget adds':>12}  target <= 100 ms"
                )
                for rows in args.rows:
                    probe = Path(tmp) / f"probe-{rows}.jsonl"
                    open_widget(page, lab, rows, probe)
                    picks, kernels, statuses, queries = [], [], [], []
                    for i in range(args.picks + 1):
                        name = RANGES[i % 2]
                        picked, kernel, status = page.evaluate(PICK, [name, rows])
                        b = page.evaluate("window.__lf")
                        time.sleep(0.3)
                        k = [json.loads(x) for x in probe.read_text().splitlines()]
                        k = [(n, t) for n, t in k if t >= b["click"]]
                        t = b["click"]
                        print(" ".join(f"{n}:{v - t:.0f}" for n, v in sorted([*((n, v) for n, v in b.items() if v), *k], key=lambda x: x[1])))
                        queried = query_ms(client, name, rows)
                        if i:  # the first pick warms up the kernel's and the browser's code paths
                            picks.append(picked)
                            kernels.append(kernel)
                            statuses.append(status)
                            queries.append(queried)
                    pick, query = statistics.median(picks), statistics.median(queries)
                    kernel, status = statistics.median(kernels), statistics.median(statuses)
                    added = pick - query
                    verdict = "ok" if added <= 100 else "over"
                    print(
                        f"{rows:>7,}  {pick:>10.0f} ms  {query:>9.0f} ms  {added:>9.0f} ms  {verdict}"
                        f"  (the kernel's rows query: {kernel:.0f} ms; status in the page at"
                        f" {status:.0f} ms; rows fetched, decoded, painted in the {pick - status:.0f} ms after)"
                    )
                browser.close()
        finally:
            stop(process)
            backend.stop()


if __name__ == "__main__":
    main()
