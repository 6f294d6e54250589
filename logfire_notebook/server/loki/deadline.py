"""When a Loki query must stop: at the server's query time limit, or as soon as its client goes away.

Python loops call `check()` between batches; a DuckDB statement run inside `watching(cursor)` is interrupted
in the middle by the watchdog thread the SQL engine's queries share (`server/watchdog.py`), so one long
statement cannot outlive the limit either.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

from logfire_notebook.server.watchdog import WATCHDOG

__all__ = ["TIMED_OUT", "Deadline", "LokiCancelled", "LokiTimeout"]

TIMED_OUT = (
    "request timed out, decrease the duration of the request or add more label matchers "
    "(prefer exact match over regex match) to reduce the amount of data processed"
)
"""Loki's own words for a query past its time limit (sent with 504)."""


class LokiTimeout(Exception):
    """The query ran past its time limit (HTTP 504)."""


class LokiCancelled(Exception):
    """The client went away; nobody is waiting for the answer."""


class Deadline:
    """When a query must stop: its time limit, or as soon as `cancel()` is called (the client is gone)."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds
        self.cancelled = threading.Event()
        self._lock = threading.Lock()
        self._cursors: set[Any] = set()

    def cancel(self) -> None:
        self.cancelled.set()
        self.fire()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise LokiCancelled
        if time.monotonic() > self.at:
            raise LokiTimeout(TIMED_OUT)

    def fire(self) -> None:
        """Interrupts the statements running inside `watching` (the shared watchdog calls it at `at`)."""
        with self._lock:
            for cursor in self._cursors:
                cursor.interrupt()

    @contextlib.contextmanager
    def watching(self, cursor: Any) -> Iterator[None]:
        """DuckDB statements run on `cursor` inside this block stop at the time limit or on `cancel()`; the
        interruption comes out as `LokiTimeout` or `LokiCancelled`."""
        import duckdb

        self.check()
        with self._lock:
            self._cursors.add(cursor)
            WATCHDOG.watch(self)
        try:
            yield
        except duckdb.InterruptException:
            self.check()
            raise LokiTimeout(TIMED_OUT) from None
        finally:
            with self._lock:
                self._cursors.discard(cursor)
                if not self._cursors:
                    WATCHDOG.unwatch(self)
