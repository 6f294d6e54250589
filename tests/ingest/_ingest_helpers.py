"""Helpers of the ingest tests: query a backend over HTTP, run the SDK program against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
from _backend import Backend

SDK_PROGRAM = Path(__file__).with_name("_sdk_program.py")
ROOT = Path(__file__).resolve().parents[2]


def rows(backend: Backend, sql: str) -> list[dict[str, Any]]:
    """`sql` through POST /v2/query (JSON rows), over all time."""
    response = httpx.post(
        f"{backend.base_url}/v2/query",
        json={"sql": sql, "min_timestamp": "2000-01-01T00:00:00Z", "limit": 10_000},
        headers={"Authorization": backend.token},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def count(backend: Backend, table: str = "records", where: str = "true") -> int:
    return int(rows(backend, f"SELECT count(*) AS n FROM {table} WHERE {where}")[0]["n"])


def clean_env() -> dict[str, str]:
    """This process's environment without LOGFIRE_/OTEL_ settings, for a child that must not send elsewhere."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("LOGFIRE_", "OTEL_"))}


def sdk_env(endpoint: str) -> dict[str, str]:
    return {**clean_env(), "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint}


def run_sdk_program(endpoint: str, cwd: Path) -> dict[str, str]:
    """Run `_sdk_program.py` against `endpoint`; returns the ids it printed after its flush returned."""
    done = subprocess.run(
        [sys.executable, str(SDK_PROGRAM)],
        env=sdk_env(endpoint),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    ids: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return ids


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie, left for a PID 1 that does not reap, counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> list[int]:
    """The running processes `pid` started, and theirs, whatever their session."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(proc.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        started = children.get(todo.pop(), [])
        found.extend(started)
        todo.extend(started)
    return found


def command_line(pid: int) -> str:
    """`pid`'s command, for a message."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(ended)"


def left_running(pids: list[int], seconds: float) -> list[str]:
    """The commands of `pids` that still run after up to `seconds` (none: they all ended sooner)."""
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [command_line(pid) for pid in pids if running(pid)]
