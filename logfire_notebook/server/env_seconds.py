"""A number of seconds from the environment, for the server's limits (`LOGFIRE_NOTEBOOK_*_SECONDS`)."""

from __future__ import annotations

import os

__all__ = ["seconds_from_env"]


def seconds_from_env(name: str, default: float) -> float:
    """`name`'s value in seconds (0 or less: no limit, as 0), `default` when unset; a value that is not a number
    stops the server with one sentence before anything starts."""
    text = os.environ.get(name, "")
    try:
        seconds = float(text) if text.strip() else default
    except ValueError:
        raise SystemExit(f"logfire-notebook: {name}={text!r} is not a number of seconds") from None
    return max(seconds, 0.0)
