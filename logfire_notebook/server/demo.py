"""`logfire-notebook demo`: a local backend full of realistic telemetry that stays live, then JupyterLab or
marimo on the example.

1. Start `logfire-notebook serve` on the data dir (a subprocess) and make a read token (kept in
   `<data dir>/demo_token`, mode 600, so the next run reuses it).
2. A new data dir: run the instrumented demo services of `demo_app.py` in parallel processes over the last
   7 days; the official `logfire` SDK sends their spans, logs and metrics over OTLP. A data dir with demo data:
   top up the time since the last fill (or the last run's live data) at the same density, so every quick
   range from 15 minutes to 7 days has data.
3. Unless `--no-lab`: the same services keep running in real time (a gentle trickle at the fill's density)
   while JupyterLab (or marimo, `--marimo`) runs on the example with `LOGFIRE_READ_TOKEN`, `LOGFIRE_BASE_URL`
   and `LOKI_ADDR` in its environment (never in the notebook); `--headless` serves without a front end.
   Ctrl-C stops everything; so does the demo's end by SIGKILL (`kill -9`, the OOM killer), which it cannot
   catch: everything it starts leaves once it is gone (`parent.py`), the backend closing its database first.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["DEMO_TOKEN_FILE", "SERVICES", "fill", "run_demo"]

DEMO_TOKEN_FILE = "demo_token"
DEMO_MARKER_FILE = "demo_filled.json"
NOTEBOOK = Path("examples") / "quickstart.ipynb"
MARIMO_NOTEBOOK = Path("examples") / "marimo_quickstart.py"
WINDOW = timedelta(days=7)
# What stops the demo, cleaning up: Ctrl-C, `kill`, and a closed terminal (SIGHUP, where there is one).
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else []))
# Seconds JupyterLab or marimo may take to answer before their address is printed anyway.
FRONT_END_START_SECONDS = 120.0


@dataclass(frozen=True)
class DemoService:
    service: str
    environment: str
    version: str
    share: float
    """Fraction of the records this process makes."""


# Longest-running first, so parallel processes finish together. The agent's records cost the most CPU.
SERVICES: tuple[DemoService, ...] = (
    DemoService("web-api", "production", "1.4.2", 0.36),
    DemoService("agent", "production", "0.9.0", 0.07),
    DemoService("worker", "production", "1.4.2", 0.32),
    DemoService("web-api", "staging", "1.5.0rc1", 0.10),
    DemoService("agent", "staging", "0.10.0b2", 0.03),
    DemoService("worker", "staging", "1.5.0rc1", 0.12),
)


def _say(text: str) -> None:
    print(f"logfire-notebook demo: {text}", flush=True)


def _port_is_free(port: int) -> bool:
    """Whether the server could bind `port` now. Bound the way uvicorn binds (SO_REUSEADDR), so the
    TIME_WAIT connections a stopped server leaves for about a minute do not count as "in use"."""
    with socket.socket() as s:
        if sys.platform != "win32":  # on Windows the option would let two servers share the port
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _leaving_with_the_demo(module: str, *args: str) -> list[str]:
    """`python -m module *args`, stopped as by `kill` once this demo is gone, even when it was SIGKILLed and
    could not stop it: else the backend would keep its port and the data dir, and the front end its port."""
    return [sys.executable, "-m", "logfire_notebook.server.parent", str(os.getpid()), module, *args]


def _child_env(**extra: str) -> dict[str, str]:
    # The children import this very package, installed or not.
    root = str(Path(__file__).resolve().parents[2])
    pythonpath = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": pythonpath, "PYTHONUNBUFFERED": "1", **extra}


def _demo_token(data_dir: Path) -> str:
    from logfire_notebook.server.tokens import create_token

    path = data_dir / DEMO_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    token = create_token(data_dir)
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


class _Server:
    """`logfire-notebook serve` in a subprocess, stopped on exit."""

    def __init__(self, data_dir: Path, port: int) -> None:
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = data_dir / "demo-server.log"
        self._log = self.log_path.open("wb")
        serve = ("serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir))
        self.process = subprocess.Popen(
            _leaving_with_the_demo("logfire_notebook.cli", *serve),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=_child_env(),
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                lines = self.log_path.read_text(errors="replace").strip().splitlines()
                reason = lines[-1] if lines else "no output"
                raise SystemExit(
                    f"logfire-notebook demo: the backend did not start ({reason}); see {self.log_path}."
                )
            try:
                if httpx.get(f"{self.base_url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise SystemExit(
            f"logfire-notebook demo: the backend did not answer within {timeout:.0f} s; see {self.log_path}."
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


def _count(base_url: str, token: str, table: str) -> int:
    import httpx

    since = (datetime.now(timezone.utc) - timedelta(days=3650)).isoformat()
    response = httpx.post(
        f"{base_url}/v2/query",
        json={"sql": f"SELECT count(*) AS n FROM {table}", "min_timestamp": since},
        headers={"Authorization": token},
        timeout=60,
    )
    response.raise_for_status()
    return int(response.json()["data"][0]["n"])


# The exporters' batching while the services fill a window as fast as they can: each request costs the
# backend a DuckDB commit and fixed per-request work, so full batches instead of a batch every 250 ms cut
# the backend's CPU per record by a third (web-api, 6,000 records: 11.3 s -> 7.7 s) and the whole fill's
# CPU by 9% (8,000 records: 55.5 s -> 50.5 s, start-ups included). The live services keep their 250 ms.
# 2048 spans: half the batches a fill already sent while its queue was deep.
BULK_BATCHING = {
    "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "2048",
    "OTEL_BSP_SCHEDULE_DELAY": "5000",
    "OTEL_BLRP_MAX_EXPORT_BATCH_SIZE": "2048",
    "OTEL_BLRP_SCHEDULE_DELAY": "5000",
}


def _services_env(base_url: str, *, bulk: bool = False) -> dict[str, str]:
    env = _child_env(
        OTEL_EXPORTER_OTLP_ENDPOINT=base_url,
        # The services outrun the exporter at first; a deep queue keeps the SDK from dropping spans.
        OTEL_BSP_MAX_QUEUE_SIZE="1000000",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="4096",
        OTEL_BSP_SCHEDULE_DELAY="250",
        OTEL_BLRP_MAX_QUEUE_SIZE="100000",
        OTEL_BLRP_SCHEDULE_DELAY="250",
        # Metrics are collected on the virtual clock by the services themselves.
        OTEL_METRIC_EXPORT_INTERVAL="3600000",
        OTEL_EXPORTER_OTLP_TIMEOUT="60",
    )
    # Logfire settings of the user's shell must not send the demo data elsewhere.
    for name in ("LOGFIRE_TOKEN", "LOGFIRE_SEND_TO_LOGFIRE", "LOGFIRE_CONSOLE", "LOGFIRE_ENVIRONMENT"):
        env.pop(name, None)
    return {**env, **BULK_BATCHING} if bulk else env


def _service_args(svc: DemoService, seed: int, records: int, start_ns: int, end_ns: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "logfire_notebook.server.demo_app",
        f"--service={svc.service}",
        f"--environment={svc.environment}",
        f"--version={svc.version}",
        f"--records={records}",
        f"--start-ns={start_ns}",
        f"--end-ns={end_ns}",
        f"--seed={seed}",
        f"--demo-pid={os.getpid()}",
    ]


def _ns(value: datetime) -> int:
    return int(value.timestamp() * 1e9)


def fill(
    base_url: str,
    records: int,
    *,
    now: datetime | None = None,
    start: datetime | None = None,
    parallel: int | None = None,
    seed: int = 0,
) -> None:
    """Run the demo services against the OTLP endpoint at `base_url` until they made about `records` between
    `start` (default: 7 days before `now`) and `now`."""
    end = now or datetime.now(timezone.utc)
    end_ns = _ns(end)
    start_ns = _ns(start) if start is not None else end_ns - int(WINDOW.total_seconds() * 1e9)
    env = _services_env(base_url, bulk=True)
    parallel = parallel or max(1, min(len(SERVICES), os.cpu_count() or 1))
    pending = list(enumerate(SERVICES))
    running: list[tuple[DemoService, subprocess.Popen[bytes]]] = []
    failures: list[str] = []
    workdir = Path(env.get("TMPDIR", "/tmp"))
    # A signal raised while Popen starts a service would lose that service before it is in `running`: Ctrl-C
    # and SIGTERM only mark the fill as interrupted here, and the loop stops at its next turn.
    with _signals_deferred() as interrupted:
        try:
            while (pending or running) and not interrupted:
                while pending and len(running) < parallel:
                    i, svc = pending.pop(0)
                    # A little over the share, so the total is at least what was asked for.
                    budget = max(1, int(records * svc.share * 1.005) + 1)
                    args = _service_args(svc, seed + i + 1, budget, start_ns, end_ns)
                    # A directory without a pyproject.toml, so no [tool.logfire] section changes the SDK's
                    # settings.
                    process = subprocess.Popen(
                        args, env=env, cwd=workdir, stdout=subprocess.PIPE, stderr=subprocess.PIPE
                    )
                    running.append((svc, process))
                time.sleep(0.05)
                for item in list(running):
                    svc, process = item
                    if process.poll() is None:
                        continue
                    running.remove(item)
                    _, err = process.communicate()
                    if process.returncode != 0:
                        failures.append(
                            f"{svc.service}/{svc.environment}: {err.decode(errors='replace')[-1500:]}"
                        )
                    else:
                        _say(err.decode(errors="replace").strip().splitlines()[-1])
        finally:
            # Ctrl-C in a terminal reaches the services too, but `kill <demo pid>` or a process manager
            # signals only us: stop them, or they keep sending to a backend that is going away.
            _stop_all([process for _, process in running])
    if interrupted:
        raise KeyboardInterrupt
    if failures:
        raise SystemExit(
            "logfire-notebook demo: a demo service failed; its error follows.\n" + "\n".join(failures)
        )


def per_minute(records: int) -> float:
    """Records a minute at the density of a `records`-over-7-days fill, so live data continues the fill."""
    return records / (WINDOW.total_seconds() / 60)


@dataclass(frozen=True)
class CatchUp:
    """The records a data dir misses since its last fill (or the last run's live data) ended."""

    start: datetime
    end: datetime
    records: int


class Trickle:
    """The demo services in live mode: they make `catch_up`'s records (if any), then keep sending telemetry in
    real time, about `rate` records a minute, until stopped."""

    def __init__(self, base_url: str, rate: float, data_dir: Path, catch_up: CatchUp | None = None) -> None:
        now = datetime.now(timezone.utc)
        start, end, records = (catch_up.start, catch_up.end, catch_up.records) if catch_up else (now, now, 0)
        self.log_path = data_dir / "demo-services.log"
        self._log = self.log_path.open("ab")
        env = _services_env(base_url)
        # Fresh seeds each run, so the live data does not repeat the last run's.
        seed = secrets.randbelow(10**6)
        self.processes = [
            subprocess.Popen(
                [
                    *_service_args(
                        svc, seed + i, int(records * svc.share) + (1 if records else 0), _ns(start), _ns(end)
                    ),
                    f"--live-per-minute={rate * svc.share:.4f}",
                ],
                env=env,
                cwd=env.get("TMPDIR", "/tmp"),
                stdout=self._log,
                stderr=self._log,
                # Their own session: a Ctrl-C in the terminal reaches the demo, which stops them in order
                # (services first, so their last batches still reach the backend).
                start_new_session=True,
            )
            for i, svc in enumerate(SERVICES)
        ]

    def stop(self, grace: float = 3.0) -> None:
        """SIGTERM, which makes each service send what it has queued; after `grace` seconds, SIGKILL (a Ctrl-C
        in the terminal stops the backend at the same time, and stopping must stay quick)."""
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + grace
        for process in self.processes:
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self._log.close()


def _catch_up(records: int, marker: Path) -> CatchUp | None:
    """What a data dir with demo data misses since its last fill, at the fill's density, so every quick range
    (15 minutes ... 7 days) has data again; None when less than a minute is missing."""
    info = json.loads(marker.read_text())
    now = datetime.now(timezone.utc)
    last = _parse_time(info.get("filled_until") or info.get("made_at")) or now - WINDOW
    start = max(last, now - WINDOW)
    missing = int(records * ((now - start) / WINDOW))
    if now - start < timedelta(minutes=1) or missing < 1:
        return None
    return CatchUp(start, now, missing)


def _say_catch_up(catch_up: CatchUp, where: str) -> None:
    _say(
        f"topping up the {_duration_words(catch_up.end - catch_up.start)} since the last run with about "
        f"{catch_up.records:,} records{where} ..."
    )


def _parse_time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _duration_words(gap: timedelta) -> str:
    minutes = gap.total_seconds() / 60
    if minutes < 120:
        return f"{minutes:.0f} minutes"
    if minutes < 48 * 60:
        return f"{minutes / 60:.0f} hours"
    return f"{minutes / 1440:.0f} days"


def _write_marker(marker: Path, info: dict[str, object], *, filled_until: datetime) -> None:
    marker.write_text(json.dumps({**info, "filled_until": filled_until.isoformat()}))


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def _signals_deferred() -> Iterator[list[int]]:
    """Inside: STOP_SIGNALS are noted in the yielded list instead of raising (main thread only; elsewhere
    Python delivers no signals anyway)."""
    noted: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield noted
        return
    previous = {sig: signal.signal(sig, lambda signum, _frame: noted.append(signum)) for sig in STOP_SIGNALS}
    try:
        yield noted
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    """Terminate every process first, then wait for each: one by one, their waits would add up."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        _stop(process)


def _lab_settings(data_dir: Path) -> Path:
    """JupyterLab user settings for the demo, kept in the data dir: JupyterLab does not ask about fetching
    news (the demo runs offline), and the user's own JupyterLab settings stay untouched."""
    settings = data_dir / "jupyterlab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not notification.exists():
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false"}))
    return settings


def _front_end_args(front_end: str, port: int, token: str) -> tuple[list[str], str]:
    """The command that starts JupyterLab or marimo on the example, and the path it opens on."""
    if front_end == "marimo":
        if not MARIMO_NOTEBOOK.exists():
            raise SystemExit(
                f"logfire-notebook demo: {MARIMO_NOTEBOOK} is not in {Path.cwd()}; run the demo from a "
                "checkout of logfire-notebook (`./scripts/demo --marimo`)."
            )
        args = _leaving_with_the_demo(
            "marimo",
            "edit",
            str(MARIMO_NOTEBOOK),
            "--headless",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--token-password={token}",
            "--skip-update-check",
            "--no-sandbox",  # the example's script header sets marimo options, not packages to install
        )
        return args, f"?access_token={token}"
    notebook = NOTEBOOK if NOTEBOOK.exists() else None
    if notebook is None:
        _say(f"{NOTEBOOK} is not in {Path.cwd()}; JupyterLab opens on this directory instead")
    path = f"lab/tree/{notebook.as_posix()}" if notebook else "lab"
    args = _leaving_with_the_demo(
        "jupyterlab",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        # The file browser shows the whole checkout, and the opening page is the example notebook.
        f"--ServerApp.root_dir={Path.cwd()}",
        # Offline: no news feed or update check asking for the network.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        f"--ServerApp.default_url=/{path}",
    )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers often run as root; JupyterLab refuses without this
    return args, f"{path}?token={token}"


def _wait_answering(app: subprocess.Popen[bytes], url: str) -> None:
    """Returns once `url` answers (any HTTP status), `app` has ended, or FRONT_END_START_SECONDS have
    passed: an address printed sooner reads as "connection refused" to whoever opens it at once."""
    import httpx

    deadline = time.monotonic() + FRONT_END_START_SECONDS
    while app.poll() is None and time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)


def _start_front_end(front_end: str, base_url: str, token: str, data_dir: Path) -> int:
    """JupyterLab or marimo on the example, with the demo backend in its environment (never in the notebook)."""
    name = "marimo" if front_end == "marimo" else "JupyterLab"
    log_path = data_dir / ("marimo.log" if front_end == "marimo" else "jupyterlab.log")
    port = next(p for p in range(8888, 8999) if _port_is_free(p))
    args, path = _front_end_args(front_end, port, secrets.token_urlsafe(16))
    # Its own log goes to a file: the terminal keeps the one line a user needs.
    with log_path.open("wb") as log:
        app = subprocess.Popen(
            args,
            env=_child_env(
                LOGFIRE_READ_TOKEN=token,
                LOGFIRE_BASE_URL=base_url,
                LOKI_ADDR=base_url,  # the same server speaks Loki's API (examples/loki_quickstart.ipynb)
                JUPYTERLAB_SETTINGS_DIR=str(_lab_settings(data_dir)),
            ),
            stdout=log,
            stderr=log,
        )
        try:
            _wait_answering(app, f"http://127.0.0.1:{port}/")
            if app.poll() is None:
                _say(f"{name}: http://127.0.0.1:{port}/{path}")
                if front_end == "marimo":
                    _say("marimo opens the notebook without running it: Run all is the ▶ at its bottom right")
                _say(f"(its log: {log_path}; Ctrl-C stops {name}, the live services and the backend)")
            code = app.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(app)
    if code != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        _say(f"{name} stopped with an error:\n  " + "\n  ".join(tail))
    return code


def _wait_for_ctrl_c() -> None:
    _say("serving with live telemetry; Ctrl-C stops the live services and the backend")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return


def _first_fill(base_url: str, token: str, records: int, marker: Path) -> None:
    _say(f"making about {records:,} records of demo telemetry over the last 7 days ...")
    started = time.monotonic()
    now = datetime.now(timezone.utc)
    fill(base_url, records, now=now)
    total = _count(base_url, token, "records")
    metrics = _count(base_url, token, "metrics")
    _say(f"stored {total:,} records and {metrics:,} metric points in {time.monotonic() - started:.0f} s")
    _write_marker(
        marker, {"records": total, "metrics": metrics, "made_at": now.isoformat()}, filled_until=now
    )


def run_demo(
    data_dir: Path,
    port: int,
    records: int,
    front_end: str | None = "lab",
    *,
    live_per_minute: float | None = None,
) -> None:
    """The `logfire-notebook demo` command. `front_end`: "lab", "marimo", "none" (serve with live
    telemetry until Ctrl-C) or None (fill and stop)."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Ctrl-C, SIGTERM (`kill`) and SIGHUP (a closed terminal) all clean up: no backend or JupyterLab is left
    # behind. SIGINT too, explicitly: a shell that started us in the background may have left it ignored.
    for stop in STOP_SIGNALS:
        signal.signal(stop, signal.default_int_handler)
    if not _port_is_free(port):
        raise SystemExit(f"logfire-notebook demo: port {port} is in use; pass --port with a free one.")
    token = _demo_token(data_dir)
    server = _Server(data_dir, port)
    trickle: Trickle | None = None
    marker = data_dir / DEMO_MARKER_FILE
    try:
        server.wait_ready()
        _say(f"backend on {server.base_url}, data in {data_dir}")
        catch_up = _catch_up(records, marker) if marker.exists() else None
        if not marker.exists():
            _first_fill(server.base_url, token, records, marker)
        _say(f"read token: stored in {data_dir / DEMO_TOKEN_FILE}")
        if front_end is None:
            if catch_up is not None:
                _say_catch_up(catch_up, "")
                fill(server.base_url, catch_up.records, now=catch_up.end, start=catch_up.start, seed=1000)
                _write_marker(marker, json.loads(marker.read_text()), filled_until=catch_up.end)
            _say(
                f"done. Serve it with `logfire-notebook serve --data-dir {data_dir} --port {port}` and use "
                f"LOGFIRE_BASE_URL=http://127.0.0.1:{port} with the token in {data_dir / DEMO_TOKEN_FILE}."
            )
            return
        rate = per_minute(records) if live_per_minute is None else live_per_minute
        if rate > 0 or catch_up is not None:
            # The services that top up the gap stay on as the live trickle: one start-up, in the background.
            if catch_up is not None:
                _say_catch_up(catch_up, " in the background")
            trickle = Trickle(server.base_url, rate, data_dir, catch_up)
            if rate > 0:
                _say(f"live: the demo services send about {rate:.3g} records a minute while the demo runs")
        if front_end == "none":
            _wait_for_ctrl_c()
        else:
            _start_front_end(front_end, server.base_url, token, data_dir)
    finally:
        if trickle is not None:
            trickle.stop()
            # The live services filled up to now: the next run tops up only from here.
            _write_marker(marker, json.loads(marker.read_text()), filled_until=datetime.now(timezone.utc))
        server.stop()
