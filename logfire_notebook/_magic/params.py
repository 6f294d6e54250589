"""`{name}` parameters in `%%logfire` SQL, replaced by safe literals.

The SQL is tokenized (quoted strings, quoted identifiers, dollar quotes, comments) rather than searched with a
regex, so that the meaning of a brace depends on where it is:

- in plain SQL, `{name}` becomes the value of `name` in the user's namespace as a typed SQL literal
  (`logfire_notebook._sqlparams.literal`), `{{` and `}}` are literal braces, any other brace stays as is;
- inside a quoted string, `{name}` is an error (the user is quoting a value themselves, which is the
  injection-prone pattern; the hint says to write `{name}` without quotes), `{{name}}` is a literal `{name}`
  and other braces (JSON text) stay as they are;
- inside comments nothing is replaced, so commented-out lines never fail.

Because every value goes through `literal`, no value can change the shape of the query. The rules on names
themselves (gluing, undefined names, `{{`) are shared with LogQL and live in `logfire_notebook._params`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from logfire_notebook._params import NAME, ParameterError, quoted_name_error, substitute_pieces

__all__ = ["ParameterError", "substitute"]

_ESCAPED_NAME = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def substitute(sql: str, namespace: Mapping[str, Any], literal: Callable[[Any], str] | None = None) -> str:
    """Return `sql` with its `{name}` parameters replaced by literals of the values in `namespace`."""
    if "{" not in sql and "}" not in sql:
        return sql
    if literal is None:
        from logfire_notebook._sqlparams import literal as sql_literal

        literal = sql_literal
    return substitute_pieces(_tokens(sql), namespace, literal, "SQL", _check_string)


def _check_string(text: str) -> str:
    match = NAME.search(_ESCAPED_NAME.sub("", text))
    if match is not None:
        raise quoted_name_error(match.group(1), f" (use {{{{{match.group(1)}}}}} for a literal brace)")
    return _ESCAPED_NAME.sub(r"{\1}", text)


def _tokens(sql: str) -> list[tuple[str, str]]:
    """Split `sql` into ("code" | "string" | "identifier" | "comment", text) pieces that join back to `sql`."""
    pieces: list[tuple[str, str]] = []
    code_start = 0
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        end = -1
        kind = ""
        if c == "'":
            # E'...' strings allow backslash escapes; the E belongs to the string token.
            escapes = (
                i > 0 and sql[i - 1] in "eE" and (i == 1 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            )
            end, kind = _quoted_end(sql, i, "'", escapes), "string"
        elif c == '"':
            end, kind = _quoted_end(sql, i, '"', False), "identifier"
        elif sql.startswith("--", i):
            newline = sql.find("\n", i)
            end, kind = (n if newline < 0 else newline), "comment"
        elif sql.startswith("/*", i):
            end, kind = _block_comment_end(sql, i), "comment"
        elif c == "$" and (i == 0 or not (sql[i - 1].isalnum() or sql[i - 1] == "_")):
            tag = _DOLLAR_TAG.match(sql, i)
            if tag is not None:
                close = sql.find(tag.group(0), tag.end())
                end, kind = (n if close < 0 else close + len(tag.group(0))), "string"
        if end < 0:
            i += 1
            continue
        if code_start < i:
            pieces.append(("code", sql[code_start:i]))
        pieces.append((kind, sql[i:end]))
        code_start = i = end
    if code_start < n:
        pieces.append(("code", sql[code_start:]))
    return pieces


def _quoted_end(sql: str, start: int, quote: str, backslash_escapes: bool) -> int:
    """Index just past the closing quote (a doubled quote is an escaped one); end of text if unclosed."""
    i = start + 1
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash_escapes and c == "\\":
            i += 2
            continue
        if c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    return n


def _block_comment_end(sql: str, start: int) -> int:
    """Index just past the `*/` closing the comment at `start`; Postgres block comments nest."""
    depth = 0
    i = start
    n = len(sql)
    while i < n:
        if sql.startswith("/*", i):
            depth += 1
            i += 2
        elif sql.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return n
