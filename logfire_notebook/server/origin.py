"""Who may talk to the local backend: its own origin over its own host names, not any web page.

A loopback server still faces the browser: any page the user opens can send a cross-origin POST that needs
no preflight (`/v1/traces` with no Content-Type), and a DNS-rebinding page reaches it under a name of its
own. `OriginGuard` (ASGI middleware, in front of every route, Loki's included) refuses with 403

- a `Host` that is not a loopback name (`localhost`, `127.0.0.1`, `::1`) or one the server was told to
  answer to (`--host`); a server bound to every interface (`0.0.0.0`) answers to any name;
- an `Origin` (browsers send one with every cross-origin request, and with same-origin POSTs) that is not
  the server's own: the scheme, host and port the request was sent to.

WebSockets (Loki's tail) are checked the same way: browsers send their Origin with the handshake.

Clients that are not browsers (SDKs, httpx, curl) send no Origin and pass. The server sends no CORS
headers, so a page cannot read an answer either.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = ["LOOPBACK_NAMES", "OriginGuard", "allowed_hosts"]

LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
_EVERY_INTERFACE = frozenset({"0.0.0.0", "::", ""})


def allowed_hosts(bind_host: str | None) -> frozenset[str] | None:
    """The host names a server bound to `bind_host` answers to; None means any (bound to every interface)."""
    if bind_host is None:
        return LOOPBACK_NAMES
    name = bind_host.strip("[]").lower()
    if name in _EVERY_INTERFACE:
        return None
    return LOOPBACK_NAMES | {name}


def _split_host(value: str) -> tuple[str, str]:
    """`host[:port]` (IPv6 in brackets) → (host, port); lower-case host without brackets."""
    value = value.strip().lower()
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        return host, rest.removeprefix(":")
    host, _, port = value.rpartition(":") if value.count(":") == 1 else (value, "", "")
    return host, port


def _is_loopback_ip(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OriginGuard:
    def __init__(self, app: ASGIApp, hosts: Iterable[str] | None = LOOPBACK_NAMES) -> None:
        self.app = app
        self.hosts = None if hosts is None else frozenset(h.lower() for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        problem = self._problem(scope, headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            # A WebSocket is no subject of CORS: a page of any site may open one to a Loki tail and read
            # every line. Closing before accepting answers the handshake with 403.
            await send({"type": "websocket.close", "code": 1008, "reason": problem[:120]})
            return
        body = json.dumps({"detail": problem}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _problem(self, scope: Scope, headers: dict[str, str]) -> str | None:
        host_header = headers.get("host", "")
        host, port = _split_host(host_header)
        if self.hosts is not None and host not in self.hosts and not _is_loopback_ip(host):
            return (
                f"This server answers only to {', '.join(sorted(self.hosts))}, not {host_header!r}; "
                "use http://127.0.0.1:<port>, or start it with --host <that name>."
            )
        origin = headers.get("origin")
        if origin is None:
            return None
        parts = urlsplit(origin.strip().lower())
        # A browser's Origin names the page's http(s) scheme, also for the ws(s) URL it opens.
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        default_port = "443" if scheme == "https" else "80"
        try:
            origin_port = str(parts.port) if parts.port else default_port
        except ValueError:  # not a port number
            origin_port = ""
        same = (
            parts.scheme == scheme
            and (parts.hostname or "") == host
            and origin_port == (port or default_port)
        )
        if same:
            return None
        return (
            f"Requests from web pages of other origins ({origin}) are refused; the local backend takes "
            "queries and telemetry from programs, not from other sites in a browser."
        )
