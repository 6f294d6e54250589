"""`{name}` parameters in query text, the part every query language shares.

A language module splits its text into ("code" | "string" | ...) pieces with its own tokenizer and gives
its own literal function (SQL: `_sqlparams.literal`; LogQL: `_loki.logql.string_literal`); the rules on
names are the same everywhere and live here:

- in code, `{name}` becomes `literal(value)` of the notebook variable `name`; `{{` and `}}` are literal braces;
- a name glued to a word or to another parameter is refused (it could merge two tokens into one);
- a name that is not defined, or a value with no literal, is a `ParameterError` saying what to do.

Because every value goes through the language's literal function, no value can change the query's shape.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["NAME", "ParameterError", "quoted_name_error", "replace_names", "substitute_pieces"]

NAME = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ParameterError(ValueError):
    """A parameter (a `{name}`, a placeholder or a value) that cannot be used; the message says what to do."""


def substitute_pieces(
    pieces: Iterable[tuple[str, str]],
    namespace: Mapping[str, Any],
    literal: Callable[[Any], str],
    language: str,
    check_string: Callable[[str], str],
) -> str:
    """The pieces joined back, with names replaced in "code" and `check_string` applied to "string" ones."""
    out: list[str] = []
    for kind, text in pieces:
        if kind == "code":
            out.append(replace_names(text, namespace, literal, language))
        elif kind == "string":
            out.append(check_string(text))
        else:
            out.append(text)
    return "".join(out)


def quoted_name_error(name: str, escape_hint: str = "") -> ParameterError:
    """`{name}` written inside quotes: the user quoting a value is the injection-prone pattern."""
    return ParameterError(
        f"{{{name}}} is inside a quoted string: write {{{name}}} without the quotes around it; "
        f"the value is quoted safely for you{escape_hint}."
    )


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
        match = NAME.match(text, i)
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
