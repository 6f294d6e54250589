"""`VAR` and `_` follow the widget: a range picked in a `%%logfire` cell's widget rebinds them to its rows.

Only names that still hold the widget's previous result are rebound, so a variable the user has since
assigned something else, or a `_` that a later cell replaced, is never overwritten. `%config
LogfireMagic.follow_widget = False` keeps the first result instead.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, MutableMapping
from typing import Any

__all__ = ["Follower"]


class Follower:
    """Called with each new DataFrame the widget shows (see `LogfireTable.on_result`)."""

    def __init__(
        self,
        namespace: MutableMapping[str, Any],
        names: tuple[str, ...],
        first: Any,
        convert: Callable[[Any], Any],
    ) -> None:
        self._namespace = namespace
        self._names = names
        self._current = first
        self._convert = convert
        self._lock = threading.Lock()

    def __call__(self, frame: Any) -> None:
        value = self._convert(frame)
        with self._lock:
            for name in self._names:
                if self._namespace.get(name) is self._current:
                    self._namespace[name] = value
            self._current = value
