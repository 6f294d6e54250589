"""`loki_entries.json_plain`: computed once per line when it is stored, true when the line is a flat JSON
object whose keys and values DuckDB's JSON reader and Python's `json` module read alike, whatever keys a
query asks for. The SQL pipeline (`sqlpipe.py`) then skips its per-query checks of the line for those rows (a
regex pass over every line, which cost more than the JSON parse itself); other lines (nested objects among
them), and rows stored before the column existed (NULL), are checked as before.

A plain line opens with `{`, holds no other `{` (so its keys are the top-level ones), no backslash, no
trailing comma, no NaN/Infinity literal in any spelling (DuckDB reads them all, Python only three), no key
Loki renames and no key twice. It may still be invalid JSON: the pipeline finds that from its own parse.
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


def _sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def insert_sql(source: str) -> str:
    """INSERT of the entries in `source` (tenant, stream_id, ts, line, metadata) with their `json_plain`."""
    flat = "ascii(line) = 123 AND NOT contains(line, '\\') AND NOT (line LIKE '{%{%')"
    # CASE, not AND: a projection evaluates every operand of AND on every row, CASE only what it reaches.
    plain = (
        f"CASE WHEN keys_ IS NULL OR regexp_matches(line, {_sql(ODD_SYNTAX + '|' + ODD_KEY)}) THEN false "
        "ELSE list_unique(keys_) = len(keys_) END"
    )
    # try(): a line that only opens like JSON has no keys (and is not plain).
    keys = f"CASE WHEN {flat} THEN try(json_keys(line)) END"
    return (
        "INSERT INTO store.loki_entries (tenant, stream_id, ts, line, metadata, json_plain) "
        f"SELECT tenant, stream_id, ts, line, metadata, {plain} "
        f"FROM (SELECT *, {keys} AS keys_ FROM {source})"
    )


COLUMN_DDL = "ALTER TABLE store.loki_entries ADD COLUMN IF NOT EXISTS json_plain BOOLEAN"
