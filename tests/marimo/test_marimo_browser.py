"""The quickstart in a real `marimo edit` session driven by chromium: what the data-sources panel receives."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "marimo_quickstart.py"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def marimo_url(backend: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **os.environ,
        "LOGFIRE_READ_TOKEN": backend.token,
        "LOGFIRE_BASE_URL": backend.base_url,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "HOME": str(tmp_path),  # no user marimo config
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "marimo", "edit", "--headless", "--no-token", "-p", str(port), str(EXAMPLE)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"marimo edit did not start: {process.stderr.read().decode() if process.stderr else ''}"
                )
            time.sleep(0.3)
        yield url
    finally:
        # marimo runs the notebook's kernel in a child process: stop the whole group this test started.
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        if process.stderr:
            process.stderr.close()


def test_data_sources_panel_receives_records_and_metrics(marimo_url: str, backend: Any) -> None:
    from playwright.sync_api import sync_playwright

    messages: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        if '"data-source-connections"' in text:
            messages.append(json.loads(text))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
            page.goto(marimo_url)
            page.locator("[data-testid=cell-editor]").first.click(timeout=60_000)
            page.keyboard.press("Control+Shift+R")  # run all cells
            deadline = time.monotonic() + 60
            while not messages and time.monotonic() < deadline:
                page.wait_for_timeout(250)
            page_text = page.locator("body").inner_text()
        finally:
            browser.close()

    assert messages, "marimo never announced a data source"
    [connection] = messages[-1]["data"]["connections"]
    assert (connection["name"], connection["source"], connection["dialect"]) == ("conn", "adbc", "postgresql")
    [database] = connection["databases"]
    [schema] = database["schemas"]
    assert (database["name"], schema["name"]) == ("logfire", "public")
    assert [t["name"] for t in schema["tables"]] == ["records", "metrics"]
    assert backend.token not in page_text
