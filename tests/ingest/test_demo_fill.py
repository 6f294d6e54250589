"""`logfire-notebook demo --no-lab` fills a backend with 100,000+ realistic records through the SDK."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from _backend import Backend, start_backend
from _ingest_helpers import ROOT, count, rows

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_demo(data_dir: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGFIRE_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
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
        ],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


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


def test_second_demo_run_reuses_data_and_token(
    demo: tuple[Backend, subprocess.CompletedProcess[str], Path],
) -> None:
    backend, _, data_dir = demo
    token_file = data_dir / "demo_token"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = token_file.read_text().strip()
    before = count(backend)
    backend.stop()  # one server per data dir; this is the module's last test
    again = run_demo(data_dir, data_dir.parent)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "already holds demo data" in again.stdout
    assert token not in again.stdout + again.stderr
    assert token_file.read_text().strip() == token
    restarted = start_backend(data_dir)
    try:
        assert count(restarted) == before
    finally:
        restarted.stop()
