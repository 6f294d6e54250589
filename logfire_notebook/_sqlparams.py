"""Python values as safe, typed SQL literals, and `pyformat` parameter substitution.

Logfire's query API takes SQL text only (no bound parameters on the wire), so parameters are rendered
into the text here, in one place shared by `db_api` and the `%%logfire` magic. Every literal is a single
self-contained token group that no value can break out of:

| Python                      | SQL                                                        |
|-----------------------------|------------------------------------------------------------|
| `None`                      | `NULL`                                                     |
| `bool`                      | `TRUE` / `FALSE`                                           |
| `int` (64-bit range)        | `42`, `(-42)`                                              |
| `float`                     | `0.5e0` (a DOUBLE, not a DECIMAL), `CAST('NaN' AS DOUBLE)`  |
| `Decimal` (finite)          | `12.50`, `(-3.1)`                                          |
| `str`                       | `'it''s'` (standard string: a quote doubles, `\\` is plain) |
| `datetime` (naive = UTC)    | `TIMESTAMPTZ '2024-05-01 12:00:00.000000+00:00'`           |
| `date`                      | `DATE '2024-05-01'`                                        |
| `timedelta`                 | `INTERVAL '1 days 30 seconds 0 microseconds'`              |
| `tuple`                     | `(1, 2, 3)`: a value list for `x IN %s`                    |
| `list`                      | `[1, 2, 3]`: an array for `array_has(%s, x)` and friends   |

Negative numbers are parenthesised so that `x -%s` can never turn into a `--` comment. Tuples and lists
differ on purpose: DataFusion (Logfire) reads `IN (..)` only, and arrays only as `[..]`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from logfire_notebook._params import ParameterError

__all__ = ["ParameterError", "format_pyformat", "literal"]

SUPPORTED_TYPES = "None, bool, int, float, Decimal, str, datetime, date, timedelta, tuple, list"

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

# `%%`, `%s`, `%(name)s`, and anything else after a `%` (reported as an error).
_PLACEHOLDER = re.compile(r"%(?:\((?P<name>[^)]*)\))?(?P<conv>.?)", re.DOTALL)


def literal(value: Any) -> str:
    """Render `value` as a SQL literal for Logfire's dialect (DataFusion) and the local backend (DuckDB)."""
    # bool before int (bool is an int), datetime before date (datetime is a date).
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return _int_literal(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, Decimal):
        return _decimal_literal(value)
    if isinstance(value, str):
        return _str_literal(value)
    if isinstance(value, dt.datetime):
        return _datetime_literal(value)
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, dt.timedelta):
        return _interval_literal(value)
    if isinstance(value, tuple):
        if not value:
            raise ParameterError(
                "An empty tuple has no SQL form (`x IN ()` is not valid SQL); "
                "skip the condition in Python when the tuple is empty."
            )
        return "(" + ", ".join(literal(v) for v in value) + ")"
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise ParameterError(
        f"Cannot use a value of type {type(value).__name__} as a SQL parameter; "
        f"supported types are {SUPPORTED_TYPES}."
    )


def _negative_safe(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def _int_literal(value: int) -> str:
    number = int(value)  # an IntEnum's str() would be its name
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise ParameterError(
            f"The integer {number} does not fit in 64 bits; pass it as a Decimal or a str instead."
        )
    return _negative_safe(str(number))


def _float_literal(value: float) -> str:
    number = float(value)
    if math.isnan(number):
        return "CAST('NaN' AS DOUBLE)"
    if math.isinf(number):
        return "CAST('inf' AS DOUBLE)" if number > 0 else "CAST('-inf' AS DOUBLE)"
    text = repr(number)
    # Without an exponent, `0.5` would be a DECIMAL in DuckDB; `0.5e0` is a DOUBLE everywhere.
    if "e" not in text:
        text += "e0"
    return _negative_safe(text)


def _decimal_literal(value: Decimal) -> str:
    if not value.is_finite():
        raise ParameterError(f"The Decimal {value} has no SQL form; use a float for NaN or infinity.")
    return _negative_safe(format(value, "f"))


def _str_literal(value: str) -> str:
    text = str.__str__(value)  # a str subclass (an Enum mixin) may override __str__
    # NUL is fine: DuckDB and DataFusion keep it inside a literal. Lone surrogates cannot be sent as UTF-8.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ParameterError(
            f"A string parameter is not valid Unicode text ({exc.reason} at index {exc.start})."
        ) from None
    return "'" + text.replace("'", "''") + "'"


def _datetime_literal(value: dt.datetime) -> str:
    # A naive datetime means UTC: Logfire stores and compares timestamps in UTC.
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    try:
        utc = value.astimezone(dt.timezone.utc)
    except OverflowError:
        raise ValueError(
            f"{value.isoformat()} is out of range once converted to UTC; use a datetime between years 1 and 9999 in UTC"
        ) from None
    return f"TIMESTAMPTZ '{utc.isoformat(sep=' ', timespec='microseconds')}'"


def _interval_literal(value: dt.timedelta) -> str:
    # timedelta normalises to a negative day count and positive seconds; render with one sign throughout.
    sign = "-" if value < dt.timedelta(0) else ""
    magnitude = abs(value)
    return (
        f"INTERVAL '{sign}{magnitude.days} days {sign}{magnitude.seconds} seconds "
        f"{sign}{magnitude.microseconds} microseconds'"
    )


def format_pyformat(sql: str, params: Mapping[str, Any] | Sequence[Any]) -> str:
    """Substitute `%(name)s` (with a mapping) or `%s` (with a sequence) placeholders by SQL literals.

    `%%` is a literal percent sign. The SQL text is scanned once and values are never rescanned, so a `%` or
    a quote inside a value is just data.
    """
    named = isinstance(params, Mapping)
    if not named and (isinstance(params, (str, bytes)) or not isinstance(params, Sequence)):
        raise ParameterError(
            f"Parameters must be a mapping (for %(name)s) or a sequence (for %s), not {type(params).__name__}."
        )
    pieces: list[str] = []
    position = 0
    end = 0
    for match in _PLACEHOLDER.finditer(sql):
        pieces.append(sql[end : match.start()])
        end = match.end()
        name, conv = match.group("name"), match.group("conv")
        if name is None and conv == "%":
            pieces.append("%")
            continue
        if conv != "s":
            raise ParameterError(
                f"Unsupported placeholder {match.group(0)!r} at position {match.start()} of the SQL; "
                "use %s or %(name)s for parameters and %% for a literal percent sign."
            )
        if name is not None:
            pieces.append(_named_value(params, name))
        else:
            pieces.append(_positional_value(params, position))
            position += 1
    pieces.append(sql[end:])
    if not isinstance(params, Mapping) and len(params) != position:
        raise ParameterError(
            f"The SQL has {position} %s placeholder(s) but {len(params)} parameter(s) were given."
        )
    return "".join(pieces)


def _named_value(params: Mapping[str, Any] | Sequence[Any], name: str) -> str:
    if not isinstance(params, Mapping):
        raise ParameterError(
            f"The SQL uses the named placeholder %({name})s but the parameters are a sequence; pass a dict."
        )
    if name not in params:
        raise ParameterError(f"The SQL uses %({name})s but no parameter named {name!r} was given.")
    return literal(params[name])


def _positional_value(params: Mapping[str, Any] | Sequence[Any], index: int) -> str:
    if isinstance(params, Mapping):
        raise ParameterError(
            "The SQL uses a positional %s placeholder but the parameters are a mapping; "
            "use %(name)s placeholders or pass a tuple."
        )
    if index >= len(params):
        raise ParameterError(f"The SQL has more %s placeholders than the {len(params)} parameter(s) given.")
    return literal(params[index])
