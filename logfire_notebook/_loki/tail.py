"""Loki's tail API, from the kernel: `/loki/api/v1/tail`, a WebSocket on which Loki sends new entries.

`LokiTail` keeps one connection open (on the widget's event loop) and gathers what arrives; Live mode takes
it (`take()`) on each of the browser's polls, so the browser only ever talks to the kernel and the credentials
(the client's `Authorization` and `X-Scope-OrgID` headers) stay in it. A dropped connection is opened again
after a pause that doubles from 1 s to 30 s, from the newest entry already had, and the entries it had at that
instant are dropped from the new answer. A refusal (a bad query, bad credentials, no tail API) ends it:
`take()` then raises one sentence saying why.

```python
tail = client.tail('{service_name="checkout"}', start=datetime.now(timezone.utc))  # an AsyncLokiClient's
await asyncio.sleep(5); new = tail.take()        # a table like query_range's, newest first
await tail.aclose()
```
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec

from logfire_notebook._exceptions import LogfireError
from logfire_notebook._loki import decode

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["LokiTail", "keys_at", "tail_url"]

FIRST_PAUSE = 1.0
LONGEST_PAUSE = 30.0
"""Seconds between two attempts to connect again: from the first, doubling up to the longest."""

# Close codes and HTTP answers that no retry changes: Loki's "policy violation" for a bad query, and a refused
# handshake (401 bad credentials, 403, 404 no tail API, 400).
_BAD_REQUEST = 1008
_FINAL_STATUS = frozenset({400, 401, 403, 404})


class _Frame(msgspec.Struct):
    streams: msgspec.Raw = msgspec.Raw(b"[]")


def tail_url(addr: str, query: str, start_ns: int, limit: int) -> str:
    """The tail endpoint under a Loki address (`http` becomes `ws`, `https` `wss`; a path prefix is kept)."""
    base = addr.rstrip("/")
    if base.startswith("https://"):
        base = "wss://" + base.removeprefix("https://")
    elif base.startswith("http://"):
        base = "ws://" + base.removeprefix("http://")
    params = urlencode({"query": query, "start": str(start_ns), "limit": str(limit)})
    return f"{base}/loki/api/v1/tail?{params}"


class LokiTail:
    """One query followed on Loki's tail API; see the module docstring. Made (and closed) on a running loop."""

    def __init__(
        self,
        addr: str,
        headers: Mapping[str, str],
        query: str,
        *,
        start_ns: int,
        seen: set[tuple[Any, ...]] | None = None,
        limit: int = 100,
        scrub: Any = None,
    ) -> None:
        self._addr, self._headers, self._query, self._limit = addr, dict(headers), query, limit
        self._scrub = scrub if scrub is not None else (lambda text: text)
        self._newest = start_ns
        self._seen: set[tuple[Any, ...]] = set(seen or ())  # (ts, line, labels) already had at `_newest`
        self._pending: list[pa.Table] = []
        self._failure: str | None = None
        self.connects = 0
        """Connections opened so far (tests and the bench read it)."""
        self.connected = asyncio.Event()
        self._task = asyncio.ensure_future(self._follow())

    def take(self) -> pa.Table | None:
        """The entries that arrived since the last call, newest first (None: none); raises `LogfireError`
        once the tail has ended for good."""
        import pyarrow as pa

        if self._failure is not None and not self._pending:
            raise LogfireError(self._failure)
        if not self._pending:
            return None
        table = decode.sort_entries(pa.concat_tables(self._pending), "backward")
        self._pending = []
        # Only the newest `limit` can show; more would only fill memory while the page is hidden.
        return table.slice(0, self._limit)

    async def aclose(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _follow(self) -> None:
        from websockets.exceptions import ConnectionClosed, InvalidStatus

        pause = FIRST_PAUSE
        while True:
            try:
                await self._session()
            except InvalidStatus as exc:
                status = exc.response.status_code
                if status in _FINAL_STATUS:
                    return self._fail(f"Loki refused to tail the query (HTTP {status}{_body(exc)})")
            except ConnectionClosed as exc:
                if exc.rcvd is not None and exc.rcvd.code == _BAD_REQUEST:
                    return self._fail(f"Loki refused to tail the query: {exc.rcvd.reason}")
                pause = FIRST_PAUSE if self.connected.is_set() else pause
            except (OSError, asyncio.TimeoutError, msgspec.DecodeError, LogfireError):
                pass  # unreachable for now, or a frame cut short: try again after the pause
            self.connected.clear()
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_PAUSE)

    def _fail(self, message: str) -> None:
        self._failure = self._scrub(message) + "."

    async def _session(self) -> None:
        from websockets.asyncio.client import connect

        url = tail_url(self._addr, self._query, self._newest, self._limit)
        headers = {**self._headers, "X-Loki-Response-Encoding-Flags": "categorize-labels"}
        async with connect(url, additional_headers=headers, open_timeout=30, max_size=2**26) as ws:
            self.connects += 1
            self.connected.set()
            async for message in ws:
                self._receive(message if isinstance(message, bytes) else message.encode())

    def _receive(self, body: bytes) -> None:
        frame = msgspec.json.decode(body, type=_Frame)
        table = decode.decode_values("streams", bytes(frame.streams), "forward")
        if self._seen and table.num_rows:
            table = _drop_seen(table, self._newest, self._seen)
        if not table.num_rows:
            return
        self._pending.append(table)
        newest = int(table.column("timestamp").cast("int64")[table.num_rows - 1].as_py())  # forward: last
        if newest > self._newest:
            self._newest, self._seen = newest, keys_at(table, newest)
        elif newest == self._newest:
            self._seen |= keys_at(table, newest)


def keys_at(table: pa.Table, stamp_ns: int) -> set[tuple[Any, ...]]:
    """(ns, line, labels) of a table's entries at one instant (a handful): what a reconnect must not repeat.
    Takes Loki's tables as decoded (labels a map) and as the widget holds them (a list of key/value structs)."""
    import pyarrow.compute as pc

    at = table.filter(pc.equal(table.column("timestamp").cast("int64"), stamp_ns))
    return {
        (stamp_ns, row["line"], _pairs(row["labels"])) for row in at.select(["line", "labels"]).to_pylist()
    }


def _pairs(labels: Any) -> tuple[tuple[str, str], ...]:
    items = [(p["key"], p["value"]) if isinstance(p, dict) else tuple(p) for p in labels or ()]
    return tuple(sorted(items))


def _drop_seen(table: pa.Table, stamp_ns: int, seen: set[tuple[Any, ...]]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    stamps = table.column("timestamp").cast("int64")
    at = pc.equal(stamps, stamp_ns)
    if not pc.any(at).as_py():
        return table
    keep = [
        not (stamp == stamp_ns and (stamp_ns, line, _pairs(labels)) in seen)
        for stamp, line, labels in zip(
            stamps.to_pylist(),
            table.column("line").to_pylist(),
            table.column("labels").to_pylist(),
            strict=True,
        )
    ]
    return table.filter(pa.array(keep))


def _body(exc: Any) -> str:
    body = getattr(exc.response, "body", b"") or b""
    text = body.decode(errors="replace").strip().splitlines()[0][:200] if body.strip() else ""
    return f": {text}" if text else ""
