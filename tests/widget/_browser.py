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
        # trust_env=False: kernel shutdowns call this from a thread while pytest sets and unsets
        # PYTEST_CURRENT_TEST, and httpx reading the environment's proxies then met a changed os.environ
        # (KeyError, an error in the next test's setup). The server is on loopback: no proxy applies.
        response = httpx.request(
            method,
            f"{self.url}/api/{path}",
            params={"token": self.token},
            timeout=60,
            trust_env=False,
            **kwargs,
        )
        if not (missing_ok and response.status_code == 404):
            response.raise_for_status()
        return response


# Closes every document of the JupyterLab app the page shows (marked saved first: a notebook that ran is
# modified, and Lab would ask whether to save it) and resolves once they are gone; the launcher stays (Lab
# would open another when its main area is empty). Then forgets the widget bundle the page loaded
# (`js/src/loader.ts`), so each test meets the widget as a freshly loaded page does.
CLEAR_LAB = """async () => {
  const app = window.jupyterapp;
  const widgets = [...app.shell.widgets('main')].filter((widget) => widget.context);
  for (const widget of widgets) {
    widget.context.model.dirty = false;
    widget.close();
  }
  const deadline = Date.now() + 30000;
  while (widgets.some((widget) => !widget.isDisposed)) {
    if (Date.now() > deadline) throw new Error('JupyterLab did not close its documents');
    await new Promise((r) => setTimeout(r, 20));
  }
  delete globalThis.__logfireNotebookBundles;
  document.querySelectorAll('style[data-bundle^="logfire-notebook-"]').forEach((s) => s.remove());
}"""


class LabPage:
    """One chromium page showing the session's JupyterLab, kept across tests: JupyterLab loads once (7-8 s a
    test on a 2-core machine) and each test opens its notebook in the running app, as a user opens one
    notebook after another. Between tests every document is closed (`clear`); a test that failed leaves the
    page in a state no one knows, so the page is dropped (`discard`) and the next test loads a new one."""

    def __init__(self, browser: Any, lab: Lab) -> None:
        self._browser, self._lab = browser, lab
        self._context: Any = None
        self._page: Any = None

    def get(self) -> Any:
        """The page, with JupyterLab loaded (once) and no document open."""
        if self._page is None:
            self._context = self._browser.new_context(viewport={"width": 1400, "height": 1000})
            try:
                page = self._context.new_page()
                page.goto(f"{self._lab.url}/lab?token={self._lab.token}&reset")
                page.wait_for_function("() => window.jupyterapp", timeout=60_000)
                page.evaluate("() => window.jupyterapp.restored.then(() => undefined)")
            except Exception:
                self.discard()
                raise
            self._page = page
        return self._page

    def clear(self) -> None:
        """Closes every document; drops the page if even that fails (a dialog in the way, a crashed tab)."""
        if self._page is None:
            return
        try:
            self._page.evaluate(CLEAR_LAB)
        except Exception:
            self.discard()
            raise

    def discard(self) -> None:
        if self._context is not None:
            self._context.close()
        self._context = self._page = None


def open_notebook(page: Any, lab: Lab, name: str, *sources: str) -> None:
    """Writes a notebook (`Lab.write_notebook`, its kernel starting) and opens it: in the JupyterLab app the
    page already shows (a `LabPage`), by JupyterLab's own command for opening a file, else by loading
    JupyterLab on the notebook's URL."""
    url = lab.write_notebook(name, *sources)
    if page.evaluate("() => Boolean(window.jupyterapp)"):
        page.evaluate(
            "(path) => window.jupyterapp.commands.execute('docmanager:open', { path }).then(() => undefined)",
            name,
        )
    else:
        page.goto(url)


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
