"""The server and the limit on open files: each connection takes one, and past the limit no one is accepted.

`raise_open_files_limit()` lifts the soft limit to the hard one at start, as many servers do. `Server` is
uvicorn's server with a quiet log for the time it is at the limit anyway: asyncio logs a traceback for each
connection it fails to accept then, and tries up to the backlog (2,048) of them in a row each time (Python
3.11 here): 12,000 tracebacks, 5 MB of log, in 9 s at the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time
from typing import Any

import uvicorn

__all__ = ["Server", "raise_open_files_limit"]

ACCEPT_OUT_OF_FILES = "socket.accept() out of system resource"
"""asyncio's message for a connection it could not accept for lack of files (or of memory)."""
SAY_AGAIN_AFTER = 60.0
"""Seconds between two notes in the log while the server stays at the limit."""


def raise_open_files_limit() -> None:
    """Raises the soft limit on open files to the hard one (the common soft default of 1,024 is few for a
    server: every connection takes a file)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):  # macOS refuses an unlimited soft limit: keep the soft one
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _open_files_limit() -> str:
    try:
        import resource
    except ImportError:
        return "the system's"
    return str(resource.getrlimit(resource.RLIMIT_NOFILE)[0])


class _QuietAcceptErrors:
    """A loop exception handler: one sentence a minute for failed accepts, the default handler for the rest."""

    def __init__(self) -> None:
        self._said_at = -SAY_AGAIN_AFTER

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") != ACCEPT_OUT_OF_FILES:
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self._said_at >= SAY_AGAIN_AFTER:
            self._said_at = now
            print(
                f"logfire-notebook: cannot accept new connections: {context.get('exception')} "
                f"(at most {_open_files_limit()} open files); they wait until open ones close",
                file=sys.stderr,
                flush=True,
            )


class Server(uvicorn.Server):
    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        asyncio.get_running_loop().set_exception_handler(_QuietAcceptErrors())
        await super().serve(sockets)
