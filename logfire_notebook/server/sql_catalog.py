"""Catalog queries in DataFusion's shape: `SHOW COLUMNS FROM records` and `information_schema`.

DataFusion answers `SHOW COLUMNS FROM t` with `table_catalog, table_schema, table_name, column_name,
data_type, is_nullable` (`YES`/`NO`), the leading columns of its `information_schema.columns`. Here both
are a SELECT over a VALUES list built from the table schema (`_schema.py`, plus the `value` column of
`metrics`), so they read no catalog and pass the sandbox like any other query.

Not confirmed against the real service: the catalog and schema names (DataFusion's defaults `datafusion`
and `public` are used) and the exact spelling of `data_type` (arrow-rs's debug form of the Arrow type,
which DataFusion prints there, is used).
"""

from __future__ import annotations

from logfire_notebook._schema import TABLES, Column
from logfire_notebook.server.store import WIDE_COUNTS

__all__ = ["CATALOG", "SCHEMA", "columns_select", "show_columns_select", "tables_select"]

CATALOG = "datafusion"
SCHEMA = "public"

_ITEM = 'Field {{ name: "item", data_type: {}, nullable: true, dict_id: 0, dict_is_ordered: false, metadata: {{}} }}'
_ARROW = {
    "TEXT": "Utf8",
    "TIMESTAMP WITH TIME ZONE": 'Timestamp(Microsecond, Some("UTC"))',
    "DATE": "Date32",
    "DOUBLE PRECISION": "Float64",
    "INTEGER": "Int32",
    "BOOLEAN": "Boolean",
}
_VALUE_TYPE = (
    "Struct([count Float64, sum Float64, min Float64, max Float64, kind Utf8, bounds List(Float64), "
    "counts List(Int32), scale Int32, zero_count Int32, pos_offset Int32, pos_counts List(Int32), "
    'neg_offset Int32, neg_counts List(Int32), increase Float64, interval_start Timestamp(Microsecond, Some("UTC"))])'
)
_COLUMNS = (
    "table_catalog",
    "table_schema",
    "table_name",
    "column_name",
    "ordinal_position",
    "column_default",
    "is_nullable",
    "data_type",
    "character_maximum_length",
    "character_octet_length",
    "numeric_precision",
    "numeric_precision_radix",
    "numeric_scale",
    "datetime_precision",
    "interval_type",
)


def _arrow_type(column: Column) -> str:
    # The store keeps the counts Logfire calls INTEGER as 64-bit (store.WIDE_COUNTS): say what a query returns.
    base = "Int64" if column.name in WIDE_COUNTS else _ARROW[column.pg_type.removesuffix("[]")]
    return f"List({_ITEM.format(base)})" if column.is_list else base


def _literal(value: str | int | None) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def _rows() -> list[tuple[str | int | None, ...]]:
    rows: list[tuple[str | int | None, ...]] = []
    for table, columns in TABLES.items():
        described = [(c.name, _arrow_type(c), c.nullable) for c in columns]
        if table == "metrics":
            described.append(("value", _VALUE_TYPE, True))
        for position, (name, arrow, nullable) in enumerate(described):
            precision = 64 if arrow in ("Float64", "Int64") else 32 if arrow == "Int32" else None
            rows.append(
                (
                    *(CATALOG, SCHEMA, table, name, position),
                    *(None, "YES" if nullable else "NO", arrow, None, None),
                    *(precision, 2 if precision else None, None, None, None),
                )
            )
    return rows


def columns_select() -> str:
    """DataFusion's `information_schema.columns` for `records` and `metrics`, as a SELECT."""
    values = ", ".join("(" + ", ".join(_literal(v) for v in row) + ")" for row in _rows())
    # Casts give all-NULL columns a type (DuckDB would call them NULL) and positions BIGINT, as DataFusion.
    types = ["VARCHAR"] * 4 + ["BIGINT", "VARCHAR", "VARCHAR", "VARCHAR"] + ["BIGINT"] * 6 + ["VARCHAR"]
    casts = ", ".join(f"CAST(v.{name} AS {t}) AS {name}" for name, t in zip(_COLUMNS, types, strict=True))
    return f"SELECT {casts} FROM (VALUES {values}) AS v({', '.join(_COLUMNS)})"


def tables_select() -> str:
    """DataFusion's `information_schema.tables` for `records` and `metrics`, as a SELECT."""
    values = ", ".join(f"('{CATALOG}', '{SCHEMA}', '{t}', 'VIEW')" for t in TABLES)
    return f"SELECT * FROM (VALUES {values}) AS v(table_catalog, table_schema, table_name, table_type)"


def show_columns_select(table: str) -> str:
    """What DataFusion runs for `SHOW COLUMNS FROM <table>`."""
    if table not in TABLES:
        message = f"SHOW COLUMNS: there is no table {table!r}; the tables are {' and '.join(TABLES)}."
        return f"SELECT error({_literal(message)})"
    return (
        "SELECT table_catalog, table_schema, table_name, column_name, data_type, is_nullable "
        f"FROM ({columns_select()}) WHERE table_name = {_literal(table)} ORDER BY ordinal_position"
    )
