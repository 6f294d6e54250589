"""The shared watchdog thread outlives an alarm that fails to fire: every later query is still stopped."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import duckdb

from logfire_notebook.server.watchdog import Watchdog


@dataclass(eq=False)
class _ClosedCursorAlarm:
    """An alarm whose statement's connection was closed just before it fired, as DuckDB then refuses."""

    at: float

    def fire(self) -> None:
        con = duckdb.connect()
        con.close()
        con.interrupt()  # raises duckdb.ConnectionException


@dataclass(eq=False)
class _Flag:
    at: float
    fired: threading.Event = field(default_factory=threading.Event)

    def fire(self) -> None:
        self.fired.set()


def test_an_alarm_that_raises_does_not_stop_the_next_one() -> None:
    watchdog = Watchdog()
    watchdog.watch(_ClosedCursorAlarm(time.monotonic()))
    later = _Flag(time.monotonic() + 0.2)
    watchdog.watch(later)
    assert later.fired.wait(10), "the watchdog thread died with the failing alarm: no later limit fires"
