"""Completion of table and column names inside `%%logfire` cells (IPython's matcher API v2).

Names come from the backend's `/v1/schemas` (fetched once per kernel by the magic); after `FROM`/`JOIN`
only tables are offered, elsewhere the columns of the tables the cell mentions (all tables' if none yet)
and the table names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["Schemas", "make_matcher", "names_from_payload", "suggest"]

# table name -> column names
Schemas = Mapping[str, Sequence[str]]

_FRAGMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_AFTER_FROM = re.compile(r"\b(from|join)\s+[A-Za-z0-9_]*$", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def names_from_payload(payload: Mapping[str, Any]) -> dict[str, list[str]]:
    """`{table: [columns]}` from a `/v1/schemas` body (`{"tables": [{"name", "schema": {col: ...}}]}`)."""
    names: dict[str, list[str]] = {}
    for table in payload.get("tables", []):
        names[str(table["name"])] = [str(col) for col in table.get("schema", {})]
    return names


def suggest(schemas: Schemas, cell_text: str, before_cursor: str) -> tuple[str, list[tuple[str, str]]]:
    """(fragment being typed, [(name, "table" | "column")]) for a cursor after `before_cursor`."""
    match = _FRAGMENT.search(before_cursor)
    fragment = match.group(0) if match else ""
    lower = fragment.lower()
    tables = [t for t in schemas if t.lower().startswith(lower)]
    if _AFTER_FROM.search(before_cursor):
        return fragment, [(t, "table") for t in sorted(tables)]
    mentioned = {w.lower() for w in _WORD.findall(cell_text)}
    in_cell = [t for t in schemas if t.lower() in mentioned] or list(schemas)
    columns = sorted({c for t in in_cell for c in schemas[t] if c.lower().startswith(lower)})
    return fragment, [(c, "column") for c in columns] + [(t, "table") for t in sorted(tables)]


def make_matcher(get_schemas: Callable[[], Schemas | None]) -> Callable[..., Any]:
    """A matcher for `IPCompleter.custom_matchers`; `get_schemas` returns the cached names (or None)."""
    from logfire_notebook._magic.matcher import Found, cell_matcher

    def complete(lines: list[str], context: Any) -> Found | None:
        schemas = get_schemas()
        if not schemas:
            return None
        # Once names are known, the SQL body is completed with them only, even when none fits.
        return suggest(schemas, "\n".join(lines[1:]), context.text_until_cursor)

    return cell_matcher("logfire", complete)
