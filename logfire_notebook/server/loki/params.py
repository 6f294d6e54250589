"""The query parameters of Loki's API, checked and defaulted as Loki does, with Loki's messages."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from starlette.datastructures import QueryParams

from logfire_notebook.server.loki.times import MAX_NS, TimeError, now_ns, parse_time
from logfire_notebook.server.loki.units import parse_duration

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_ENTRIES",
    "MAX_POINTS",
    "ParamError",
    "RangeParams",
    "default_step",
    "parse_step",
    "positive_int",
    "range_params",
    "tenant",
]

DEFAULT_LIMIT = 100
MAX_ENTRIES = 5000
"""Loki's default `max_entries_limit_per_query`."""
MAX_POINTS = 11_000
HOUR_NS = 3600 * 1_000_000_000


class ParamError(ValueError):
    """A bad parameter (HTTP 400); `str()` is Loki's message."""


def tenant(org_id: str | None) -> str:
    """The tenant of a request: `X-Scope-OrgID`, or `fake` as in Loki with auth disabled."""
    value = (org_id or "").strip()
    if not value:
        return "fake"
    if len(value) > 150 or not re.fullmatch(r"[A-Za-z0-9!\-_.*'()]+", value):
        raise ParamError(f"tenant ID {value!r} is not valid: use letters, digits and !-_.*'() (150 at most)")
    return value


@dataclass
class RangeParams:
    query: str
    start_ns: int
    end_ns: int
    limit: int
    forward: bool
    step_ns: int | None


def _time(params: QueryParams, name: str, default: int) -> int:
    try:
        return parse_time(params.get(name), default, name)
    except TimeError as exc:
        raise ParamError(str(exc)) from None


def start_end(params: QueryParams) -> tuple[int, int]:
    end = _time(params, "end", now_ns())
    since = params.get("since")
    default_start = end - HOUR_NS
    if since:
        try:
            default_start = end - round(parse_duration(since) * 1e9)
        except ValueError:
            raise ParamError(f'cannot parse "{since}" to a valid duration') from None
    start = _time(params, "start", default_start)
    if end < start:
        raise ParamError("end timestamp must not be before or equal to start time")
    return start, end


def positive_int(text: str | None) -> int | None:
    """`text` as a whole number above 0 if it is one in ASCII digits and of a sane size, else None (`"²"`
    passes str.isdigit() but not int())."""
    if text and text.isascii() and text.isdigit() and len(text) <= 18 and int(text) > 0:
        return int(text)
    return None


def limit(params: QueryParams) -> int:
    text = params.get("limit")
    if text in (None, ""):
        return DEFAULT_LIMIT
    try:
        value = int(text)
    except ValueError:
        raise ParamError(f'cannot parse "{text}" to a valid limit') from None
    if value <= 0:
        raise ParamError("limit must be a positive value")
    if value > MAX_ENTRIES:
        raise ParamError(
            f"max entries limit per query exceeded, limit > max_entries_limit_per_query ({value} > {MAX_ENTRIES})"
        )
    return value


def forward(params: QueryParams) -> bool:
    text = (params.get("direction") or "backward").lower()
    if text not in ("forward", "backward"):
        raise ParamError(f'invalid direction "{params.get("direction")}", use forward or backward')
    return text == "forward"


def parse_step(text: str | None) -> int | None:
    if text in (None, ""):
        return None
    assert text is not None
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = parse_duration(text)
        except ValueError:
            raise ParamError(f'cannot parse "{text}" to a valid duration') from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ParamError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if seconds * 1e9 > MAX_NS:
        raise ParamError(f'step "{text}" is longer than any query range; send a step of at most 292 years')
    return round(seconds * 1e9)


def default_step(start_ns: int, end_ns: int) -> int:
    """max(floor((end - start) / 250 s), 1) s, as Loki defaults it."""
    return max((end_ns - start_ns) // 1_000_000_000 // 250, 1) * 1_000_000_000


def range_params(params: QueryParams) -> RangeParams:
    query = params.get("query")
    if not query:
        raise ParamError("query parameter is required: send the LogQL query as `query`")
    start, end = start_end(params)
    return RangeParams(query, start, end, limit(params), forward(params), parse_step(params.get("step")))


def steps(start_ns: int, end_ns: int, step_ns: int) -> list[int]:
    count = (end_ns - start_ns) // step_ns + 1
    if count > MAX_POINTS:
        raise ParamError(
            "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query "
            "resolution (?step=XX)"
        )
    return [start_ns + i * step_ns for i in range(count)]
