"""A real JupyterLab server whose kernels talk to the `backend` fixture, and a headless Debian chromium.

The server runs from a temporary root holding the notebooks the tests write; its environment carries
LOGFIRE_READ_TOKEN / LOGFIRE_BASE_URL (so notebooks hold no token) and puts the checkout first on PYTHONPATH.
Screenshots go to test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, LAB_SETTINGS, ROOT, Lab, free_port


@pytest.fixture(scope="module")
def lab(backend: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    if not (ROOT / "logfire_notebook" / "static" / "widget.js").exists():
        pytest.fail("The widget bundle is missing: run `npm ci && npm run build` (scripts/setup does).")
    root = tmp_path_factory.mktemp("lab")
    settings = tmp_path_factory.mktemp("lab-settings")
    for name, value in LAB_SETTINGS.items():
        path = settings / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    port, token = free_port(), secrets.token_hex(16)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "LOGFIRE_READ_TOKEN": backend.token,
        "LOGFIRE_BASE_URL": backend.base_url,
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
        "PATH": os.pathsep.join((venv_bin, os.environ.get("PATH", ""))),
        "JUPYTERLAB_SETTINGS_DIR": str(settings),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path_factory.mktemp("lab-workspaces")),
        "JUPYTER_CONFIG_DIR": str(tmp_path_factory.mktemp("jupyter-config")),
    }
    log = (root.parent / "jupyterlab.log").open("wb")
    process = subprocess.Popen(
        [
            str(Path(venv_bin) / "jupyter"),
            "lab",
            "--no-browser",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={token}",
            "--allow-root",
            f"--ServerApp.root_dir={root}",
            "--ServerApp.disable_check_xsrf=True",
            "--LabApp.news_url=",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited; see {log.name}")
            try:
                if httpx.get(f"{url}/api/status", params={"token": token}, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start in 90 s; see {log.name}")
            time.sleep(0.3)
        yield Lab(url=url, token=token, root=root)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    yield page
    context.close()
