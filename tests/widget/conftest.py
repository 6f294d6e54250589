"""A real JupyterLab server whose kernels talk to the `backend` fixture, and a headless Debian chromium.

The server runs from a temporary root holding the notebooks the tests write; its environment carries
LOGFIRE_READ_TOKEN / LOGFIRE_BASE_URL and LOKI_ADDR (so notebooks hold no token); its kernels run the venv's
python, where the checkout is installed editable.
Screenshots go to test-artifacts/ (gitignored) for people to look at.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, LAB_SETTINGS, ROOT, Lab, LabPage
from _loopback import free_port, stop, wait_until_answering


@pytest.fixture(scope="session")
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
        "LOKI_ADDR": backend.base_url,  # the same server speaks Loki's API, as `logfire-notebook demo` sets it
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
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: a test opens its notebook in the app
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(
            process, f"{url}/api/status", what="JupyterLab", log=log.name, seconds=90, token=token
        )
        lab = Lab(url=url, token=token, root=root)
        yield lab
        lab.wait_for_shutdowns()
    finally:
        stop(process)
        log.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(autouse=True)
def _kernels_end_with_their_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test on the session's JupyterLab (once its page is closed), its kernels are shut down."""
    yield
    if "lab" in request.fixturenames:
        request.getfixturevalue("lab").shut_down_kernels()


_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Notes on the test whether its setup or call failed (the shared Lab page is dropped after one)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True


@pytest.fixture(scope="session")
def lab_page(browser: Any, lab: Lab) -> Iterator[LabPage]:
    shared = LabPage(browser, lab)
    yield shared
    shared.discard()


@pytest.fixture
def page(request: pytest.FixtureRequest, browser: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A chromium page. A test on the session's JupyterLab gets the page where JupyterLab is already loaded,
    with no document open (`LabPage`); a test marked `own_page` (one that needs Lab's boot itself, or another
    front end) and every other test get a page of a new browser context."""
    if "lab" not in request.fixturenames or request.node.get_closest_marker("own_page"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        yield context.new_page()
        context.close()
        return
    shared: LabPage = request.getfixturevalue("lab_page")
    page = shared.get()
    # The listeners a test adds (console, websocket frames) end with it, not with the shared page.
    added: list[tuple[str, Any]] = []

    def on(event: str, handler: Any) -> None:
        added.append((event, handler))
        type(page).on(page, event, handler)

    monkeypatch.setattr(page, "on", on)
    yield page
    for event, handler in added:
        page.remove_listener(event, handler)
    if request.node.stash.get(_FAILED, False):
        shared.discard()
    else:
        shared.clear()
