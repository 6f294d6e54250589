"""The processes a test started, read from Linux's /proc: which still run, what they are, what they started."""

from __future__ import annotations

import time
from pathlib import Path


def running(pid: int) -> bool:
    """Whether `pid` runs (a zombie, left for a PID 1 that does not reap, counts as ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (OSError, IndexError):
        return False


def descendants(pid: int) -> list[int]:
    """The running processes `pid` started, and theirs, whatever their session."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(proc.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        started = children.get(todo.pop(), [])
        found.extend(started)
        todo.extend(started)
    return found


def command_line(pid: int) -> str:
    """`pid`'s command, for a message."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "(ended)"


def left_running(pids: list[int], seconds: float) -> list[str]:
    """The commands of `pids` that still run after up to `seconds` (none: they all ended sooner)."""
    deadline = time.monotonic() + seconds
    while any(running(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [command_line(pid) for pid in pids if running(pid)]
