"""When a Loki query must stop: at the server's query time limit, or as soon as its client goes away.

Python loops call `check()` between batches; a DuckDB statement run inside `watching(cursor)` is interrupted
in the middle (as the SQL engine's queries are), so one long statement cannot outlive the limit either.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

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
        self._interrupt()

    def check(self) -> None:
        if self.cancelled.is_set():
            raise LokiCancelled
        if time.monotonic() > self.at:
            raise LokiTimeout(TIMED_OUT)

    def _interrupt(self) -> None:
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
            _WATCHDOG.watch(self)
        try:
            yield
        except duckdb.InterruptException:
            self.check()
            raise LokiTimeout(TIMED_OUT) from None
        finally:
            with self._lock:
                self._cursors.discard(cursor)
                if not self._cursors:
                    _WATCHDOG.unwatch(self)


class _Watchdog:
    """One daemon thread for every query's time limit: it interrupts the statements of deadlines that have
    passed. A timer thread started per query cost ~2 ms a statement (the new thread competes for the GIL while
    DuckDB runs), so this thread is shared and woken only when a deadline comes before its next wake-up; a
    query's deadline is almost always later than the ones before it, so it is woken about once a time limit."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._cond = threading.Condition()
        self._watched: set[Deadline] = set()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> None:
        with self._cond:
            self._watched.add(deadline)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loki-deadlines", daemon=True)
                self._thread.start()
            if deadline.at < self._wake_at:
                self._wake_at = deadline.at
                self._cond.notify()

    def unwatch(self, deadline: Deadline) -> None:
        with self._cond:
            self._watched.discard(deadline)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = {d for d in self._watched if d.at <= now}
                self._watched -= due
                self._wake_at = min((d.at for d in self._watched), default=math.inf)
                if not due:
                    self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)
                    continue
            # Outside the condition's lock: `_interrupt` takes the deadline's lock, which `watch` is called under.
            for deadline in due:
                deadline._interrupt()


_WATCHDOG = _Watchdog()
# A forked child has no watchdog thread, only the parent's record of one: it starts its own.
os.register_at_fork(after_in_child=_WATCHDOG.reset)
