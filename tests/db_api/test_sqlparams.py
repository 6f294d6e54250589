"""`literal` and `format_pyformat`: each value type as DuckDB (the local backend's engine) reads it back."""

from __future__ import annotations

import datetime as dt
import enum
import math
from decimal import Decimal
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfire_notebook._sqlparams import ParameterError, format_pyformat, literal

UTC = dt.timezone.utc


def duck(sql: str) -> Any:
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql).fetchall()[0][0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (False, False),
        (0, 0),
        (-7, -7),
        (2**63 - 1, 2**63 - 1),
        (-(2**63), -(2**63)),
        (1.5, 1.5),
        (-0.1, -0.1),
        (1e300, 1e300),
        (5e-324, 5e-324),
        (Decimal("12.50"), Decimal("12.50")),
        (Decimal("-0.001"), Decimal("-0.001")),
        ("it's", "it's"),
        ("back\\slash \\n \\' %s %(x)s", "back\\slash \\n \\' %s %(x)s"),
        ("é😀\u200b\n\t", "é😀\u200b\n\t"),
        ("", ""),
        ("a\x00b", "a\x00b"),
        (dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
        (dt.timedelta(days=1, seconds=3, microseconds=7), dt.timedelta(days=1, seconds=3, microseconds=7)),
        (dt.timedelta(seconds=-1.5), dt.timedelta(seconds=-1.5)),
        ([1, 2, 3], [1, 2, 3]),
        (["a", "b'c"], ["a", "b'c"]),
        ([], []),
    ],
)
def test_value_reads_back_unchanged_in_duckdb(value: Any, expected: Any) -> None:
    assert duck(f"SELECT {literal(value)}") == expected


def test_float_is_a_double_not_a_decimal() -> None:
    assert duck(f"SELECT typeof({literal(0.1)})") == "DOUBLE"


def test_nan_and_infinities_become_double_casts() -> None:
    assert math.isnan(duck(f"SELECT {literal(float('nan'))}"))
    assert duck(f"SELECT {literal(float('inf'))}") == math.inf
    assert duck(f"SELECT {literal(float('-inf'))}") == -math.inf


def test_aware_datetime_becomes_the_same_instant_in_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    value = dt.datetime(2024, 5, 1, 14, 30, 0, 123456, tzinfo=paris)
    assert literal(value) == "TIMESTAMPTZ '2024-05-01 12:30:00.123456+00:00'"
    assert duck(f"SELECT {literal(value)}") == value


def test_naive_datetime_is_read_as_utc() -> None:
    value = dt.datetime(2024, 5, 1, 12, 0)
    assert duck(f"SELECT {literal(value)}") == value.replace(tzinfo=UTC)


def test_tuple_is_a_value_list_for_in() -> None:
    assert literal((1, "a")) == "(1, 'a')"
    assert duck(f"SELECT 2 IN {literal((1, 2))}") is True
    assert duck(f"SELECT 'x' NOT IN {literal(('a', 'b'))}") is True


def test_list_is_an_array_for_array_has() -> None:
    assert duck(f"SELECT array_has({literal(['a', 'b'])}, 'b')") is True


def test_negative_number_cannot_form_a_comment() -> None:
    # `1 -%s` with -1 would be `1 --1` (a comment) without the parentheses.
    assert duck(format_pyformat("SELECT 1 -%s", (-1,))) == 2
    assert duck(format_pyformat("SELECT 1 -%s", (-1.0,))) == 2.0


class Color(enum.IntEnum):
    RED = 3


class Mood(str, enum.Enum):
    HAPPY = "happy"


def test_enum_subclasses_render_their_values() -> None:
    assert literal(Color.RED) == "3"
    assert literal(Mood.HAPPY) == "'happy'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (b"bytes", "type bytes"),
        ({"a": 1}, "type dict"),
        (object(), "supported types are None, bool, int"),
        (2**63, "does not fit in 64 bits"),
        (Decimal("NaN"), "Decimal NaN"),
        ("\ud800", "not valid Unicode"),
        ((), "empty tuple"),
        ([1, b"x"], "type bytes"),
    ],
)
def test_unsupported_value_is_a_clear_error(value: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        literal(value)


def test_named_and_positional_placeholders() -> None:
    assert format_pyformat("SELECT %(a)s, %(a)s, %(b)s", {"a": 1, "b": "x"}) == "SELECT 1, 1, 'x'"
    assert format_pyformat("SELECT %s, %s", [1, None]) == "SELECT 1, NULL"


def test_double_percent_is_a_literal_percent() -> None:
    sql = format_pyformat("SELECT 'a' LIKE '%%a%%' AND %(v)s LIKE 'x%%'", {"v": "x%"})
    assert sql == "SELECT 'a' LIKE '%a%' AND 'x%' LIKE 'x%'"
    assert duck(sql) is True


def test_percent_in_a_value_is_never_a_placeholder() -> None:
    assert format_pyformat("SELECT %s, %s", ["%s %(a)s %%", "b"]) == "SELECT '%s %(a)s %%', 'b'"


@pytest.mark.parametrize(
    ("sql", "params", "message"),
    [
        ("SELECT %(missing)s", {"other": 1}, "no parameter named 'missing'"),
        ("SELECT %s, %s", (1,), "more %s placeholders than the 1 parameter"),
        ("SELECT %s", (1, 2), "1 %s placeholder\\(s\\) but 2 parameter"),
        ("SELECT %(a)s", (1,), "named placeholder %\\(a\\)s but the parameters are a sequence"),
        ("SELECT %s", {"a": 1}, "positional %s placeholder but the parameters are a mapping"),
        ("SELECT %d", (1,), "Unsupported placeholder '%d' at position 7"),
        ("SELECT 'a%'", (), "Unsupported placeholder"),
        ("SELECT %s", "ab", "not str"),
    ],
)
def test_placeholder_mistakes_are_clear_errors(sql: str, params: Any, message: str) -> None:
    with pytest.raises(ParameterError, match=message):
        format_pyformat(sql, params)


@settings(deadline=None)  # opening a DuckDB connection can be slow on a busy machine; no timing in tests
@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_any_string_round_trips_through_duckdb(text: str) -> None:
    assert duck(format_pyformat("SELECT %(s)s", {"s": text})) == text


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=st.characters(exclude_categories=("Cs",))),
    st.dates(),
    st.datetimes(timezones=st.just(UTC)),
    st.timedeltas(min_value=dt.timedelta(days=-9999), max_value=dt.timedelta(days=9999)),
)


@settings(deadline=None)
@given(value=scalars | st.lists(st.text(alphabet=st.characters(exclude_categories=("Cs",))), max_size=5))
def test_no_value_changes_the_shape_of_the_query(value: Any) -> None:
    # Two columns, one row, and the value itself: nothing leaked out of its literal.
    sql = format_pyformat("SELECT %(v)s AS v, 'end' AS marker", {"v": value})
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        rows = con.execute(sql).fetchall()
    assert len(rows) == 1 and len(rows[0]) == 2 and rows[0][1] == "end"
    assert rows[0][0] == value
