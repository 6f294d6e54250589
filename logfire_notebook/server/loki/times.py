"""Timestamps as Loki takes and writes them: nanoseconds, seconds, float seconds and RFC3339(Nano)."""

from __future__ import annotations

import calendar
import re
import time
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal, DecimalException

__all__ = ["TimeError", "format_rfc3339_nano", "now_ns", "parse_rfc3339_ns", "parse_time"]


class TimeError(ValueError):
    pass


_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|z|[+-]\d{2}:?\d{2})$", re.ASCII
)
MIN_NS, MAX_NS = -(2**63), 2**63 - 1
"""A timestamp is Go's int64 of nanoseconds, as in Loki: the years 1677 to 2262."""
_MAX_SECONDS = Decimal(MAX_NS) / 1_000_000_000


def now_ns() -> int:
    return time.time_ns()


def parse_rfc3339_ns(text: str) -> int:
    m = _RFC3339.match(text.strip())
    if m is None:
        raise TimeError(f"cannot parse {text!r} as an RFC3339 timestamp")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    fraction = (m.group(7) or "").ljust(9, "0")
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # a leap second's :60 is taken
    except ValueError:
        raise TimeError(
            f"cannot parse {text!r} as an RFC3339 timestamp: there is no such date or time"
        ) from None
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = m.group(8)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return _in_range(seconds * 1_000_000_000 + int(fraction), text)


def _in_range(ns: int, text: str) -> int:
    if not MIN_NS <= ns <= MAX_NS:
        raise TimeError(
            f'"{_cut(text)}" is out of range: a timestamp must fall between the years 1678 and 2262'
        )
    return ns


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
    if re.fullmatch(r"-?[0-9]+", text):
        digits = text.lstrip("-")
        if len(digits) > 19:  # past int64 (and int() of a huge digit string is slow): never a timestamp
            return _in_range(MAX_NS + 1, value)
        number = int(text)
        return _in_range(number * 1_000_000_000 if len(digits) <= 10 else number, value)
    if re.fullmatch(r"-?[0-9]*\.[0-9]*(e[+-]?[0-9]+)?", text, re.IGNORECASE) and any(
        c.isdigit() for c in text
    ):
        # Decimal, not float: a float loses the nanoseconds of a timestamp in seconds. Its range is checked
        # before it is scaled: `1.0e999990` would otherwise make an integer of a million digits.
        try:
            seconds = Decimal(text)
            if seconds.copy_abs() > _MAX_SECONDS:  # copy_abs: no context, so no decimal.Overflow
                return _in_range(MAX_NS + 1, value)
            ns = int((seconds * 1_000_000_000).to_integral_value(rounding=ROUND_HALF_EVEN))
        except DecimalException:  # an exponent past what Decimal holds
            return _in_range(MAX_NS + 1, value)
        return _in_range(ns, value)
    try:
        return parse_rfc3339_ns(text)
    except TimeError:
        raise TimeError(f'cannot parse "{_cut(value)}" to a valid timestamp') from None


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:40] + "..."
