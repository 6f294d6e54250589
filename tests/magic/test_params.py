"""`{name}` parameters: replaced by safe literals, refused inside quotes, braces escaped with doubling."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfire_notebook._magic.params import ParameterError, substitute


def test_name_becomes_typed_literal() -> None:
    ns = {"svc": "api", "n": 3, "when": dt.date(2026, 1, 2), "codes": (500, 503)}
    sql = "SELECT * FROM records WHERE service_name = {svc} AND level > {n} AND day = {when} AND code IN {codes}"
    assert substitute(sql, ns) == (
        "SELECT * FROM records WHERE service_name = 'api' AND level > 3 AND day = DATE '2026-01-02' "
        "AND code IN (500, 503)"
    )


def test_doubled_braces_are_literal_braces() -> None:
    assert substitute("SELECT '{{a}}' AS x, {{b}}", {}) == "SELECT '{a}' AS x, {b}"


def test_name_inside_quotes_is_an_error_with_a_hint() -> None:
    with pytest.raises(
        ParameterError, match=r"\{svc\} is inside a quoted string: write \{svc\} without the quotes"
    ):
        substitute("SELECT * FROM records WHERE service_name = '{svc}'", {"svc": "api"})


def test_unknown_name_is_an_error_naming_it() -> None:
    with pytest.raises(ParameterError, match=r"\{missing\} in the SQL names no variable: define `missing`"):
        substitute("SELECT {missing}", {})


def test_json_braces_in_strings_and_comments_are_left_alone() -> None:
    sql = (
        'SELECT \'{"a": {"b": 1}}\' AS j, "{col}" -- filter on {later}\n'
        '/* {nested /* {x} */ } */ FROM records WHERE x = $${"y": {}}$$'
    )
    assert substitute(sql, {}) == sql


def test_escape_string_with_backslash_quote_is_one_string() -> None:
    # In E'..' a backslash escapes the quote, so {v} is still inside the string.
    with pytest.raises(ParameterError, match="inside a quoted string"):
        substitute(r"SELECT E'it\'s {v}'", {"v": 1})


def test_unsupported_value_type_says_which_parameter() -> None:
    with pytest.raises(ParameterError, match=r"\{obj\} cannot be used as an SQL value"):
        substitute("SELECT {obj}", {"obj": object()})


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"], exclude_characters="\x00")))
def test_quote_inside_a_parameter_value_cannot_change_the_query(value: str) -> None:
    # The query has one result column holding exactly the value, whatever quotes or comments it contains.
    sql = substitute("SELECT {value} AS v -- {value}\n", {"value": value})
    rows = duckdb.sql(sql).fetchall()
    assert rows == [(value,)]


@pytest.mark.parametrize("sql", ["SELECT E{v} AS x", "SELECT x{v}", "SELECT {v}{v} AS x", "SELECT _{v}"])
def test_a_parameter_glued_to_a_letter_or_another_parameter_is_refused(sql: str) -> None:
    # E'...' takes backslash escapes: `\' OR true --` would close the literal early and run as SQL.
    value = "\\' OR true --"
    with pytest.raises(
        ParameterError, match=r"\{v\} follows .* directly: put a space or an operator before it"
    ):
        substitute(sql, {"v": value})
    # Spaced out, the same value is one plain literal that DuckDB reads back unchanged.
    assert duckdb.sql(substitute("SELECT E {v} AS x", {"v": value}).replace("E ", "")).fetchall() == [
        (value,)
    ]


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(9999, 12, 31, 23, 59, tzinfo=dt.timezone(dt.timedelta(hours=-14))),
        dt.datetime(1, 1, 1, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=14))),
    ],
)
def test_a_datetime_out_of_range_in_utc_is_a_parameter_error(value: dt.datetime) -> None:
    with pytest.raises(ParameterError, match=r"\{when\} cannot be used as an SQL value: .* out of range"):
        substitute("SELECT {when} AS t", {"when": value})
