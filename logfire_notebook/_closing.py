"""What every client of the package does with the httpx client it owns: close it in `close()` and at the end
of a `with` (sync) or `async with` (async) block. Written once for the Logfire and the Loki clients."""

from __future__ import annotations

from types import TracebackType
from typing import TypeVar

import httpx

__all__ = ["SYNC_ONLY", "ClosesAsyncClient", "ClosesSyncClient"]

# httpx.Client options whose values are synchronous objects an httpx.AsyncClient cannot use: a sync client
# given one of them cannot make its async twin.
SYNC_ONLY = frozenset({"transport", "mounts", "event_hooks"})

_Sync = TypeVar("_Sync", bound="ClosesSyncClient")
_Async = TypeVar("_Async", bound="ClosesAsyncClient")


class ClosesSyncClient:
    client: httpx.Client

    def __enter__(self: _Sync) -> _Sync:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()


class ClosesAsyncClient:
    client: httpx.AsyncClient

    async def __aenter__(self: _Async) -> _Async:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        await self.client.aclose()
