"""LogQL text: `{name}` parameters as safe string literals, narrowing by a label, the timeline's count query."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logfire_notebook._loki.logql import (
    ParameterError,
    count_query,
    is_log_query,
    narrow,
    string_literal,
    substitute,
    tokens,
)

_GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    '"': '"',
}


def go_unquote(literal: str) -> str:
    """Go's strconv.Unquote for a double-quoted literal (what Loki's lexer applies), written independently."""
    assert literal[0] == literal[-1] == '"'
    body, out, i = literal[1:-1], [], 0
    while i < len(body):
        c = body[i]
        assert c not in '"\n', "a raw quote or newline cannot be inside a Go string literal"
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        if e in _GO_ESCAPES:
            out.append(_GO_ESCAPES[e])
            i += 2
        elif e in "uU":
            width = 4 if e == "u" else 8
            code = int(body[i + 2 : i + 2 + width], 16)
            assert not 0xD800 <= code <= 0xDFFF, "Go turns surrogate escapes into U+FFFD"
            out.append(chr(code))
            i += 2 + width
        else:
            raise AssertionError(f"escape \\{e} is not Go's")
    return "".join(out)


def test_parameters_become_string_literals_in_selectors_and_filters() -> None:
    ns = {"svc": "checkout", "text": 'say "hi"', "code": 500}
    query = '{service_name={svc}, code={code}} |= {text} | json | line_format "{{.msg}}"'
    assert substitute(query, ns) == (
        '{service_name="checkout", code="500"} |= "say \\"hi\\"" | json | line_format "{{.msg}}"'
    )


def test_plain_selectors_templates_and_comments_are_left_alone() -> None:
    query = '{job="api"} # {not_a_param}\n| line_format `{{ .x }}` | label_format a="{{.b}}"'
    assert substitute(query, {}) == query


def test_name_inside_quotes_is_an_error_with_a_hint() -> None:
    with pytest.raises(
        ParameterError, match=r"\{svc\} is inside a quoted string: write \{svc\} without the quotes"
    ):
        substitute('{job="{svc}"}', {"svc": "api"})


def test_unknown_name_and_unusable_value_say_which() -> None:
    with pytest.raises(ParameterError, match=r"\{nope\} in the LogQL names no variable"):
        substitute("{job={nope}}", {})
    with pytest.raises(ParameterError, match=r"\{obj\} cannot be used as a LogQL string"):
        substitute("{job={obj}}", {"obj": object()})


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_a_value_can_never_change_the_query_shape(value: str) -> None:
    template = "{job={value}} |= {value} # {value}\n| json | level={value}"
    query = substitute(template, {"value": value})
    pieces = tokens(query)
    # Code stays exactly the template's code; every parameter became one string token holding the value.
    code = [text for kind, text in pieces if kind == "code"]
    assert code == ["{job=", "} |= ", " ", "\n| json | level="]
    strings = [text for kind, text in pieces if kind == "string"]
    assert len(strings) == 3 and all(go_unquote(s) == value for s in strings)
    assert [text for kind, text in pieces if kind == "comment"] == ["# {value}"]


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        string_literal("a\ud800")


def test_narrow_adds_the_label_to_every_selector() -> None:
    query = 'sum(count_over_time({job="api"} |= "x" [1m])) / sum(count_over_time({job="web"}[1m]))'
    assert narrow(query, "level", 'err"or') == (
        'sum(count_over_time({level="err\\"or", job="api"} |= "x" [1m])) / '
        'sum(count_over_time({level="err\\"or", job="web"}[1m]))'
    )
    assert narrow('{job="a"} |= "{x}"', "env", "prod") == '{env="prod", job="a"} |= "{x}"'
    with pytest.raises(ValueError, match="not a label name"):
        narrow('{job="a"}', 'x"} or {y', "v")


def test_count_query_wraps_the_whole_log_query_without_comments() -> None:
    query = '{job="api"} |= "err" # why\n| json'
    assert (
        count_query(query, timedelta(minutes=5))
        == 'sum (count_over_time({job="api"} |= "err" \n| json [300s]))'
    )
    assert is_log_query(' # c\n{job="a"}') and not is_log_query('rate({job="a"}[1m])')
    assert re.search(r"by \(level\)", count_query('{a="b"}', timedelta(seconds=1), by="level"))
