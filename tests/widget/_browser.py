"""Helpers shared by the widget's browser tests (a module of its own so that no other folder's conftest can
shadow it on import)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# JupyterLab settings that keep the page quiet: no news or update checks (no network), no popups.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    _shutdowns: list[threading.Thread] = field(default_factory=list)

    def write_notebook(self, name: str, *sources: str) -> str:
        """Writes a notebook of code cells, starts its kernel and returns its URL (with the server token).

        The kernel starts here, as a session for the notebook's path (what JupyterLab would start when the
        page opens it): it boots while chromium loads JupyterLab, which then connects to it, instead of
        after (2-3 s a test)."""
        import nbformat

        notebook = nbformat.v4.new_notebook()  # type: ignore[no-untyped-call]
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3",
            "language": "python",
        }
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]  # type: ignore[no-untyped-call]
        nbformat.write(notebook, self.root / name)  # type: ignore[no-untyped-call]
        session = {"path": name, "name": name, "type": "notebook", "kernel": {"name": "python3"}}
        self._api("POST", "sessions", json=session)
        return f"{self.url}/lab/tree/{name}?token={self.token}&reset"

    def shut_down_kernels(self) -> None:
        """Ends every session and its kernel, in a thread (a kernel takes about a second to exit, and the
        next test need not wait for it): a test's kernels would otherwise live, taking memory and CPU, until
        the session's end. `wait_for_shutdowns` joins these threads."""
        sessions = self._api("GET", "sessions").json()
        paths = [f"sessions/{session['id']}" for session in sessions]
        thread = threading.Thread(target=self._delete, args=(paths,))
        thread.start()
        self._shutdowns.append(thread)

    def _delete(self, paths: list[str]) -> None:
        for path in paths:
            self._api("DELETE", path, missing_ok=True)  # (404: that session had ended already)

    def wait_for_shutdowns(self) -> None:
        for thread in self._shutdowns:
            thread.join()

    def _api(self, method: str, path: str, *, missing_ok: bool = False, **kwargs: Any) -> httpx.Response:
        response = httpx.request(
            method, f"{self.url}/api/{path}", params={"token": self.token}, timeout=60, **kwargs
        )
        if not (missing_ok and response.status_code == 404):
            response.raise_for_status()
        return response


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
