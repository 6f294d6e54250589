"""The JSON functions of datafusion-functions-json, which Logfire's SQL has, as DuckDB macros.

Source: github.com/datafusion-contrib/datafusion-functions-json (README "Done" list, src/json_get_*.rs,
src/rewrite.rs). Each takes a JSON text and a path of keys (strings) or array indexes (integers):

- `json_get(j, *path)`: the value as JSON (`->`); `json_as_text(j, *path)`: as text (`->>`);
- `json_get_str` / `json_get_int` / `json_get_float` / `json_get_bool`: the value if it is of that type, or
  a string that parses as one (not `json_get_str`), else NULL; `json_get_json`: the raw JSON text;
  `json_get_array`: an array as a list of its items' JSON texts;
- `json_contains(j, *path)`: whether the path exists (the `?` operator); `json_length(j, *path)`: the
  length of the array or object there; `json_object_keys` / `json_keys(j, *path)`: its keys.

DuckDB macros are not variadic, so each comes in overloads for up to `MAX_PATH` keys. `_lf_as_*` convert
one JSON value the way the typed getters do; `dialect.py` also uses them for `(j->'k')::numeric`, which
datafusion-functions-json rewrites into `json_get_float` (src/rewrite.rs, `optimise_json_get_cast`).
"""

from __future__ import annotations

__all__ = ["MACROS", "MAX_PATH", "TYPED_GETTERS"]

MAX_PATH = 6

_INTEGER_TYPES = "('UBIGINT', 'BIGINT', 'HUGEINT')"
_NUMBER_TYPES = "('UBIGINT', 'BIGINT', 'HUGEINT', 'DOUBLE')"

# One JSON value (already found by `->`) to a SQL value, as json_get_<type> does.
_CONVERTERS = {
    "_lf_as_str": "CASE WHEN json_type(v) = 'VARCHAR' THEN v->>'$' END",
    "_lf_as_int": (
        f"CASE WHEN json_type(v) IN {_INTEGER_TYPES} THEN TRY_CAST(v AS BIGINT) "
        "WHEN json_type(v) = 'VARCHAR' THEN TRY_CAST(v->>'$' AS BIGINT) END"
    ),
    "_lf_as_float": (
        f"CASE WHEN json_type(v) IN {_NUMBER_TYPES} THEN TRY_CAST(v AS DOUBLE) "
        "WHEN json_type(v) = 'VARCHAR' THEN TRY_CAST(v->>'$' AS DOUBLE) END"
    ),
    "_lf_as_bool": (
        "CASE WHEN json_type(v) = 'BOOLEAN' THEN TRY_CAST(v AS BOOLEAN) "
        "WHEN v->>'$' = 'true' AND json_type(v) = 'VARCHAR' THEN true "
        "WHEN v->>'$' = 'false' AND json_type(v) = 'VARCHAR' THEN false END"
    ),
    "_lf_as_json": "CAST(v AS VARCHAR)",
}

TYPED_GETTERS = {
    "str": "_lf_as_str",
    "int": "_lf_as_int",
    "float": "_lf_as_float",
    "bool": "_lf_as_bool",
}
"""The converter macro for each kind of cast target (see dialect.py's cast rewrite)."""


def _found(n: int) -> str:
    """The JSON value at a path of `n` keys k1..kn of `j` (`j` itself for n = 0)."""
    # Text that is not JSON gives NULL, as in DataFusion, rather than failing the query.
    expr = "TRY_CAST(j AS JSON)"
    for i in range(1, n + 1):
        expr = f"({expr}->k{i})"
    return expr


def _overloads(name: str, body: str, *, min_keys: int) -> str:
    """`CREATE MACRO name(j, k1..kn) AS body` for every n from min_keys to MAX_PATH; `{v}` in body is the
    JSON value found at the path."""
    parts = []
    for n in range(min_keys, MAX_PATH + 1):
        params = ", ".join(["j", *(f"k{i}" for i in range(1, n + 1))])
        parts.append(f"({params}) AS {body.format(v=_found(n))}")
    return f"CREATE OR REPLACE TEMP MACRO {name}" + ", ".join(parts)


MACROS: tuple[str, ...] = (
    *(f"CREATE OR REPLACE TEMP MACRO {name}(v) AS ({body})" for name, body in _CONVERTERS.items()),
    _overloads("json_get", "{v}", min_keys=0),
    _overloads("json_get_json", "_lf_as_json({v})", min_keys=0),
    # A JSON array as a list of its items' JSON texts (for unnest), NULL if it is not an array.
    _overloads("json_get_array", "CAST(TRY_CAST({v} AS JSON[]) AS VARCHAR[])", min_keys=0),
    _overloads("json_as_text", "({v}->>'$')", min_keys=0),
    *(_overloads(f"json_get_{kind}", f"{conv}({{v}})", min_keys=0) for kind, conv in TYPED_GETTERS.items()),
    _overloads("json_contains", "({v} IS NOT NULL)", min_keys=0),
    _overloads(
        "json_length",
        "(CASE json_type({v}) WHEN 'ARRAY' THEN json_array_length({v}) "
        "WHEN 'OBJECT' THEN len(system.main.json_keys({v})) END)",
        min_keys=0,
    ),
    *(
        # DuckDB's own json_keys, by its full name: the macro shadows it. NULL when not an object.
        _overloads(
            name, "(CASE WHEN json_type({v}) = 'OBJECT' THEN system.main.json_keys({v}) END)", min_keys=0
        )
        for name in ("json_object_keys", "json_keys")
    ),
)
