"""One `TimeRange` value: what users type for "when", resolved to the API's min/max timestamps.

Accepted for either end (`since` / `until`, or the client's `min_timestamp` / `max_timestamp`):

- a duration, meaning that long before now: `"15m"`, `"1h"`, `"7d"`, `"2w"`, `"30s"` (also `timedelta`);
- `"now"`, or `"now-2h"` / `"now - 90m"`;
- an ISO string: `"2026-01-31"`, `"2026-01-31T12:00"`, `"2026-01-31T12:00:00Z"`, `"...+02:00"`;
- a `date` (midnight UTC), a naive `datetime` (taken as UTC) or an aware `datetime`.

A range is relative (its ends are offsets before now, so it moves with the clock: "Last 1 hour") or absolute
(fixed instants). `until=None` means now. `zoom_out()` doubles the width around the centre, `shift(±1)` moves
by half the width and never past now; `label()` renders the range for display; `to_json()` / `from_json()`
carry it to the widget's browser side and back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from logfire_notebook._exceptions import TimeRangeError

__all__ = ["Bound", "TimeInput", "TimeRange", "parse_bound"]

UTC = timezone.utc

# An end of a range: an offset before now (relative) or an aware UTC datetime (absolute).
Bound = timedelta | datetime
TimeInput = str | date | datetime | timedelta

_ACCEPTED = (
    "use a duration like '15m', '1h' or '7d', 'now' or 'now-2h', an ISO time like '2026-01-31T12:00:00Z', "
    "a date or a datetime"
)

_UNITS: dict[str, int] = {
    "s": 1,
    "sec": 1,
    "secs": 1,
    "second": 1,
    "seconds": 1,
    "m": 60,
    "min": 60,
    "mins": 60,
    "minute": 60,
    "minutes": 60,
    "h": 3600,
    "hr": 3600,
    "hrs": 3600,
    "hour": 3600,
    "hours": 3600,
    "d": 86400,
    "day": 86400,
    "days": 86400,
    "w": 604800,
    "week": 604800,
    "weeks": 604800,
}
_DURATION_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([a-z]+)$")
_NOW_RE = re.compile(r"^now\s*(?:-\s*(.+))?$")
# Units for rendering offsets, largest first: an offset is shown in the largest unit that divides it exactly
# (days, not weeks: "Last 7 days" is what people type and read).
_RENDER_UNITS = (
    ("d", 86400, "day"),
    ("h", 3600, "hour"),
    ("m", 60, "minute"),
    ("s", 1, "second"),
)


def _invalid(value: object, what: str = "a time") -> TimeRangeError:
    return TimeRangeError(f"Could not read {value!r} as {what}: {_ACCEPTED}.")


def _parse_duration(text: str) -> timedelta | None:
    match = _DURATION_RE.match(text)
    if match is None or match.group(2) not in _UNITS:
        return None
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _parse_iso(text: str) -> datetime | None:
    # Python 3.10's fromisoformat rejects a trailing 'Z'.
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text.upper() if "t" in text else text)
    except ValueError:
        return None
    return _as_utc(parsed)


def _as_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_bound(value: TimeInput) -> Bound:
    """One end of a range: a `timedelta` (that long before now) or an aware UTC `datetime`."""
    if isinstance(value, datetime):
        return _as_utc(value)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, timedelta):
        if value < timedelta(0):
            raise TimeRangeError(f"The duration {value} is negative: give how far back to look, like '1h'.")
        return value
    if not isinstance(value, str):
        raise _invalid(value)
    text = value.strip().lower()
    now_match = _NOW_RE.match(text)
    if now_match is not None:
        if now_match.group(1) is None:
            return timedelta(0)
        offset = _parse_duration(now_match.group(1).strip())
        if offset is None:
            raise _invalid(value)
        return offset
    bound: Bound | None = _parse_duration(text) or _parse_iso(value.strip())
    if bound is None:
        raise _invalid(value)
    return bound


def _amount(offset: timedelta) -> tuple[str, str, str]:
    """`(number, short unit, word)`: `(90, "m", "minute")`, `("22.5", "m", "minute")`."""
    micros = offset // timedelta(microseconds=1)
    # Whole minutes/hours/days first ("90m", "36h"), then one decimal ("22.5m"), then plain seconds.
    for tenths in (1, 10):
        for short, size, word in _RENDER_UNITS:
            unit = size * 1_000_000
            if size > 1 and micros >= unit and (micros * tenths) % unit == 0:
                return f"{micros / unit:g}", short, word
    # Sub-second precision: exact to the microsecond, so to_json/from_json round-trips.
    return f"{micros / 1_000_000:.6f}".rstrip("0").rstrip("."), "s", "second"


def _format_offset(offset: timedelta) -> str:
    """`timedelta(hours=2)` -> `"2h"`, `timedelta(seconds=1350)` -> `"22.5m"`."""
    number, short, _ = _amount(offset)
    return f"{number}{short}"


def _words(offset: timedelta) -> str:
    """`timedelta(hours=1)` -> `"1 hour"`, `timedelta(minutes=90)` -> `"90 minutes"`."""
    number, _, word = _amount(offset)
    return f"{number} {word}{'' if number == '1' else 's'}"


def _render_bound(bound: Bound | None) -> str:
    """The JSON/str form: `"now"`, `"now-2h"` or an ISO string."""
    if bound is None or bound == timedelta(0):
        return "now"
    if isinstance(bound, timedelta):
        return f"now-{_format_offset(bound)}"
    return bound.isoformat()


def _display_time(value: datetime, *, with_date: bool = True) -> str:
    fmt = "%H:%M:%S" if value.second or value.microsecond else "%H:%M"
    if with_date:
        fmt = "%Y-%m-%d " + fmt
    return value.strftime(fmt)


@dataclass(frozen=True)
class TimeRange:
    """A time window: `since` and `until` are offsets before now (`timedelta`) or aware UTC datetimes.

    `until=None` means now. Build one with `TimeRange.parse("1h")`, `TimeRange.parse("now-2d", "now-1d")` or
    `TimeRange.parse(datetime(...), "2026-01-31")`.
    """

    since: Bound
    until: Bound | None = None

    def __post_init__(self) -> None:
        # `until=now` is stored as None, so equal ranges compare equal and "until now" survives zoom and shift.
        if isinstance(self.until, timedelta) and self.until <= timedelta(0):
            object.__setattr__(self, "until", None)
        if (
            self.until is not None
            and _both_relative_or_absolute(self.since, self.until)
            and _order_key(self.since) > _order_key(self.until)
        ):
            raise TimeRangeError(
                f"The range starts at {_render_bound(self.since)} and ends at {_render_bound(self.until)}: "
                "the start must come before the end."
            )

    @classmethod
    def parse(cls, since: TimeInput | TimeRange, until: TimeInput | None = None) -> TimeRange:
        """A range from what a user typed; `since="1h"` alone means the last hour."""
        if isinstance(since, TimeRange):
            if until is not None:
                raise TimeRangeError("Give either a TimeRange or a since/until pair, not both.")
            return since
        start = parse_bound(since)
        if start == timedelta(0):
            raise TimeRangeError(f"The range cannot start at 'now' ({since!r}): {_ACCEPTED}.")
        end = parse_bound(until) if until is not None else None
        return cls(start, end)

    @property
    def is_relative(self) -> bool:
        """True when the range moves with the clock (both ends are offsets from now)."""
        return isinstance(self.since, timedelta) and (self.until is None or isinstance(self.until, timedelta))

    def resolve(self, now: datetime | None = None) -> tuple[datetime, datetime | None]:
        """`(min_timestamp, max_timestamp)` as aware UTC datetimes; `max_timestamp` is None for "until now"."""
        now = _as_utc(now) if now is not None else datetime.now(UTC)
        start = now - self.since if isinstance(self.since, timedelta) else self.since
        end = (
            None
            if self.until is None
            else (now - self.until if isinstance(self.until, timedelta) else self.until)
        )
        if end is not None and start > end:
            raise TimeRangeError(
                f"The range {self.label()} is empty at {now.isoformat()}: the start must come before the end."
            )
        return start, end

    def check_started(self, now: datetime | None = None) -> TimeRange:
        """The range itself, or a TimeRangeError when it starts in the future: nothing can have been recorded
        there yet, and an empty answer would read as "no data". (The client, a drop-in for the SDK's, sends
        such ranges as they are; the magic refuses them like a start after the end.)"""
        now = _as_utc(now) if now is not None else datetime.now(UTC)
        start, _ = self.resolve(now)
        if start > now:
            raise TimeRangeError(
                f"The range {self.label()} starts in the future (it is {_display_time(now)} UTC now): "
                "give a start before now, like '1h' or an earlier date."
            )
        return self

    def width(self, now: datetime | None = None) -> timedelta:
        now = _as_utc(now) if now is not None else datetime.now(UTC)
        start, end = self.resolve(now)
        return (end or now) - start

    def zoom_out(self, now: datetime | None = None) -> TimeRange:
        """Twice as wide around the same centre; a range ending now still ends now, none ends in the future."""
        now = _as_utc(now) if now is not None else datetime.now(UTC)
        start, end = self.resolve(now)
        width = (end or now) - start
        if self.until is None:
            return self._rebuild(now - 2 * width, None, now)
        new_end = min(end + width / 2, now) if end is not None else now
        return self._rebuild(new_end - 2 * width, new_end, now)

    def shift(self, direction: int, now: datetime | None = None) -> TimeRange:
        """Moved by half the width, back in time for `direction < 0`, forward for `> 0`; never past now."""
        if direction == 0:
            return self
        now = _as_utc(now) if now is not None else datetime.now(UTC)
        start, end = self.resolve(now)
        end = end or now
        width = end - start
        step = width / 2 if direction > 0 else -width / 2
        new_end = min(end + step, now)
        new_until = None if new_end >= now and self.until is None else new_end
        return self._rebuild(new_end - width, new_until, now)

    def _rebuild(self, start: datetime, end: datetime | None, now: datetime) -> TimeRange:
        """Keep the range's kind: relative ranges stay offsets from now, absolute ones stay instants."""
        if self.is_relative:
            until = None if end is None or end >= now else now - end
            return TimeRange(now - start, until)
        return TimeRange(start, end)

    def label(self) -> str:
        """For display: `"Last 1 hour"`, `"now-2d → now-1d"`, `"2026-01-31 12:00 → 13:00 UTC"`."""
        if isinstance(self.since, timedelta) and self.until is None:
            return f"Last {_words(self.since)}"
        if isinstance(self.since, datetime) and (self.until is None or isinstance(self.until, datetime)):
            if self.until is None:
                return f"{_display_time(self.since)} UTC → now"
            same_day = self.since.date() == self.until.date()
            return f"{_display_time(self.since)} → {_display_time(self.until, with_date=not same_day)} UTC"
        return f"{_render_bound(self.since)} → {_render_bound(self.until)}"

    def __str__(self) -> str:
        return self.label()

    def to_json(self) -> dict[str, str | None]:
        """`{"since": "now-1h" | ISO, "until": None | "now-1d" | ISO}`; `from_json` reads it back."""
        return {
            "since": _render_bound(self.since),
            "until": None if self.until is None else _render_bound(self.until),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TimeRange:
        if not isinstance(data, dict) or not data.get("since"):
            raise TimeRangeError(
                f"Could not read {data!r} as a time range: expected {{'since': ..., 'until': ...}}."
            )
        until = data.get("until")
        return cls.parse(data["since"], None if until in (None, "", "now") else until)


def _both_relative_or_absolute(a: Bound, b: Bound) -> bool:
    return isinstance(a, timedelta) == isinstance(b, timedelta)


def _order_key(bound: Bound) -> float:
    # Offsets count backwards from now, so a larger offset is earlier.
    if isinstance(bound, timedelta):
        return -bound.total_seconds()
    return bound.timestamp()
