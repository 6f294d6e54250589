"""Gzip for answers, where it pays: clients that are not on this machine.

Logfire's service gzips answers for clients that send `Accept-Encoding: gzip` (the official SDK's httpx
client and ours do). Over loopback it does not pay: bench/gzip_answer.py measures a 10,000-row JSON answer
of whole records (17.8 MB) at 10.3x smaller but 1.17x slower end to end (about +0.3 s of compressing),
since loopback moves the raw bytes in milliseconds. Counting transfer time, gzip is 0.68x on a 100 Mbit/s
link and 1.09x on 1 Gbit/s. So the policy (`LOGFIRE_NOTEBOOK_GZIP`) is `remote` by default: gzip at level 1
(level 6 takes twice as long for 1.5x less) for clients on another host, plain bytes on loopback;
`always` and `never` override it (the benchmark uses them).
"""

from __future__ import annotations

import ipaddress
import os

from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["GZIP_ENV", "GzipWhereItPays"]

GZIP_ENV = "LOGFIRE_NOTEBOOK_GZIP"
# Small answers gain nothing worth a compressor's set-up.
_MINIMUM_SIZE = 4096
_LEVEL = 1


def _is_loopback(host: str | None) -> bool:
    if not host:
        return True  # no peer address (an in-process test client): treat as local
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return host == "localhost"


class GzipWhereItPays:
    """ASGI middleware: Starlette's GZipMiddleware for the requests the policy picks, the plain app for
    the rest."""

    def __init__(self, app: ASGIApp, policy: str | None = None) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=_MINIMUM_SIZE, compresslevel=_LEVEL)
        chosen = (policy or os.environ.get(GZIP_ENV) or "remote").strip().lower()
        if chosen not in ("remote", "always", "never"):
            raise ValueError(f"{GZIP_ENV} must be remote, always or never, got {chosen!r}")
        self.policy = chosen

    def _compress(self, scope: Scope) -> bool:
        if scope["type"] != "http" or self.policy == "never":
            return False
        if self.policy == "always":
            return True
        client = scope.get("client")
        return not _is_loopback(client[0] if client else None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await (self.gzip if self._compress(scope) else self.app)(scope, receive, send)
