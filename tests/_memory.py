"""The memory a server process and its children hold, read from /proc (Linux), for the bound tests."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from _processes import descendants

MiB = 1024 * 1024


def resident_bytes(pid: int) -> int:
    """Resident memory of `pid` and every process below it."""
    total = 0
    for proc in [pid, *descendants(pid)]:
        try:
            pages = int(Path(f"/proc/{proc}/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        total += pages * os.sysconf("SC_PAGE_SIZE")
    return total


class PeakMemory:
    """Samples `resident_bytes(pid)` every 20 ms while in the `with` block; `.peak` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = resident_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, resident_bytes(self.pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
