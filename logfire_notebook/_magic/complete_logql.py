"""Completion inside `%%logql` cells: label names after `{` and `,` in a stream selector, a label's values
after `name="` (also `!=`, `=~`, `!~`). Names come from the server (`/labels`, `/label/<name>/values`),
fetched once per kernel by the magic.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["make_logql_matcher", "suggest_logql"]

# label name -> values
Labels = Mapping[str, Sequence[str]]

_VALUE = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)$')
_NAME = re.compile(r"[{,]\s*([A-Za-z_][A-Za-z0-9_]*)?$")


def _in_selector(before: str) -> bool:
    """True when the cursor is inside an unclosed `{` (outside strings)."""
    depth = 0
    in_string = False
    i = 0
    while i < len(before):
        c = before[i]
        if in_string:
            if c == "\\":
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c == "{":
            depth += 1
        elif c == "}":
            depth = max(0, depth - 1)
        i += 1
    return depth > 0


def suggest_logql(labels: Labels, before_cursor: str) -> tuple[str, list[tuple[str, str]]]:
    """(fragment being typed, [(text, "label" | "value")]) for a cursor after `before_cursor`."""
    if not _in_selector(before_cursor):
        return "", []
    value = _VALUE.search(before_cursor)
    if value is not None:
        name, typed = value.group(1), value.group(2)
        return typed, [(v, "value") for v in sorted(labels.get(name, ())) if v.startswith(typed)]
    name_match = _NAME.search(before_cursor)
    if name_match is not None:
        typed = name_match.group(1) or ""
        return typed, [(n, "label") for n in sorted(labels) if n.startswith(typed)]
    return "", []


def make_logql_matcher(get_labels: Callable[[], Labels | None]) -> Callable[..., Any]:
    """A matcher for `IPCompleter.custom_matchers`; `get_labels` returns the cached names (or None)."""
    from logfire_notebook._magic.matcher import Found, cell_matcher

    def complete(lines: list[str], context: Any) -> Found | None:
        # The cell's query up to the cursor (text_until_cursor is the cursor's own line only).
        before = "\n".join([*lines[1 : context.cursor_line], context.text_until_cursor])
        fragment, found = suggest_logql(get_labels() or {}, before)
        return (fragment, found) if found else None

    return cell_matcher("logql", complete)
