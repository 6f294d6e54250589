"""The quickstart in a real `marimo edit` session driven by chromium: what the data-sources panel receives."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from _loopback import free_port

from logfire_notebook._schema import RECORDS

ROOT = Path(__file__).parents[2]
EXAMPLE = ROOT / "examples" / "marimo_quickstart.py"
CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def marimo_url(backend: Any, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    notebook = tmp_path / EXAMPLE.name  # marimo edit may save the file; keep the repository's copy untouched
    shutil.copy(EXAMPLE, notebook)
    env = {
        **os.environ,
        "LOGFIRE_READ_TOKEN": backend.token,
        "LOGFIRE_BASE_URL": backend.base_url,
        "HOME": str(tmp_path),  # no user marimo config
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "marimo", "edit", "--headless", "--no-token", "-p", str(port), str(notebook)],
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


def test_live_data_sources_panel_lists_tables_and_their_columns(marimo_url: str, backend: Any) -> None:
    from playwright.sync_api import sync_playwright

    messages: dict[str, list[dict[str, Any]]] = {"data-source-connections": [], "sql-table-preview": []}
    session: list[str] = []
    server_token: list[str] = []  # marimo's skew-protection header, as the page itself sends it

    def on_request(request: Any) -> None:
        token = request.headers.get("marimo-server-token")
        if token:
            server_token.append(token)

    def on_frame(payload: str | bytes) -> None:
        text = payload if isinstance(payload, str) else payload.decode("utf-8", "replace")
        for op, received in messages.items():
            if f'"op": "{op}"' in text or f'"op":"{op}"' in text:
                received.append(json.loads(text))

    def on_websocket(ws: Any) -> None:
        session.extend(parse_qs(urlparse(ws.url).query).get("session_id", []))
        ws.on("framereceived", on_frame)

    def wait_for(op: str, page: Any) -> None:
        deadline = time.monotonic() + 60
        while not messages[op] and time.monotonic() < deadline:
            page.wait_for_timeout(250)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("websocket", on_websocket)
            page.on("request", on_request)
            page.goto(marimo_url)
            page.locator("[data-testid=cell-editor]").first.click(timeout=60_000)
            page.keyboard.press("Control+Shift+R")  # run all cells
            wait_for("data-source-connections", page)
            # What the panel asks when a table is expanded.
            status = page.evaluate(
                """async ([sessionId, serverToken]) => (await fetch('/api/datasources/preview_sql_table', {
                    method: 'POST',
                    headers: {'Content-Type': 'application/json', 'Marimo-Session-Id': sessionId,
                              'Marimo-Server-Token': serverToken},
                    body: JSON.stringify({requestId: 'r1', engine: 'logfire', database: 'logfire',
                                          schema: 'public', tableName: 'records'}),
                })).status""",
                [session[0], server_token[-1]],
            )
            wait_for("sql-table-preview", page)
            page_text = page.locator("body").inner_text()
        finally:
            browser.close()

    announced = messages["data-source-connections"]
    assert announced, "marimo never announced a data source"
    [connection] = announced[-1]["data"]["connections"]
    assert (connection["name"], connection["source"], connection["dialect"]) == (
        "logfire",
        "adbc",
        "postgresql",
    )
    # What the panel and each SQL cell's engine picker show (marimo: dialect, then the variable's name).
    assert connection["display_name"] == "postgresql (logfire)"
    assert "PostgreSQL (logfire)" in page_text
    [database] = connection["databases"]
    [schema] = database["schemas"]
    assert (database["name"], schema["name"]) == ("logfire", "public")
    assert [t["name"] for t in schema["tables"]] == ["records", "metrics"]
    assert backend.token not in page_text

    assert status == 200 and messages["sql-table-preview"]
    table = messages["sql-table-preview"][-1]["data"]["table"]
    columns = {c["name"]: (c["type"], c["external_type"]) for c in table["columns"]}
    assert list(columns) == [c.name for c in RECORDS]
    assert columns["start_timestamp"] == ("datetime", "timestamp[us, tz=UTC]")
    assert columns["level"] == ("integer", "int32") and columns["tags"][0] == "unknown"
