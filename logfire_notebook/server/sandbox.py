"""What a user query may touch: an allowlist of tables and functions, checked on DuckDB's parse tree.

A query reaches only `records` and `metrics` (the per-query views `engine.py` makes, which apply the time
window and environments) and the names its own CTEs define. It may call:

- DuckDB's built-in scalar, aggregate and window functions that DuckDB marks as pure (`CONSISTENT`): their
  result depends on their arguments alone, so they can neither read nor change the server's state;
- the clock and random functions of `CLOCK_AND_RANDOM`, the system macros of `MACROS`, and what the
  dialect defines (`dialect.MACROS`, `DIALECT_FUNCTIONS`);
- in FROM, the generators of `TABLE_FUNCTIONS`.

Everything else is refused before the query runs: reading files or settings (`read_csv`, `current_setting`,
`duckdb_settings()`), running SQL text (`query`, `json_execute_serialized_sql`, `json_serialize_plan`),
changing the engine (`enable_logging`, `enable_profiling`, `setseed`, `checkpoint`), naming the store's
own tables (`store.records` skips the window) or the catalog. Being an allowlist, a function DuckDB adds in
a new version stays refused until it is admitted here.

To admit a new function, add its name to the one set below that says why it is safe; a dialect macro in
`dialect.MACROS` is admitted by being there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from logfire_notebook.server import dialect

if TYPE_CHECKING:
    import duckdb

__all__ = [
    "ALLOWED_TABLES",
    "BOUNDED_MACROS",
    "MAX_VALUE_ITEMS",
    "SandboxError",
    "check_tree",
    "pure_functions",
]

ALLOWED_TABLES = frozenset({"records", "metrics"})
"""Unqualified table names a query may read. A catalog view that describes only these (an
information_schema stand-in, say) is admitted here under the name users write."""

TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest", "json_each", "json_tree"})
"""Table functions a query may call in FROM: generators that read nothing."""

CLOCK_AND_RANDOM = frozenset(
    {
        "now",
        "today",
        "current_date",
        "current_localtime",
        "current_localtimestamp",
        "get_current_time",
        "get_current_timestamp",
        "transaction_timestamp",
        "random",
        "uuid",
        "uuidv4",
        "uuidv7",
        "gen_random_uuid",
        "error",
        # DuckDB marks these as depending on the session's time zone, which the request sets.
        "+",
        "-",
        "age",
        "century",
        "date_diff",
        "date_part",
        "date_sub",
        "date_trunc",
        "datediff",
        "datepart",
        "datesub",
        "datetrunc",
        "day",
        "dayname",
        "dayofmonth",
        "dayofweek",
        "dayofyear",
        "decade",
        "era",
        "generate_series",
        "hour",
        "isodow",
        "isoyear",
        "julian",
        "last_day",
        "make_timestamptz",
        "microsecond",
        "millennium",
        "millisecond",
        "minute",
        "month",
        "monthname",
        "quarter",
        "range",
        "second",
        "strftime",
        "time_bucket",
        "timezone",
        "timezone_hour",
        "timezone_minute",
        "week",
        "weekday",
        "weekofyear",
        "year",
        "yearweek",
    }
)
"""Built-ins that are not pure only because they read the clock, the session's time zone or a random
source: harmless. (Not admitted: `current_setting`, `getvariable`, `current_query`, `nextval`, `setseed`,
`sleep_ms`, `write_log` and the like, which read or change the server's state.)"""

MACROS = frozenset(
    {
        "ago",
        "array_append",
        "array_pop_back",
        "array_pop_front",
        "array_prepend",
        "array_push_back",
        "array_push_front",
        "array_reverse",
        "array_to_string",
        "date_add",
        "days_in_month",
        "fdiv",
        "generate_subscripts",
        "geomean",
        "geometric_mean",
        "if",
        "json",
        "json_group_array",
        "json_group_object",
        "json_group_structure",
        "nullif",
        "pg_size_pretty",
        "pg_typeof",
        "regexp_split_to_table",
        "split_part",
        "wavg",
        "weighted_avg",
        *(
            f"list_{name}"
            for name in [
                "any_value",
                "append",
                "approx_count_distinct",
                "avg",
                "bit_and",
                "bit_or",
                "bit_xor",
                "bool_and",
                "bool_or",
                "count",
                "entropy",
                "first",
                "histogram",
                "kurtosis",
                "kurtosis_pop",
                "last",
                "mad",
                "max",
                "median",
                "min",
                "mode",
                "prepend",
                "product",
                "reverse",
                "sem",
                "skewness",
                "stddev_pop",
                "stddev_samp",
                "string_agg",
                "sum",
                "var_pop",
                "var_samp",
            ]
        ),
    }
)
"""DuckDB's system macros that compute from their arguments only (not the catalog or privilege ones)."""

SYNTAX_FUNCTIONS = frozenset({"unnest", "unlist", "list_value", "struct_pack", "row", "count_star"})
"""Names the parser gives to syntax (`[1, 2]`, `{'a': 1}`, `count(*)`, `unnest` in SELECT)."""

DIALECT_FUNCTIONS: frozenset[str] = frozenset()
"""Logfire-dialect functions the server defines in Python (not as macros): add their names here."""

SQL_TEXT_FUNCTIONS = frozenset({"json_serialize_plan"})
"""Pure by DuckDB's marking, but they plan the SQL text they are given, table functions and all."""


MAX_VALUE_ITEMS = 1 << 24
"""The most characters or list items one call of a function that makes values from a count may make."""


def _bounded(arg: str, size: str) -> str:
    # The guard sits in the argument, not around the call: DuckDB folds constant calls while planning, so
    # `CASE WHEN too_big THEN error() ELSE repeat(...) END` would still build the huge value. try_cast to
    # DOUBLE lets one macro serve every overload (a timestamp range's size is NULL: not checked).
    return (
        f"CASE WHEN ({size}) > {MAX_VALUE_ITEMS} THEN error('This value would hold more than "
        f"{MAX_VALUE_ITEMS:,} items; ask for a smaller one.') ELSE {arg} END"
    )


def _d(expr: str) -> str:
    return f"try_cast({expr} AS DOUBLE)"


_SPAN = f"{_d('b')} - {_d('a')}"
_STEPS = f"({_SPAN}) / {_d('s')}"
BOUNDED_MACROS: tuple[str, ...] = tuple(
    f"CREATE OR REPLACE TEMP MACRO {sql}"
    for sql in (
        # length(s::VARCHAR) serves strings, lists and blobs alike (a list's or blob's text is at least as long).
        f"repeat(s, n) AS system.main.repeat(s, {_bounded('n', _d('n') + ' * length(s::VARCHAR)')})",
        f"lpad(s, n, p) AS system.main.lpad(s, {_bounded('n', _d('n'))}, p)",
        f"rpad(s, n, p) AS system.main.rpad(s, {_bounded('n', _d('n'))}, p)",
        f"list_resize(l, n) AS system.main.list_resize(l, {_bounded('n', _d('n'))}), "
        f"(l, n, v) AS system.main.list_resize(l, {_bounded('n', _d('n'))}, v)",
        *(
            f"{name}(a) AS system.main.{name}({_bounded('a', _d('a'))}), "
            f"(a, b) AS system.main.{name}(a, {_bounded('b', _SPAN)}), "
            f"(a, b, s) AS system.main.{name}(a, b, {_bounded('s', _STEPS)})"
            for name in ("range", "generate_series")
        ),
    )
)
"""Stand-ins, set up on every query connection, for the scalar functions that build a value from a count:
one call cannot be interrupted, so `repeat('x', 2000000000)` would take gigabytes before any time or
memory check could stop it. (They shadow only the scalar forms; `FROM range(n)` streams rows and stops
on time.)"""


FORMAT_FUNCTIONS = frozenset({"printf", "format"})
"""Take a width in their format string (`printf('%2000000000s', x)`), which one call would fill: the format
must be a literal with no width over MAX_VALUE_ITEMS and none taken from an argument."""
_WIDE = re.compile(rf"\d{{{len(str(MAX_VALUE_ITEMS))},}}")
_NESTED_FIELD = re.compile(r"\{[^{}]*:[^{}]*\{")  # `{:>{}}`: a width from an argument


def _check_format(expr: dict[str, Any]) -> None:
    name = str(expr.get("function_name", ""))
    arguments = expr.get("arguments") or []
    first = (arguments[0].get("expression") if arguments and isinstance(arguments[0], dict) else None) or {}
    literal = first.get("literal") or {}
    text = str(literal.get("text", "")) if first.get("class") == "CONSTANT" else None
    dynamic = text is not None and (
        "*" in text if name.lower() == "printf" else _NESTED_FIELD.search(text) is not None
    )
    if text is None or dynamic or any(int(m) > MAX_VALUE_ITEMS for m in _WIDE.findall(text)):
        raise SandboxError(
            f"{name}() takes its format as a string literal here, with widths of at most {MAX_VALUE_ITEMS:,} "
            "written in it (not taken from arguments)."
        )


class SandboxError(Exception):
    """The query reaches for something it may not; `str()` is one sentence for the user."""


_MACRO_NAME = re.compile(r"\bMACRO\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def _dialect_macros() -> frozenset[str]:
    return frozenset(m.group(1).lower() for sql in dialect.MACROS for m in _MACRO_NAME.finditer(sql))


def pure_functions(cur: duckdb.DuckDBPyConnection) -> frozenset[str]:
    """Every function name a query may call, from DuckDB's own list of its pure built-ins plus the sets
    above. Computed once per process (the DuckDB version does not change under it)."""
    if not _cache:
        rows = cur.execute(
            "SELECT DISTINCT lower(function_name), function_type IN ('scalar', 'aggregate', 'window') "
            "AND stability = 'CONSISTENT' FROM duckdb_functions() WHERE database_name = 'system'"
        ).fetchall()
        pure = {str(name) for name, is_pure in rows if is_pure} - SQL_TEXT_FUNCTIONS
        admitted = pure | CLOCK_AND_RANDOM | MACROS | SYNTAX_FUNCTIONS | DIALECT_FUNCTIONS | _dialect_macros()
        _cache["admitted"] = frozenset(admitted)
        _cache["known"] = frozenset(str(name) for name, _ in rows) | admitted
    return _cache["admitted"]


_cache: dict[str, frozenset[str]] = {}

_HINT = "queries read only the `records` and `metrics` tables and call DuckDB's built-in functions"


def check_tree(node: dict[str, Any], functions: frozenset[str]) -> None:
    """Raises SandboxError if the parse tree `node` (one statement of json_serialize_sql) reads a table or
    calls a function that is not admitted. Walks without recursion: a hostile query may nest deeply.

    A CTE's name is admitted only where it names the CTE: in the query that defines it, the CTEs after it and
    a recursive CTE's recursive part. Elsewhere the same name reaches the catalog (`WITH pg_settings AS (SELECT
    * FROM pg_settings) ...` reads DuckDB's settings in its own body), so there it is checked as a table."""
    stack: list[tuple[Any, frozenset[str]]] = [(node, frozenset())]
    while stack:
        value, ctes = stack.pop()
        if isinstance(value, list):
            stack.extend((v, ctes) for v in value)
            continue
        if not isinstance(value, dict):
            continue
        cte_map = value.get("cte_map")
        entries = (cte_map.get("map") if isinstance(cte_map, dict) else None) or []
        if entries:
            ctes = _push_ctes(entries, ctes, stack)
            value = {k: v for k, v in value.items() if k != "cte_map"}
        if value.get("type") == "RECURSIVE_CTE_NODE":
            # The anchor (left) cannot see the CTE itself; the recursive part (right) can.
            own = str(value.get("cte_name", "")).lower()
            stack.append((value.get("left"), ctes - {own}))
            stack.append((value.get("right"), ctes | {own}))
            value = {k: v for k, v in value.items() if k not in ("left", "right")}
        kind = value.get("type")
        if kind == "BASE_TABLE":
            _check_table(value, ctes)
        elif kind == "TABLE_FUNCTION":
            function = value.get("function") or {}
            _check_table_function(function)
            stack.append((function.get("arguments"), ctes))
            continue
        elif kind == "SHOW_REF" and not value.get("query"):
            raise SandboxError(f"SHOW {value.get('table_name') or ''} is not available here; {_HINT}.")
        elif value.get("class") in ("FUNCTION", "AGGREGATE", "WINDOW"):
            _check_function(value, functions)
            if str(value.get("function_name", "")).lower() in FORMAT_FUNCTIONS:
                _check_format(value)
        stack.extend((v, ctes) for v in value.values() if isinstance(v, (dict, list)))


def _push_ctes(
    entries: list[Any], outer: frozenset[str], stack: list[tuple[Any, frozenset[str]]]
) -> frozenset[str]:
    """Puts each CTE's body on `stack` with the names it can see (the outer ones and the CTEs before it; a
    recursive one sees itself in its recursive part only); returns the names the defining query sees."""
    seen = outer
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        name = str(entry.get("key", "")).lower()
        body = (entry.get("value") or {}).get("query_node") if isinstance(entry.get("value"), dict) else None
        stack.append((body, seen - {name}))
        seen = seen | {name}
    return seen


def _qualified(parts: Iterable[str]) -> str:
    return ".".join(p for p in parts if p)


def _check_table(ref: dict[str, Any], ctes: frozenset[str]) -> None:
    name = str(ref.get("table_name", ""))
    qualified = _qualified((ref.get("catalog_name", ""), ref.get("schema_name", ""), name))
    if qualified == name and (name.lower() in ALLOWED_TABLES or name.lower() in ctes):
        return
    raise SandboxError(
        f"`{qualified}` is not available: {_HINT}; `records` and `metrics` apply the time range and "
        "environment filters of the request."
    )


def _check_table_function(function: dict[str, Any]) -> None:
    name = str(function.get("function_name", ""))
    qualified = _qualified((function.get("catalog", ""), function.get("schema", ""), name))
    if name.lower() not in TABLE_FUNCTIONS:
        raise SandboxError(
            f"{qualified}() is not available: {_HINT}, never files, settings or other SQL "
            f"(table functions allowed: {', '.join(sorted(TABLE_FUNCTIONS))})."
        )


def _check_function(expr: dict[str, Any], functions: frozenset[str]) -> None:
    name = str(expr.get("function_name", ""))
    qualified = _qualified((expr.get("catalog", ""), expr.get("schema", ""), name))
    if qualified != name:
        # `system.main.repeat` would reach past the bounded stand-in of BOUNDED_MACROS.
        raise SandboxError(f"{qualified}(): call functions by their plain name ({name}), without a schema.")
    if name.lower() in functions:
        return
    if name.lower() not in _cache.get("known", frozenset()):
        raise SandboxError(
            f"{qualified}() is not a function this server knows; check its name and arguments."
        )
    raise SandboxError(
        f"{qualified}() is not available here: {_HINT} that compute from their arguments, never ones "
        "that read or change the server's settings, files or state."
    )
