"""A LogfireTable that keeps what it sends to the browser, for the kernel-side widget tests (a module of its own,
like _browser, so that no other folder's conftest can shadow it on import)."""

from __future__ import annotations

from typing import Any

from logfire_notebook import LogfireTable


class Captured(LogfireTable):
    """Keeps what the widget sends to the browser (custom messages and their binary buffers)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        super().__init__(*args, **kwargs)

    def send(self, content: Any, buffers: Any = None) -> None:
        self.sent.append((content, list(buffers or [])))
