"""Leaving with the parent: what the demo or the server starts goes once its parent is gone, even when the
parent was SIGKILLed (`kill -9`, the OOM killer, a CI timeout) and could not stop it.

In the process itself, `when_parent_gone(pid, leave)` (the server's decode workers, the demo services). For a
program that knows nothing of it, `python -m logfire_notebook.server.parent PID MODULE [ARG ...]` runs
`python -m MODULE ARG ...` in this process and stops it gracefully, with SIGTERM as `kill` does, once PID (its
parent) is gone: how the demo starts the backend (which then drains its connections and closes its database),
JupyterLab and marimo.
"""

from __future__ import annotations

import os
import runpy
import signal
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["POLL_SECONDS", "when_parent_gone"]

POLL_SECONDS = 0.5
"""How often the parent is looked for: about how long a process outlives it."""

USAGE = "usage: python -m logfire_notebook.server.parent PARENT_PID MODULE [ARG ...]"


def when_parent_gone(parent: int, leave: Callable[[], object]) -> None:
    """Calls `leave` in a daemon thread once this process's parent is no longer `parent`: it ended, and the
    process was handed to init (or a subreaper). The parent is named, not read here: it may be gone already."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(POLL_SECONDS)
        leave()

    threading.Thread(target=watch, name="leave-with-parent", daemon=True).start()


def _stop_gracefully() -> None:
    # uvicorn, JupyterLab and marimo take SIGTERM as Ctrl-C: they finish what runs and close what they hold.
    os.kill(os.getpid(), signal.SIGTERM)


def main(argv: list[str]) -> None:
    if len(argv) < 2 or not argv[0].isdigit():
        raise SystemExit(USAGE)
    when_parent_gone(int(argv[0]), _stop_gracefully)
    sys.argv = [argv[1], *argv[2:]]
    runpy.run_module(argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
