"""When a shown result's timeline may be counted: once the browser has painted the result's first rows.

On a small machine the kernel counting the timeline (Polars on a DataFrame, or the backend's count query,
and the message that carries it) shares the cores with the browser building and painting the first rows,
and delayed them by 25-45 ms (bench/table_scale.py). So a result whose timeline follows its rows counts it
once the view says its rows are painted: the browser sends `{"type": "painted", "revision": N}` in the task
after the frame that drew result N.

Nothing must wait on a browser that is not there, so the gate also opens:
- at once where no browser can paint (no IPython kernel: a script, pytest; marimo counts inline anyway);
- at the end of the cell that made the widget, if that cell did not display it (IPython's post_run_cell);
- while Python waits in `.df` (whoever reads it wants the whole run now: nbclient notebooks, scripts);
- PAINT_WAIT seconds after the result, for a view whose message never comes (nbclient, a closed tab).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator
from typing import Any

__all__ = ["PAINT_WAIT", "PaintGate", "frontend_may_paint"]

# The longest a count waits for the browser. A warm widget paints its first rows 100-160 ms after the cell
# runs (bench/table_scale.py, load ~1) and a cold one (its JavaScript not yet loaded) ~0.6 s later; past this,
# a view that never says so (nbclient, a closed tab) only delays the timeline.
PAINT_WAIT = 1.0


def frontend_may_paint() -> bool:
    """True in an IPython kernel (a notebook front end may show the widget); False in a script or terminal."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class PaintGate:
    """The revisions whose timeline may be counted now: those painted, or let through without a browser."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open_through = 0  # every revision up to this one may be counted
        self._hurried = 0  # threads in `hurried()`: every count goes at once
        self._waiters: list[tuple[int, asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    def open(self, revision: int) -> None:
        """Lets the counts of `revision` and every earlier one go (from any thread)."""
        with self._lock:
            self._open_through = max(self._open_through, revision)
            ready = [(loop, future) for r, loop, future in self._waiters if r <= revision]
            self._waiters = [w for w in self._waiters if w[0] > revision]
        _release_all(ready)

    @contextlib.contextmanager
    def hurried(self) -> Iterator[None]:
        """Within it every count goes at once, those waiting and those to come (`.df` waits for a run whose
        result it cannot name: a range picked in the browser may not have published its rows yet)."""
        with self._lock:
            self._hurried += 1
            ready = [(loop, future) for _, loop, future in self._waiters]
            self._waiters = []
        _release_all(ready)
        try:
            yield
        finally:
            with self._lock:
                self._hurried -= 1

    async def wait(self, revision: int) -> None:
        """Returns once `revision` may be counted, or after PAINT_WAIT seconds."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if revision <= self._open_through or self._hurried:
                return
            waiter = (revision, loop, future)
            self._waiters.append(waiter)
        try:
            await asyncio.wait_for(future, PAINT_WAIT)
        except asyncio.TimeoutError:
            pass  # no word from a browser: count anyway
        finally:
            with self._lock:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)


def _release_all(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    for loop, future in waiters:
        loop.call_soon_threadsafe(_release, future)


def _release(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)
