"""Shared fixtures: real local backends (`logfire-notebook serve` subprocesses) over loopback HTTP.

- `backend` (session): a server on a data dir filled with the standard dataset of `tests/_dataset.py`.
  Attributes: `.base_url`, `.token`, `.data_dir`, and `.dataset` (the rows it was filled with, so tests can
  compute the answers they expect).
- `make_backend` (session factory): `make_backend(fill)` starts another server on its own data dir, first
  filled by `fill(store)`; `make_backend(fill, query_timeout=0.5)` sets the server's query time limit.
- `demo_data` (session factory): `demo_data(folder)` copies a data dir that `logfire-notebook demo --no-lab
  --records 1500` filled once per session (the data the examples are written for) into `folder`, so each
  user starts from the same data, may change it, and no one pays for a second fill.
All servers stop at the end of the session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Makes `import _dataset` / `from _backend import Backend` work from every test folder, and the package
# importable from a checkout that is not installed.
sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parent.parent))

import _dataset
from _backend import Backend, start_backend
from _home import isolate_user_dirs
from _loopback import free_port

# Before any test starts IPython, a kernel, JupyterLab, marimo or chromium: none of them writes into $HOME.
isolate_user_dirs()


def _filled_data_dir(data_dir: Path, fill: Callable[[Any], Any]) -> Any:
    from logfire_notebook.server.store import Store

    with Store(data_dir) as store:
        return fill(store)


@pytest.fixture(scope="session")
def backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    data_dir = tmp_path_factory.mktemp("backend") / "data"
    dataset = _filled_data_dir(data_dir, _dataset.fill)
    server = start_backend(data_dir)
    server.dataset = dataset
    yield server
    server.stop()


@pytest.fixture(scope="session")
def make_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Backend]]:
    started: list[Backend] = []

    def make(fill: Callable[[Any], Any] | None = None, *, query_timeout: float | None = None) -> Backend:
        data_dir = tmp_path_factory.mktemp("backend") / "data"
        result = _filled_data_dir(data_dir, fill or (lambda store: None))
        server = start_backend(data_dir, query_timeout=query_timeout)
        if isinstance(result, _dataset.Dataset):
            server.dataset = result
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


DEMO_RECORDS = 1500


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Callable[[Path], Path]:
    filled = tmp_path_factory.mktemp("demo-data") / "data"
    command = ["demo", "--no-lab", "--records", str(DEMO_RECORDS), "--data-dir", str(filled)]
    subprocess.run(
        [sys.executable, "-m", "logfire_notebook.cli", *command, "--port", str(free_port())],
        # No LOGFIRE_/OTEL_ settings of this process: the demo's services send to its own backend only.
        env={k: v for k, v in os.environ.items() if not k.startswith(("LOGFIRE_", "OTEL_"))},
        check=True,
        capture_output=True,
        timeout=600,
    )

    def copy_to(folder: Path) -> Path:
        shutil.copytree(filled, folder)
        return folder

    return copy_to
