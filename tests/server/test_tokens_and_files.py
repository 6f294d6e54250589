"""Read tokens under concurrent `token create`, a corrupt tokens file, and owner-only data files."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _backend import Backend, start_backend
from _loopback import free_port

CLI = [sys.executable, "-m", "logfire_notebook.cli"]


def _create(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "token", "create", "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=120
    )


def test_concurrent_token_creates_all_land_and_all_work(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with ThreadPoolExecutor(16) as pool:
        done = list(pool.map(lambda _: _create(data_dir), range(16)))
    assert [d.returncode for d in done] == [0] * 16, [d.stderr for d in done]
    tokens = [d.stdout.strip() for d in done]
    server = start_backend(data_dir)
    try:
        for token in tokens:
            response = httpx.get(f"{server.base_url}/v1/read-token-info", headers={"Authorization": token})
            assert response.status_code == 200
    finally:
        server.stop()


def test_a_corrupt_tokens_file_is_a_clear_startup_error_and_token_create_keeps_it(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _create(data_dir).returncode == 0
    (data_dir / "tokens.json").write_text('{"tokens": [')
    create = _create(data_dir)
    assert create.returncode == 1
    assert create.stderr.startswith("logfire-notebook: the tokens file") and "Traceback" not in create.stderr
    serve = subprocess.run(
        [*CLI, "serve", "--data-dir", str(data_dir), "--port", "1"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert serve.returncode == 1
    assert serve.stderr.startswith("logfire-notebook: the tokens file") and "Traceback" not in serve.stderr
    assert (data_dir / "tokens.json").read_text() == '{"tokens": ['  # nothing overwritten


def test_the_data_dir_and_its_files_are_owner_only(make_backend) -> None:  # type: ignore[no-untyped-def]
    server: Backend = make_backend()
    with server.client() as client:
        assert (
            client.post(
                "/v2/query", json={"sql": "SELECT 1 AS x", "min_timestamp": "2020-01-01T00:00:00Z"}
            ).status_code
            == 200
        )
    assert (
        httpx.post(
            f"{server.base_url}/v1/traces",
            content=b"",
            headers={"Content-Type": "application/x-protobuf"},
            timeout=60,
        ).status_code
        == 200
    )
    paths = [server.data_dir, *server.data_dir.iterdir()]
    assert any(p.name == "logfire.duckdb" for p in paths)
    for path in paths:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode & 0o077 == 0, f"{path.name} is {oct(mode)}"


def test_serve_says_what_it_speaks_and_the_whole_path_of_its_data(tmp_path: Path) -> None:
    # As the README has it: `--data-dir ./data`, relative to where the user is.
    process = subprocess.Popen(
        [*CLI, "serve", "--data-dir", "./data", "--port", str(free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
    finally:
        process.terminate()
        process.wait(timeout=30)
        assert process.stdout is not None
        process.stdout.close()
    assert "Logfire's query API, Loki's API and OTLP ingest on http://127.0.0.1:" in line, line
    assert line.rstrip().endswith(f"(data in {tmp_path / 'data'})"), line
