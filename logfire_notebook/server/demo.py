"""`logfire-notebook demo`: a local backend full of realistic telemetry, then JupyterLab on the example.

1. Start `logfire-notebook serve` on the data dir (a subprocess) and make a read token (kept in
   `<data dir>/demo_token`, mode 600, so the next run reuses it).
2. Unless the data dir already holds demo data, run the instrumented demo services of `demo_app.py` in
   parallel processes; the official `logfire` SDK sends their spans, logs and metrics over OTLP.
3. Unless `--no-lab`: start JupyterLab on `examples/quickstart.ipynb` with `LOGFIRE_READ_TOKEN` and
   `LOGFIRE_BASE_URL` in its environment (never in the notebook), and stop the server when it exits.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

__all__ = ["DEMO_TOKEN_FILE", "SERVICES", "fill", "run_demo"]

DEMO_TOKEN_FILE = "demo_token"
DEMO_MARKER_FILE = "demo_filled.json"
NOTEBOOK = Path("examples") / "quickstart.ipynb"
WINDOW = timedelta(days=7)


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
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _cli() -> list[str]:
    return [sys.executable, "-m", "logfire_notebook.cli"]


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
        self.process = subprocess.Popen(
            [*_cli(), "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir)],
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


def fill(base_url: str, records: int, *, now: datetime | None = None, parallel: int | None = None) -> None:
    """Run the demo services against the OTLP endpoint at `base_url` until they made about `records`."""
    end = now or datetime.now(timezone.utc)
    end_ns = int(end.timestamp() * 1e9)
    start_ns = end_ns - int(WINDOW.total_seconds() * 1e9)
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
    parallel = parallel or max(1, min(len(SERVICES), os.cpu_count() or 1))
    pending = list(enumerate(SERVICES))
    running: list[tuple[DemoService, subprocess.Popen[bytes]]] = []
    failures: list[str] = []
    workdir = Path(env.get("TMPDIR", "/tmp"))
    while pending or running:
        while pending and len(running) < parallel:
            i, svc = pending.pop(0)
            # A little over the share, so the total is at least what was asked for.
            budget = max(50, int(records * svc.share * 1.005) + 1)
            args = [
                sys.executable,
                "-m",
                "logfire_notebook.server.demo_app",
                f"--service={svc.service}",
                f"--environment={svc.environment}",
                f"--version={svc.version}",
                f"--records={budget}",
                f"--start-ns={start_ns}",
                f"--end-ns={end_ns}",
                f"--seed={i + 1}",
            ]
            # A directory without a pyproject.toml, so no [tool.logfire] section changes the SDK's settings.
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
                failures.append(f"{svc.service}/{svc.environment}: {err.decode(errors='replace')[-1500:]}")
            else:
                _say(err.decode(errors="replace").strip().splitlines()[-1])
    if failures:
        raise SystemExit(
            "logfire-notebook demo: a demo service failed; its error follows.\n" + "\n".join(failures)
        )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _lab_settings(data_dir: Path) -> Path:
    """JupyterLab user settings for the demo, kept in the data dir: JupyterLab does not ask about fetching
    news (the demo runs offline), and the user's own JupyterLab settings stay untouched."""
    settings = data_dir / "jupyterlab-settings"
    notification = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    if not notification.exists():
        notification.parent.mkdir(parents=True, exist_ok=True)
        notification.write_text(json.dumps({"fetchNews": "false"}))
    return settings


def _start_lab(base_url: str, token: str, data_dir: Path) -> int:
    log_path = data_dir / "jupyterlab.log"
    notebook = NOTEBOOK if NOTEBOOK.exists() else None
    if notebook is None:
        _say(f"{NOTEBOOK} is not in {Path.cwd()}; JupyterLab opens on this directory instead")
    port = next(p for p in range(8888, 8999) if _port_is_free(p))
    lab_token = secrets.token_urlsafe(16)
    args = [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={lab_token}",
        # The file browser shows the whole checkout, and the opening page is the example notebook.
        f"--ServerApp.root_dir={Path.cwd()}",
        # Offline: no news feed or update check asking for the network.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")  # containers often run as root; JupyterLab refuses without this
    path = f"lab/tree/{notebook.as_posix()}" if notebook else "lab"
    args.append(f"--ServerApp.default_url=/{path}")
    # JupyterLab's own log goes to a file: the terminal keeps the one line a user needs.
    with log_path.open("wb") as log:
        lab = subprocess.Popen(
            args,
            env=_child_env(
                LOGFIRE_READ_TOKEN=token,
                LOGFIRE_BASE_URL=base_url,
                JUPYTERLAB_SETTINGS_DIR=str(_lab_settings(data_dir)),
            ),
            stdout=log,
            stderr=log,
        )
        _say(f"JupyterLab: http://127.0.0.1:{port}/{path}?token={lab_token}")
        _say(f"(its log: {log_path}; Ctrl-C stops JupyterLab and the backend)")
        try:
            code = lab.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            _stop(lab)
    if code != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        _say("JupyterLab stopped with an error:\n  " + "\n  ".join(tail))
    return code


def run_demo(data_dir: Path, port: int, records: int, start_lab: bool) -> None:
    """The `logfire-notebook demo` command."""
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    # Ctrl-C and SIGTERM (`kill`, a closed terminal) both clean up: no backend or JupyterLab is left behind.
    # SIGINT too, explicitly: a shell that started us in the background may have left it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if not _port_is_free(port):
        raise SystemExit(f"logfire-notebook demo: port {port} is in use; pass --port with a free one.")
    token = _demo_token(data_dir)
    server = _Server(data_dir, port)
    try:
        server.wait_ready()
        _say(f"backend on {server.base_url}, data in {data_dir}")
        marker = data_dir / DEMO_MARKER_FILE
        if marker.exists():
            info = json.loads(marker.read_text())
            _say(
                f"the data dir already holds demo data ({info.get('records')} records made "
                f"{info.get('made_at')}); not filling again (delete {marker} to refill)"
            )
        else:
            _say(f"making about {records:,} records of demo telemetry over the last 7 days ...")
            started = time.monotonic()
            fill(server.base_url, records)
            total = _count(server.base_url, token, "records")
            metrics = _count(server.base_url, token, "metrics")
            _say(
                f"stored {total:,} records and {metrics:,} metric points in {time.monotonic() - started:.0f} s"
            )
            marker.write_text(
                json.dumps(
                    {"records": total, "metrics": metrics, "made_at": datetime.now(timezone.utc).isoformat()}
                )
            )
        _say(f"read token: stored in {data_dir / DEMO_TOKEN_FILE}")
        if start_lab:
            _start_lab(server.base_url, token, data_dir)
        else:
            _say(
                f"done. Serve it with `logfire-notebook serve --data-dir {data_dir} --port {port}` and use "
                f"LOGFIRE_BASE_URL=http://127.0.0.1:{port} with the token in {data_dir / DEMO_TOKEN_FILE}."
            )
    finally:
        server.stop()
