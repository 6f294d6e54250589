"""One daemon thread for every query's time limit, shared by the SQL engine and the Loki API.

A query registers an `Alarm` (when it must stop, and how to stop it) while its statements run, and removes it
when they are done. A timer thread started per query cost ~2 ms a statement (the new thread competes for the
GIL while DuckDB runs), so this thread is shared and woken only when an alarm comes before its next wake-up;
a query's alarm is almost always later than the ones before it, so it is woken about once a time limit.
"""

from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from typing import Protocol

__all__ = ["WATCHDOG", "Alarm", "Watchdog"]


class Alarm(Protocol):
    """What the watchdog needs of a query: when it must stop (`time.monotonic()` seconds) and how."""

    @property
    def at(self) -> float: ...

    def fire(self) -> None:
        """Stops the query's running statements; called once, on the watchdog's thread."""


class Watchdog:
    """Fires each watched alarm once its time comes, unless it is unwatched first."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._cond = threading.Condition()
        self._watched: set[Alarm] = set()
        self._wake_at = math.inf
        self._thread: threading.Thread | None = None

    def watch(self, alarm: Alarm) -> None:
        with self._cond:
            self._watched.add(alarm)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="query-time-limits", daemon=True)
                self._thread.start()
            if alarm.at < self._wake_at:
                self._wake_at = alarm.at
                self._cond.notify()

    def unwatch(self, alarm: Alarm) -> None:
        with self._cond:
            self._watched.discard(alarm)

    def _run(self) -> None:
        while True:
            with self._cond:
                now = time.monotonic()
                due = {a for a in self._watched if a.at <= now}
                self._watched -= due
                self._wake_at = min((a.at for a in self._watched), default=math.inf)
                if not due:
                    self._cond.wait(None if self._wake_at == math.inf else self._wake_at - now)
                    continue
            # Outside the condition's lock: an alarm's `fire` may take a lock that `watch` is called under.
            for alarm in due:
                # E.g. DuckDB refuses to interrupt a connection closed as its statement ended: that query is
                # over anyway, and this thread must live on, or no later query would ever be stopped.
                with contextlib.suppress(Exception):
                    alarm.fire()


WATCHDOG = Watchdog()
# A forked child has no watchdog thread, only the parent's record of one: it starts its own.
os.register_at_fork(after_in_child=WATCHDOG.reset)
