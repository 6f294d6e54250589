"""Timestamps as Loki takes and writes them: nanoseconds, seconds, float seconds and RFC3339(Nano)."""

from __future__ import annotations

import calendar
import re
import time
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["TimeError", "format_rfc3339_nano", "now_ns", "parse_rfc3339_ns", "parse_time"]


class TimeError(ValueError):
    pass


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$"
)


def now_ns() -> int:
    return time.time_ns()


def parse_rfc3339_ns(text: str) -> int:
    m = _RFC3339.match(text.strip())
    if m is None:
        raise TimeError(f"cannot parse {text!r} as an RFC3339 timestamp")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or "").ljust(9, "0")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds * 1_000_000_000 + int(fraction)


def format_rfc3339_nano(ns: int) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    seconds, frac = divmod(ns, 1_000_000_000)
    base = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return base + (f".{frac:09d}".rstrip("0") if frac else "") + "Z"


def parse_time(value: str | None, default_ns: int, name: str) -> int:
    """A `start`/`end`/`time` parameter: 10 digits or fewer are seconds, more are nanoseconds, a `.` makes
    float seconds, anything else is RFC3339. Absent or empty gives the default."""
    if value is None or value == "":
        return default_ns
    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        number = int(text)
        return number * 1_000_000_000 if len(text.lstrip("-")) <= 10 else number
    if re.fullmatch(r"-?\d*\.\d*(e[+-]?\d+)?", text, re.IGNORECASE) and any(c.isdigit() for c in text):
        # Decimal, not float: a float loses the nanoseconds of a timestamp in seconds.
        return int((Decimal(text) * 1_000_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
    try:
        return parse_rfc3339_ns(text)
    except TimeError:
        raise TimeError(f'cannot parse "{value}" to a valid timestamp') from None
