"""Helpers of the ingest tests: query a backend over HTTP, run the SDK program against it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
