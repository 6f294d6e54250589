"""LogQL text: safe string literals, `{name}` parameters, narrowing by a label, the timeline's count query.

LogQL is split into code, strings (`"..."` with Go escapes, `` `...` `` raw) and `#` comments by a small
tokenizer, so that a brace means what its place says:

- in code, `{name}` becomes the notebook variable `name` as a LogQL string literal (`"..."`, escaped as Go's
  strconv reads it), `{{` and `}}` are literal braces, a stream selector like `{job="x"}` stays as it is;
- inside a string nothing is replaced (`line_format "{{.msg}}"` is a template), and a single-braced `{name}`
  there is an error whose hint says to drop the quotes: quoting a value yourself is what lets a value change
  the query's shape;
- comments stay as they are.

Because every value becomes one string literal, no value can change the query's shape.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

__all__ = [
    "ParameterError",
    "count_query",
    "is_log_query",
    "narrow",
    "string_literal",
    "substitute",
    "tokens",
]

from logfire_notebook._params import NAME, ParameterError, quoted_name_error, substitute_pieces

_LABEL = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def string_literal(value: Any) -> str:
    """`value` as a LogQL double-quoted string: text as is, numbers and booleans as their text."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int):
        text = str(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        text = repr(value)
    elif isinstance(value, str):
        text = value
    else:
        raise TypeError(f"a {type(value).__name__} is not text or a number; pass str(value) if that is meant")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("the text holds a lone surrogate, which is not valid UTF-8") from None
    # JSON's string escapes (\" \\ \n \t \uXXXX for control characters) are all valid Go escapes, and with
    # ensure_ascii off no surrogate pairs are written (Go reads \uD83D\uDE00 as two replacement characters).
    return json.dumps(text, ensure_ascii=False)


def tokens(logql: str) -> list[tuple[str, str]]:
    """Split into ("code" | "string" | "comment", text) pieces that join back to `logql`."""
    pieces: list[tuple[str, str]] = []
    code_start = i = 0
    n = len(logql)
    while i < n:
        c = logql[i]
        if c == '"':
            end, kind = _quoted_end(logql, i), "string"
        elif c == "`":
            close = logql.find("`", i + 1)
            end, kind = (n if close < 0 else close + 1), "string"
        elif c == "#":
            newline = logql.find("\n", i)
            end, kind = (n if newline < 0 else newline), "comment"
        else:
            i += 1
            continue
        if code_start < i:
            pieces.append(("code", logql[code_start:i]))
        pieces.append((kind, logql[i:end]))
        code_start = i = end
    if code_start < n:
        pieces.append(("code", logql[code_start:]))
    return pieces


def _quoted_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] == '"':
            return i + 1
        i += 1
    return len(text)


def substitute(logql: str, namespace: Mapping[str, Any]) -> str:
    """`logql` with its `{name}` parameters replaced by string literals of the values in `namespace`."""
    if "{" not in logql and "}" not in logql:
        return logql
    return substitute_pieces(tokens(logql), namespace, string_literal, "LogQL", _check_string)


def _check_string(text: str) -> str:
    """Strings stay as they are (`line_format "{{.msg}}"` is a template), but a single-braced name is refused."""
    for match in NAME.finditer(text):
        if not (match.start() > 0 and text[match.start() - 1] == "{"):
            raise quoted_name_error(match.group(1))
    return text


def is_log_query(logql: str) -> bool:
    """A log query starts with its stream selector; a metric query with a function or an aggregation."""
    code = "".join(text for kind, text in tokens(logql) if kind != "comment")
    return code.lstrip().startswith("{")


def without_comments(logql: str) -> str:
    return "".join(text for kind, text in tokens(logql) if kind != "comment").strip()


def narrow(logql: str, label: str, value: str) -> str:
    """The query with `label="value"` added to every stream selector (what a click on a label chip does)."""
    if not _LABEL.fullmatch(label):
        raise ValueError(f"{label!r} is not a label name")
    matcher = f"{label}={string_literal(value)}"
    out: list[str] = []
    added = False
    for kind, text in tokens(logql):
        if kind == "code" and "{" in text:
            text, count = re.subn(r"\{(\s*)(?=[^\s}])", lambda m: "{" + matcher + ", ", text)
            text, empty = re.subn(r"\{\s*\}", "{" + matcher + "}", text)
            added = added or bool(count or empty)
        out.append(text)
    if not added:
        raise ValueError("the query has no stream selector to add a label to")
    return "".join(out)


def count_query(logql: str, interval: timedelta, by: str = "") -> str:
    """The log query's entries counted per `interval` (the timeline), optionally split by a label."""
    seconds = max(1, int(interval.total_seconds()))
    grouping = f" by ({by})" if by else ""
    return f"sum{grouping} (count_over_time({without_comments(logql)} [{seconds}s]))"
