"""Names of unaliased output columns, the way DataFusion (Logfire's engine) writes them.

A notebook that indexes a result by `df["sum(records.duration)"]` must work on both the service and the
local backend. DataFusion names an expression by its "schema name": a plain column by its name, a function
call `name(args)` with its arguments joined by "," (no space), column arguments qualified by their
relation (`records.duration`, or the alias: `r.duration`), literals by type (`Int64(1)`, `Float64(0.5)`,
`Utf8("x")`, `Boolean(true)`), `count(*)`, `count(DISTINCT records.trace_id)`, and binary arithmetic as
`records.duration * Int64(1000)`.

Confirmed against a real answer: `count(*)` (fixtures/logfire-api/v2/test_query_params_sync.yaml). The rest
follows DataFusion's `schema_name` rules as we know them, for queries over one table; anything else (casts,
CASE, comparisons, JSON operators, joins, nested arithmetic, rewritten dialect forms) keeps DuckDB's name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["datafusion_names"]

_ARITHMETIC = {"+", "-", "*", "/", "%"}
# Functions the dialect rewrote from another spelling: their DuckDB name is not what the user wrote.
_REWRITTEN = {"approx_quantile", "json_contains", "_lf_as_str", "_lf_as_int", "_lf_as_float", "_lf_as_bool"}


class _Unnamed(Exception):
    """No DataFusion name is known for this expression: keep DuckDB's."""


def datafusion_names(node: dict[str, Any], names: list[str]) -> list[str]:
    """The output column names, DataFusion's where known; `names` are DuckDB's, in order."""
    exprs = node.get("select_list") or [] if node.get("type") == "SELECT_NODE" else []
    if len(exprs) != len(names) or any(e.get("class") == "STAR" for e in exprs):
        return names
    source = node.get("from_table") or {}
    qualifier = None
    if source.get("type") == "BASE_TABLE" and not source.get("schema_name"):
        qualifier = source.get("alias") or source.get("table_name")
    out = []
    for expr, name in zip(exprs, names, strict=True):
        if expr.get("alias") or expr.get("class") == "COLUMN_REF":
            out.append(name)
            continue
        try:
            out.append(_name(expr, qualifier))
        except _Unnamed:
            out.append(name)
    return out


def _name(expr: dict[str, Any], qualifier: str | None) -> str:
    cls = expr.get("class")
    if cls == "COLUMN_REF":
        parts = [str(p) for p in expr.get("column_names") or []]
        if len(parts) == 1 and qualifier:
            return f"{qualifier}.{parts[0]}"
        if len(parts) == 2:
            return ".".join(parts)
        raise _Unnamed
    if cls == "CONSTANT":
        return _literal(expr.get("literal") or {})
    if cls in ("FUNCTION", "AGGREGATE"):
        return _call(expr, qualifier)
    raise _Unnamed


def _literal(literal: dict[str, Any]) -> str:
    kind, text = str(literal.get("kind", "")).upper(), str(literal.get("text", ""))
    if kind in ("INTEGER", "BIGINT"):
        return f"Int64({text})"
    if kind in ("NUMERIC", "DECIMAL", "DOUBLE"):
        return f"Float64({text})"
    if kind in ("STRING", "VARCHAR"):
        return f'Utf8("{text}")'
    if kind == "BOOLEAN":
        return f"Boolean({text.lower()})"
    if kind.startswith("NULL"):
        return "NULL"
    raise _Unnamed


def _call(expr: dict[str, Any], qualifier: str | None) -> str:
    name = str(expr.get("function_name", "")).lower()
    if expr.get("filter") or (expr.get("order_bys") or {}).get("orders") or name in _REWRITTEN:
        raise _Unnamed
    if name == "count_star":
        return "count(*)"
    args = [a.get("expression") or {} for a in expr.get("arguments") or []]
    if expr.get("is_operator"):
        if name not in _ARITHMETIC or len(args) != 2 or any(a.get("class") == "FUNCTION" for a in args):
            raise _Unnamed
        return f"{_name(args[0], qualifier)} {name} {_name(args[1], qualifier)}"
    if not name.replace("_", "").isalnum():
        raise _Unnamed
    inner = ",".join(_name(a, qualifier) for a in args)
    return f"{name}({'DISTINCT ' if expr.get('distinct') else ''}{inner})"
