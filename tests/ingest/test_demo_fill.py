"""`logfire-notebook demo --no-lab` fills a backend with 100,000+ realistic records through the SDK."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
import pytest
from _backend import Backend, start_backend
from _ingest_helpers import ROOT, clean_env, count, rows
from _loopback import free_port
from _processes import command_line, descendants, left_running, running

from logfire_notebook.server.demo import _port_is_free

pytestmark = pytest.mark.slow


def run_demo(data_dir: Path, cwd: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "logfire_notebook.cli",
            "demo",
            "--no-lab",
            "--data-dir",
            str(data_dir),
            "--port",
            str(free_port()),
            *extra,
        ],
        env=clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def start_demo(cwd: Path, *args: str) -> subprocess.Popen[str]:
    """`logfire-notebook demo *args` in a session of its own (so a test can signal it as a terminal would),
    its output read with `read_until`."""
    return subprocess.Popen(
        [sys.executable, "-m", "logfire_notebook.cli", "demo", *args],
        env=clean_env(),
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def stop_demo(process: subprocess.Popen[str]) -> None:
    """Kills what is left of a demo a test started (its whole session) and closes its output."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def read_until(process: subprocess.Popen[str], marker: str, seconds: float = 240) -> list[str]:
    """The demo's output lines up to the first that holds `marker`. A demo that says nothing for `seconds`
    is stopped (its whole session), so the test fails with what it printed instead of hanging."""
    assert process.stdout is not None
    watchdog = threading.Timer(seconds, os.killpg, args=(process.pid, signal.SIGKILL))
    watchdog.start()
    lines: list[str] = []
    try:
        while not any(marker in line for line in lines):
            line = process.stdout.readline()
            assert line, f"the demo ended or printed no {marker!r} within {seconds:g} s:\n" + "".join(lines)
            lines.append(line)
    finally:
        watchdog.cancel()
    return lines


def _count_offline(data_dir: Path) -> int:
    """Records in a data dir whose server is stopped, through a short-lived server."""
    server = start_backend(data_dir)
    try:
        return count(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Backend, subprocess.CompletedProcess[str], Path]]:
    base = tmp_path_factory.mktemp("demo")
    data_dir = base / "data"
    done = run_demo(data_dir, base)
    assert done.returncode == 0, done.stdout + done.stderr
    backend = start_backend(data_dir)
    yield backend, done, data_dir
    backend.stop()


def test_demo_fills_at_least_100000_records_over_7_days(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, done, _ = demo
    assert count(backend) >= 100_000
    assert "stored" in done.stdout
    span = rows(backend, "SELECT min(start_timestamp) AS lo, max(start_timestamp) AS hi FROM records")[0]
    lo, hi = (datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("lo", "hi"))
    now = datetime.now(timezone.utc)
    assert now - timedelta(days=7, minutes=30) <= lo < now - timedelta(days=6)
    assert now - timedelta(days=1) < hi <= now
    per_day = rows(
        backend, "SELECT date_trunc('day', start_timestamp) AS d, count(*) AS n FROM records GROUP BY d"
    )
    assert len(per_day) >= 7


def test_every_quick_range_has_data_and_the_newest_rows_are_not_piled_on_one_instant(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    now = datetime.now(timezone.utc)
    for minutes in (15, 60, 6 * 60, 24 * 60, 7 * 24 * 60):
        since = (now - timedelta(minutes=minutes)).isoformat()
        assert count(backend, where=f"start_timestamp >= '{since}'") > 0, (
            f"nothing in the last {minutes} minutes"
        )
    # The quickstart's first cell: the newest rows. Different traces never share one millisecond there (one
    # trace may: a client span and the server span it calls in another service start microseconds apart).
    newest = rows(
        backend,
        "SELECT trace_id, start_timestamp FROM records ORDER BY start_timestamp DESC LIMIT 13",
    )
    traces_at: dict[str, set[str]] = {}
    for row in newest:
        traces_at.setdefault(row["start_timestamp"][:23], set()).add(row["trace_id"])
    assert all(len(traces) == 1 for traces in traces_at.values()), traces_at
    assert len(traces_at) >= 3


def test_demo_has_services_environments_levels_and_exceptions(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    services = {
        (r["service_name"], r["deployment_environment"])
        for r in rows(backend, "SELECT DISTINCT service_name, deployment_environment FROM records")
    }
    assert {("web-api", "production"), ("agent", "production"), ("worker", "production")} <= services
    assert {env for _, env in services} == {"production", "staging"}
    levels = {r["level"] for r in rows(backend, "SELECT DISTINCT level FROM records")}
    assert {1, 5, 9, 10, 13, 17, 21} <= levels
    exceptions = {
        r["exception_type"]
        for r in rows(backend, "SELECT DISTINCT exception_type FROM records WHERE is_exception")
    }
    assert {"ValueError", "TimeoutError", "shop.inventory.InventoryMismatch"} <= exceptions
    traced = rows(backend, "SELECT exception_stacktrace FROM records WHERE is_exception LIMIT 1")[0]
    assert "Traceback (most recent call last)" in traced["exception_stacktrace"]
    assert count(backend, where="log_body IS NOT NULL") > 0
    assert count(backend, where="array_has(tags, 'job')") > 0


def test_demo_has_http_server_and_client_spans(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    found = rows(
        backend,
        "SELECT otel_scope_name, http_route, http_response_status_code AS status, count(*) AS n FROM records "
        "WHERE http_method IS NOT NULL GROUP BY ALL",
    )
    server = {(r["http_route"], r["status"]) for r in found if r["otel_scope_name"].endswith("asgi")}
    assert {
        ("/users/{user_id:int}", 200),
        ("/users/{user_id:int}", 404),
        ("/search", 500),
        ("/orders", 201),
        ("/orders", 402),
    } <= server
    assert any(r["otel_scope_name"].endswith("httpx") for r in found)
    assert count(backend, where="span_name = 'GET /search' AND url_query IS NOT NULL") > 0


def test_demo_has_orders_fanning_out_to_the_inventory_service_with_an_exception_deep_inside(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    failed = rows(
        backend,
        "SELECT trace_id FROM records WHERE exception_type = 'shop.inventory.StockLockTimeout' "
        "AND span_name LIKE 'SELECT stock%' LIMIT 1",
    )
    assert failed, "no order failed deep inside the inventory service"
    trace_id = failed[0]["trace_id"]
    trace = rows(
        backend,
        "SELECT span_id, parent_span_id, span_name, kind, service_name, http_response_status_code AS status, "
        "attributes->>'http.request.header.traceparent' AS traceparent FROM records "
        f"WHERE trace_id = '{trace_id}'",
    )
    parent = {r["span_id"]: r["parent_span_id"] for r in trace}
    names = {r["span_name"]: r for r in trace}
    assert names["POST /orders"]["status"] == 503 and names["POST /reserve"]["status"] == 500
    # Two services in one trace: the inventory's spans carry its own resource, and its server span's parent
    # (web-api's HTTP client span) is the one named by the traceparent header it was called with.
    by_id = {r["span_id"]: r for r in trace}
    reserve = names["POST /reserve"]
    caller = by_id[reserve["parent_span_id"]]
    assert reserve["service_name"] == "inventory" and caller["service_name"] == "web-api"
    assert reserve["traceparent"] == f'["00-{trace_id}-{caller["span_id"]}-01"]'
    assert {r["service_name"] for r in trace if r["span_name"].startswith("SELECT stock")} == {"inventory"}
    assert names["POST /orders"]["service_name"] == "web-api"
    assert any(r["span_name"].startswith("SELECT stock") for r in trace)
    failing = next(r for r in trace if r["span_name"].startswith("SELECT stock"))
    depth, span = 0, failing["span_id"]
    while parent.get(span):
        depth, span = depth + 1, parent[span]
    assert depth >= 5  # client -> server -> checkout -> HTTP call -> inventory server -> ... -> the lock


def test_demo_has_pydantic_ai_runs_with_models_and_token_usage(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    found = rows(
        backend,
        "SELECT attributes->>'gen_ai.request.model' AS model, sum(CAST(attributes->>'gen_ai.usage.input_tokens' AS INTEGER)) AS tokens "
        "FROM records WHERE attributes->>'gen_ai.request.model' IS NOT NULL GROUP BY model",
    )
    assert {r["model"] for r in found} == {"gpt-4o", "claude-sonnet-4", "gemini-2.5-flash"}
    assert all(r["tokens"] > 0 for r in found)


def test_demo_has_counters_and_histograms_over_the_window(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, _ = demo
    types = {r["metric_type"] for r in rows(backend, "SELECT DISTINCT metric_type FROM metrics")}
    assert {"sum", "gauge", "histogram", "exponential_histogram"} <= types
    span = rows(backend, "SELECT min(recorded_timestamp) AS lo, max(recorded_timestamp) AS hi FROM metrics")[
        0
    ]
    lo, hi = (datetime.fromisoformat(span[k].replace("Z", "+00:00")) for k in ("lo", "hi"))
    assert hi - lo > timedelta(days=6)
    names = {r["metric_name"] for r in rows(backend, "SELECT DISTINCT metric_name FROM metrics")}
    assert {"app.orders.created", "jobs.duration", "gen_ai.client.token.usage"} <= names


def test_demo_starts_jupyterlab_on_the_quickstart_and_ctrl_c_stops_everything(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    backend.stop()  # one server per data dir: the demo starts its own
    port = free_port()
    # ROOT: where examples/quickstart.ipynb is.
    process = start_demo(ROOT, "--data-dir", str(data_dir), "--port", str(port))
    try:
        assert process.stdout is not None
        lines = read_until(process, "JupyterLab: http")
        url = next(line for line in lines if "JupyterLab: http" in line).split("JupyterLab: ", 1)[1].strip()
        assert "/lab/tree/examples/quickstart.ipynb?token=" in url
        token = (data_dir / "demo_token").read_text().strip()
        assert token not in "".join(lines)
        # The address is printed once JupyterLab answers: opened at once, it is no "connection refused".
        assert httpx.get(url, timeout=60).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200
        # The read token reaches JupyterLab (and its kernels) through the environment only.
        lab_pid = int(
            subprocess.run(
                ["pgrep", "-s", str(process.pid), "-f", "jupyterlab"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        lab_env = Path(f"/proc/{lab_pid}/environ").read_bytes().split(b"\0")
        assert f"LOGFIRE_READ_TOKEN={token}".encode() in lab_env
        assert f"LOGFIRE_BASE_URL=http://127.0.0.1:{port}".encode() in lab_env
        assert token not in (ROOT / "examples" / "quickstart.ipynb").read_text()
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        process.wait(timeout=60)
    finally:
        stop_demo(process)
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    assert subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode == 1
    assert _services_sending_to(port) == []  # the live services run in sessions of their own


def test_a_kill_of_the_demo_alone_during_its_fill_stops_the_fill_services(tmp_path: Path) -> None:
    # `kill <pid>` or a process manager signals only the demo, not its process group as Ctrl-C does.
    port = free_port()
    process = start_demo(tmp_path, "--no-lab", "--data-dir", str(tmp_path / "data"), "--port", str(port))
    try:
        read_until(process, "making about")
        deadline = time.monotonic() + 60
        while not _services_sending_to(port):
            assert time.monotonic() < deadline, "no fill service started within 60 s"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        left = _services_sending_to(port)
    finally:
        stop_demo(process)
        for pid in _services_sending_to(port):
            os.kill(pid, signal.SIGKILL)
    assert left == [], "fill services kept running after the demo was killed"


# A demo in miniature: one live service in a session of its own, as the demo starts them (its output in
# the file argv[2]), then asleep.
MINI_DEMO = """
import subprocess, sys, time
from logfire_notebook.server.demo import SERVICES, _service_args, _services_env
port, log = int(sys.argv[1]), open(sys.argv[2], "wb")
args = [*_service_args(SERVICES[0], 1, 0, time.time_ns(), time.time_ns()), "--live-per-minute=600"]
subprocess.Popen(args, env=_services_env(f"http://127.0.0.1:{port}"), stderr=log, start_new_session=True)
time.sleep(600)
"""


def test_a_live_service_leaves_when_the_demo_is_gone_without_stopping_it(tmp_path: Path) -> None:
    # A SIGKILL (the OOM killer, `kill -9`) gives the demo no chance to stop its services, which run in
    # sessions of their own; they must not send to a backend that is gone for ever after. (Nothing listens
    # on the port: the service's exports fail, as they would once the backend had died with the demo.)
    port, log = free_port(), tmp_path / "service.log"
    demo = subprocess.Popen(
        [sys.executable, "-c", MINI_DEMO, str(port), str(log)],
        env=clean_env(),
        cwd=tmp_path,
        start_new_session=True,
    )
    try:
        # Live: its window made (no records in it), it sends in real time from here on.
        deadline = time.monotonic() + 120
        while not (log.exists() and b"0 records" in log.read_bytes()):
            assert time.monotonic() < deadline, "the service did not go live within 120 s"
            time.sleep(0.1)
        services = _services_sending_to(port)
        assert len(services) == 1
        demo.kill()
        demo.wait()
        deadline = time.monotonic() + 30
        while any(running(pid) for pid in services):
            assert time.monotonic() < deadline, "the live service kept running 30 s after the demo was killed"
            time.sleep(0.2)
    finally:
        stop_demo(cast(subprocess.Popen[str], demo))
        for pid in _services_sending_to(port):
            os.kill(pid, signal.SIGKILL)


def _services_sending_to(port: int) -> list[int]:
    """Processes (of anyone) whose OTLP endpoint is the demo backend on `port`: its live services."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            environ = (proc / "environ").read_bytes()
        except (OSError, ValueError):
            continue
        if f"OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:{port}\0".encode() in environ:
            found.append(int(proc.name))
    return found


def _fill_marker(data_dir: Path) -> dict[str, str]:
    marker: dict[str, str] = json.loads((data_dir / "demo_filled.json").read_text())
    return marker


def test_while_the_demo_runs_its_services_keep_sending_and_ctrl_c_stops_them(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    backend.stop()  # one server per data dir: the demo starts its own
    token = (data_dir / "demo_token").read_text().strip()
    port = free_port()
    process = start_demo(
        ROOT, "--headless", "--data-dir", str(data_dir), "--port", str(port), "--live-per-minute", "600"
    )
    try:
        assert process.stdout is not None
        lines = read_until(process, "serving with live telemetry")
        assert "live: the demo services send about 600 records a minute" in "".join(lines)
        # Only the address and the token matter to rows() and count().
        live = cast(Backend, SimpleNamespace(base_url=f"http://127.0.0.1:{port}", token=token))
        started = datetime.now(timezone.utc).isoformat()
        deadline = time.monotonic() + 120
        while count(live, where=f"start_timestamp >= '{started}'") < 20:
            assert time.monotonic() < deadline, "the live services sent fewer than 20 records in 2 minutes"
            time.sleep(0.5)
        newest = rows(live, "SELECT max(start_timestamp) AS t FROM records")[0]["t"]
        age = datetime.now(timezone.utc) - datetime.fromisoformat(newest.replace("Z", "+00:00"))
        assert age < timedelta(seconds=60)
        assert len(_services_sending_to(port)) == 6
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        process.wait(timeout=60)
    finally:
        stop_demo(process)
    assert _services_sending_to(port) == []
    # The live data counts as filled: the next run tops up only from where it stopped.
    filled_until = datetime.fromisoformat(_fill_marker(data_dir)["filled_until"])
    assert datetime.now(timezone.utc) - filled_until < timedelta(minutes=2)


def test_a_closed_terminal_stops_the_demo_as_ctrl_c_does(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    backend.stop()  # one server per data dir: the demo starts its own
    port = free_port()
    process = start_demo(ROOT, "--headless", "--data-dir", str(data_dir), "--port", str(port))
    try:
        read_until(process, "serving with live telemetry")
        deadline = time.monotonic() + 60
        while len(_services_sending_to(port)) < 6:
            assert time.monotonic() < deadline, "the live services did not start within 60 s"
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGHUP)  # what closing the terminal does
        assert process.wait(timeout=60) == 0
    finally:
        stop_demo(process)
    assert _services_sending_to(port) == []
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
    # It stopped in order: the live data counts as filled.
    filled_until = datetime.fromisoformat(_fill_marker(data_dir)["filled_until"])
    assert datetime.now(timezone.utc) - filled_until < timedelta(minutes=2)


def test_demo_marimo_opens_the_marimo_quickstart_with_the_backend_configured(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    backend.stop()  # one server per data dir: the demo starts its own
    token = (data_dir / "demo_token").read_text().strip()
    port = free_port()
    # ROOT: where examples/marimo_quickstart.py is.
    process = start_demo(
        ROOT, "--marimo", "--live-per-minute", "0", "--data-dir", str(data_dir), "--port", str(port)
    )
    try:
        assert process.stdout is not None
        lines = read_until(process, "marimo: http")
        url = next(line for line in lines if "marimo: http" in line).split("marimo: ", 1)[1].strip()
        assert token not in "".join(lines)
        # The address is printed once marimo answers, with how to run the notebook (marimo runs nothing
        # when it opens).
        page = httpx.get(url, timeout=60, follow_redirects=True)
        assert page.status_code == 200
        assert "marimo_quickstart.py" in page.text
        assert "Run all" in read_until(process, "Ctrl-C stops")[0]
        marimo_pid = int(
            subprocess.run(
                ["pgrep", "-s", str(process.pid), "-f", "marimo edit"], capture_output=True, text=True
            ).stdout.split()[0]
        )
        marimo_env = Path(f"/proc/{marimo_pid}/environ").read_bytes().split(b"\0")
        assert f"LOGFIRE_READ_TOKEN={token}".encode() in marimo_env
        assert f"LOGFIRE_BASE_URL=http://127.0.0.1:{port}".encode() in marimo_env
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        process.wait(timeout=60)
    finally:
        stop_demo(process)
    # marimo's kernel and multiprocessing helpers end a moment after marimo itself.
    deadline = time.monotonic() + 20
    while subprocess.run(["pgrep", "-s", str(process.pid)], capture_output=True).returncode != 1:
        leftovers = subprocess.run(
            ["pgrep", "-a", "-s", str(process.pid)], capture_output=True, text=True
        ).stdout
        assert time.monotonic() < deadline, f"still running after the demo stopped: {leftovers}"
        time.sleep(0.2)


@pytest.mark.parametrize("front_end", ["JupyterLab", "marimo"])
def test_a_sigkilled_demo_leaves_no_process_behind_and_the_next_demo_finds_its_data(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path], front_end: str
) -> None:
    # `kill -9`, the OOM killer or a CI timeout give the demo no chance to stop what it started: the backend
    # (and its decode workers), the front end and the live services must go by themselves, or the next demo
    # meets a busy port and a data dir "in use".
    backend, _, data_dir = demo
    backend.stop()  # one server per data dir: the demo starts its own
    token = (data_dir / "demo_token").read_text().strip()
    port = free_port()
    live = cast(Backend, SimpleNamespace(base_url=f"http://127.0.0.1:{port}", token=token))
    front_end_flag = ["--marimo"] if front_end == "marimo" else []
    process = start_demo(
        ROOT, *front_end_flag, "--data-dir", str(data_dir), "--port", str(port), "--live-per-minute", "600"
    )
    started: list[int] = []
    try:
        lines = read_until(process, f"{front_end}: http")
        url = next(line for line in lines if f"{front_end}: http" in line).split(f"{front_end}: ", 1)[1]
        front_end_port = httpx.URL(url.strip()).port
        # The first live records: the backend's decode workers run by now.
        since = datetime.now(timezone.utc).isoformat()
        deadline = time.monotonic() + 120
        while count(live, where=f"start_timestamp >= '{since}'") == 0:
            assert time.monotonic() < deadline, "the live services sent nothing in 2 minutes"
            time.sleep(0.5)
        stored = count(live)
        started = descendants(process.pid)
        commands = " | ".join(command_line(pid) for pid in started)
        front_end_command = "marimo edit" if front_end == "marimo" else "jupyterlab"
        assert " serve " in commands and front_end_command in commands and "spawn_main" in commands, commands
        process.kill()
        process.wait()
        left = left_running(started, 15)
        assert left == [], "still running 15 s after the demo was SIGKILLed:\n" + "\n".join(left)
    finally:
        stop_demo(process)
        for pid in started:  # whatever survived must not hold the data dir for the next tests
            if running(pid):
                os.kill(pid, signal.SIGKILL)
    # The backend stopped as on Ctrl-C: its database closed (checkpointed: no write-ahead log left).
    assert not (data_dir / "logfire.duckdb.wal").exists()
    assert front_end_port is not None and _port_is_free(front_end_port) and _port_is_free(port)
    again = start_demo(
        ROOT, "--headless", "--data-dir", str(data_dir), "--port", str(port), "--live-per-minute", "0"
    )
    try:
        read_until(again, "serving with live telemetry")
        assert count(live) >= stored
        os.killpg(again.pid, signal.SIGINT)
        again.wait(timeout=60)
    finally:
        stop_demo(again)


def test_second_demo_run_reuses_token_and_tops_up_the_time_since_the_last_fill(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    token_file = data_dir / "demo_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    backend.stop()  # one server per data dir; this is the module's last test
    before = _count_offline(data_dir)
    # As if the last run had ended a day ago; a small --records keeps the top-up short (it fills at that density).
    marker = _fill_marker(data_dir)
    day_ago = datetime.now(timezone.utc) - timedelta(days=1)
    (data_dir / "demo_filled.json").write_text(json.dumps({**marker, "filled_until": day_ago.isoformat()}))
    again = run_demo(data_dir, data_dir.parent, "--records", "7000")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "topping up the 24 hours since the last run with about 1,000 records" in again.stdout
    assert "making about" not in again.stdout  # no second full fill
    assert token not in again.stdout + again.stderr
    assert token_file.read_text().strip() == token
    assert before + 900 <= _count_offline(data_dir) <= before + 1500
    assert datetime.fromisoformat(_fill_marker(data_dir)["filled_until"]) > day_ago + timedelta(hours=23)
