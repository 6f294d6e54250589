"""`{name}` parameters in `%%logfire` SQL, replaced by safe literals.

The SQL is tokenized (quoted strings, quoted identifiers, dollar quotes, comments) rather than searched with a
regex, so that the meaning of a brace depends on where it is:

- in plain SQL, `{name}` becomes the value of `name` in the user's namespace as a typed SQL literal
  (`logfire_notebook._sqlparams.literal`), `{{` and `}}` are literal braces, any other brace stays as is;
- inside a quoted string, `{name}` is an error (the user is quoting a value themselves, which is the
  injection-prone pattern; the hint says to write `{name}` without quotes), `{{name}}` is a literal `{name}`
  and other braces (JSON text) stay as they are;
- inside comments nothing is replaced, so commented-out lines never fail.

Because every value goes through `literal`, no value can change the shape of the query.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["ParameterError", "replace_names", "substitute"]

_NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ESCAPED_NAME = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


class ParameterError(ValueError):
    """A `{name}` parameter that cannot be used; the message says which and what to do."""


def substitute(sql: str, namespace: Mapping[str, Any], literal: Callable[[Any], str] | None = None) -> str:
    """Return `sql` with its `{name}` parameters replaced by literals of the values in `namespace`."""
    if "{" not in sql and "}" not in sql:
        return sql
    if literal is None:
        from logfire_notebook._sqlparams import literal as sql_literal

        literal = sql_literal
    out: list[str] = []
    for kind, text in _tokens(sql):
        if kind == "code":
            out.append(replace_names(text, namespace, literal))
        elif kind == "string":
            out.append(_check_string(text))
        else:
            out.append(text)
    return "".join(out)


def replace_names(
    text: str, namespace: Mapping[str, Any], literal: Callable[[Any], str], language: str = "SQL"
) -> str:
    """`{name}` -> `literal(value)` in code text (not strings or comments); `{{`/`}}` are literal braces."""
    out: list[str] = []
    i = 0
    last_end = -1
    while i < len(text):
        if text.startswith("{{", i) or text.startswith("}}", i):
            out.append(text[i])
            i += 2
            continue
        match = _NAME.match(text, i)
        if match is None:
            out.append(text[i])
            i += 1
            continue
        name = match.group(1)
        before = text[i - 1] if i > 0 else ""
        if before.isalnum() or before == "_" or last_end == i:
            # `E{v}` would make the literal an E'...' string, where a backslash escapes the closing quote;
            # `{a}{b}` would join two literals into one. Either lets a value change the query.
            glued = "another parameter" if last_end == i else f"`{before}`"
            raise ParameterError(
                f"{{{name}}} follows {glued} directly: put a space or an operator before it, so the value "
                "stays one separate literal."
            )
        if name not in namespace:
            raise ParameterError(
                f"{{{name}}} in the {language} names no variable: define `{name}` in the notebook first, "
                f"or write {{{{{name}}}}} for literal braces."
            )
        try:
            out.append(literal(namespace[name]))
        except (TypeError, ValueError, OverflowError) as exc:
            what = "an SQL value" if language == "SQL" else f"a {language} string"
            raise ParameterError(f"{{{name}}} cannot be used as {what}: {exc}") from None
        i = last_end = match.end()
    return "".join(out)


def _check_string(text: str) -> str:
    match = _NAME.search(_ESCAPED_NAME.sub("", text))
    if match is not None:
        name = match.group(1)
        raise ParameterError(
            f"{{{name}}} is inside a quoted string: write {{{name}}} without the quotes around it; "
            f"the value is quoted safely for you (use {{{{{name}}}}} for a literal brace)."
        )
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
