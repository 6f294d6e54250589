"""A real local backend in a subprocess: `logfire-notebook serve` on a free loopback port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import _dataset
import httpx
from _loopback import free_port


@dataclass
class Backend:
    base_url: str
    token: str
    data_dir: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    dataset: _dataset.Dataset | None = None
    log_path: Path | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)

    def client(self, **kwargs: Any) -> httpx.Client:
        """A plain httpx client with the token set, for tests of the raw wire."""
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": self.token}, timeout=60, **kwargs
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()


def start_backend(
    data_dir: Path,
    *,
    query_timeout: float | None = None,
    extra_args: tuple[str, ...] = (),
    port: int | None = None,
) -> Backend:
    """Create a token for `data_dir` and start `logfire-notebook serve` on it (on `port`, else a free one);
    waits until it answers."""
    from logfire_notebook.server.tokens import create_token

    cli = [sys.executable, "-m", "logfire_notebook.cli"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    # What `logfire-notebook token create` runs, without a Python process of its own for each server (that
    # command's own tests are in server/test_tokens_and_files.py).
    token = create_token(data_dir)
    port = port or free_port()
    args = [
        *cli,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *extra_args,
    ]
    if query_timeout is not None:
        args += ["--query-timeout", str(query_timeout)]
    log_path = data_dir.parent / f"{data_dir.name}-server.log"
    log = log_path.open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    backend = Backend(f"http://127.0.0.1:{port}", token, data_dir, process, log_path=log_path, _log=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the backend exited early:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{backend.base_url}/health", timeout=1).status_code == 200:
                return backend
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    backend.stop()
    raise RuntimeError(f"the backend did not start within 30 s:\n{log_path.read_text()}")
