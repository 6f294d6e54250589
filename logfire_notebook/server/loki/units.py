"""Durations, byte sizes and Go string literals as LogQL writes them."""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = ["parse_bytes", "parse_duration", "unquote"]

_DURATION_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
    "y": 365 * 86400 * 10**9,
}
_MAX_DURATION_NS = 2**63 - 1
_DURATION_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h|d|w|y)")


def parse_duration(text: str) -> float:
    """Seconds in `1h30m`, `250ms`, `1.5s`, `7d` (Go's and Prometheus' forms); ValueError otherwise."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body in ("0", ""):
        if body == "0":
            return 0.0
        raise ValueError(f"not a duration: {text!r}")
    # Whole nanoseconds first, as Go's time.Duration holds them: 15ms is then exactly 0.015 s.
    pos, total_ns = 0, Decimal(0)
    while pos < len(body):
        m = _DURATION_PART.match(body, pos)
        if m is None:
            raise ValueError(f"not a duration: {text!r}")
        total_ns += Decimal(m.group(1)) * _DURATION_NS[m.group(2)]
        pos = m.end()
        if total_ns > _MAX_DURATION_NS:  # Go's time.Duration is int64 nanoseconds; past that it is refused
            raise ValueError(f"not a duration: {text!r} is longer than 292 years")
    return sign * int(total_ns) / 1e9


_BYTE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5, "e": 1000**6}
_BYTES = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([kmgtpe]?)(i?)(b?)\s*$", re.IGNORECASE)


def parse_bytes(text: str) -> float:
    """Bytes in `1KB` (1000), `1KiB` (1024), `10MB`, `512B`, `42` (humanize's forms); ValueError otherwise."""
    m = _BYTES.match(text)
    if m is None:
        raise ValueError(f"not a byte size: {text!r}")
    number, prefix, binary = float(m.group(1)), m.group(2).lower(), m.group(3)
    if not prefix:
        return number
    power = "kmgtpe".index(prefix) + 1
    return number * float(1024**power if binary else 1000**power)


_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"'}
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)", re.DOTALL)


def unquote(token: str) -> str:
    """The value of a Go string literal: backquoted strings are raw, double-quoted ones take Go's escapes."""
    if token.startswith("`"):
        return token[1:-1]
    body = token[1:-1]

    def escape(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] in "xuU":
            return chr(int(code[1:], 16))
        if code[0].isdigit():
            return chr(int(code, 8))
        if code in _ESCAPES:
            return _ESCAPES[code]
        raise ValueError(f"invalid escape \\{code} in {token}")

    return _ESCAPE.sub(escape, body)
