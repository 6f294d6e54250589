"""The magic line: `[VAR <<] [options]` for `%%logfire`, `[VAR <<] [options] SQL` for `%logfire`.

The options themselves are declared with IPython's `magic_arguments` on the magic (so `%%logfire?` shows
them); this module splits off the `VAR <<` assignment and, for the line form, finds where the options end
and the SQL begins without tokenizing the SQL (its quotes are not shell quotes).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["VALUE_OPTIONS", "Line", "output_arguments", "split_line"]

_F = TypeVar("_F", bound=Callable[..., Any])

# Options of %%logfire that take a value; all other options are flags. Kept in step with the magic's
# @argument list (a unit test checks this against the parser). Another magic passes its own set.
VALUE_OPTIONS = frozenset({"--since", "--until", "--limit", "--env", "--trace"})

_ASSIGN = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*<<")
_OPTION = re.compile(r"""\s*(--[A-Za-z][\w-]*)(?:=(?:"[^"]*"|'[^']*'|\S+)|(?=\s|$))""")
_VALUE = re.compile(r"""\s+("[^"]*"|'[^']*'|[^\s]+)""")


@dataclass(frozen=True)
class Line:
    assign: str | None
    """The variable named by `VAR <<`, if any."""
    options: str
    """The option part of the line, for `magic_arguments.parse_argstring`."""
    sql: str
    """SQL written on the line after the options (the `%logfire` form); empty for `%%logfire`."""


def split_line(line: str, value_options: frozenset[str] = VALUE_OPTIONS) -> Line:
    """Split a magic line into the assignment, the options and the query that follows them."""
    assign = None
    pos = 0
    match = _ASSIGN.match(line)
    if match is not None:
        assign = match.group(1)
        pos = match.end()
    options_start = pos
    while True:
        option = _OPTION.match(line, pos)
        if option is None:
            break
        pos = option.end()
        if option.group(1) in value_options and "=" not in option.group(0):
            value = _VALUE.match(line, pos)
            if value is not None:
                pos = value.end()
    return Line(assign=assign, options=line[options_start:pos].strip(), sql=line[pos:].strip())


def output_arguments(widget: str) -> Callable[[_F], _F]:
    """The options every query magic has for what the cell gives back: --no-widget, --arrow, --pandas."""
    from IPython.core import magic_arguments

    argument: Any = magic_arguments.argument  # untyped in IPython
    declared = [
        argument(
            "--no-widget", action="store_true", help=f"show a plain table instead of the {widget} widget"
        ),
        argument("--arrow", action="store_true", help="return a pyarrow.Table instead of a Polars DataFrame"),
        argument(
            "--pandas", action="store_true", help="return a pandas DataFrame instead of a Polars DataFrame"
        ),
    ]

    def add(magic: _F) -> _F:
        for option in reversed(declared):  # as if written in this order above the magic
            magic = option(magic)
        return magic

    return add
