"""`loki_entries.json_plain`: computed once per line when it is stored, true when the line is a JSON object
that DuckDB's JSON reader and Python's `json` module read alike, whatever keys a query asks for. The SQL
pipeline (`sqlpipe.py`) then skips its per-query checks of the line for those rows (a regex pass over every
line, which cost more than the JSON parse itself); other lines, and rows stored before the column existed
(NULL), are checked as before.

A plain line opens with `{`, is valid to DuckDB, holds no backslash (so every `"` opens or closes a string,
and `"..."` followed by `:` is a key), no trailing comma, no NaN/Infinity literal in any spelling (DuckDB
reads them all, Python only three), no key Loki renames, no key twice anywhere in the line, and is not
nested deeper than Python's decoder goes.
"""

from __future__ import annotations

__all__ = ["COLUMN_DDL", "DEEP_SQL", "ODD_KEY", "ODD_SYNTAX", "insert_sql"]

# A key Loki renames (a character other than [A-Za-z0-9_], a leading digit, an empty key): the label names
# of such a line are not the keys themselves.
ODD_KEY = r'"(?:[^"\\]|\\.)*(?:[^A-Za-z0-9_"\\]|\\.)(?:[^"\\]|\\.)*"\s*:|"[0-9](?:[^"\\]|\\.)*"\s*:|""\s*:'
# Trailing commas and NaN/Infinity literals: DuckDB takes them, Python refuses all but NaN, Infinity and
# -Infinity (and reads those as floats).
ODD_SYNTAX = r",\s*[\]}]|[:,\[]\s*[-+]?(?i:nan|inf)"

# Python's decoder gives up past ~1,000 nested levels; DuckDB's does not.
DEEP_SQL = "(strlen(line) > 900 AND strlen(line) - strlen(replace(replace(line, '[', ''), '{', '')) > 900)"

_KEYS = r'"([^"]*)"\s*:'


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def insert_sql(source: str) -> str:
    """INSERT of the entries in `source` (tenant, stream_id, ts, line, metadata) with their `json_plain`."""
    plain = (
        f"(ascii(line) = 123 AND NOT contains(line, '\\') AND json_valid(line) "
        f"AND NOT regexp_matches(line, {_sql(ODD_SYNTAX + '|' + ODD_KEY)}) AND NOT {DEEP_SQL} "
        "AND list_unique(keys_) = len(keys_))"
    )
    keys = f"CASE WHEN ascii(line) = 123 THEN regexp_extract_all(line, {_sql(_KEYS)}, 1) END"
    return (
        "INSERT INTO store.loki_entries (tenant, stream_id, ts, line, metadata, json_plain) "
        f"SELECT tenant, stream_id, ts, line, metadata, coalesce({plain}, false) "
        f"FROM (SELECT *, {keys} AS keys_ FROM {source})"
    )


COLUMN_DDL = "ALTER TABLE store.loki_entries ADD COLUMN IF NOT EXISTS json_plain BOOLEAN"
