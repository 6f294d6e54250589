"""Logfire's tables in the shapes ADBC catalog calls return: Arrow schemas and GetObjects batches.

`db_api.Connection` answers `adbc_get_table_schema` and `adbc_get_objects` from these, which is what marimo's
data-sources panel reads. The input is the body of `GET /v1/schemas` (Postgres type names per column).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["arrow_schemas", "arrow_type", "get_objects", "like"]


def arrow_type(pg_type: str) -> pa.DataType:
    """The Arrow type a query returns for a column of this Postgres type (text for anything unknown)."""
    import pyarrow as pa

    name = pg_type.strip().upper()
    if name.endswith("[]"):
        return pa.list_(arrow_type(name[:-2]))
    simple: dict[str, pa.DataType] = {
        "TEXT": pa.string(),
        "VARCHAR": pa.string(),
        "CHARACTER VARYING": pa.string(),
        "JSON": pa.string(),
        "JSONB": pa.string(),
        "BOOLEAN": pa.bool_(),
        "SMALLINT": pa.int16(),
        "INTEGER": pa.int32(),
        "INT": pa.int32(),
        "BIGINT": pa.int64(),
        "REAL": pa.float32(),
        "DOUBLE PRECISION": pa.float64(),
        "DATE": pa.date32(),
        "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "TIMESTAMP": pa.timestamp("us"),
        "INTERVAL": pa.month_day_nano_interval(),
        "BYTEA": pa.binary(),
    }
    return simple.get(name, pa.string())


def arrow_schemas(payload: Any) -> dict[str, pa.Schema]:
    """`{table name: Arrow schema}` from a `/v1/schemas` body; each field keeps its Postgres type as metadata."""
    import pyarrow as pa

    schemas: dict[str, pa.Schema] = {}
    for table in payload.get("tables", []) if isinstance(payload, dict) else []:
        fields = []
        for name, column in (table.get("schema") or {}).items():
            metadata = {"pg_type": str(column.get("data_type", ""))}
            if column.get("description"):
                metadata["description"] = str(column["description"])
            fields.append(
                pa.field(
                    name,
                    arrow_type(str(column.get("data_type", "TEXT"))),
                    nullable=bool(column.get("nullable", True)),
                    metadata=metadata,
                )
            )
        schemas[str(table["name"])] = pa.schema(fields)
    return schemas


def like(value: str, pattern: str | None) -> bool:
    """SQL LIKE as ADBC filters use it: `%` any run, `_` one character, `\\` escapes the next one;
    None matches everything."""
    if pattern is None:
        return True
    parts: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
    if escaped:
        parts.append(re.escape("\\"))
    return re.fullmatch("".join(parts), value, flags=re.DOTALL) is not None


def _objects_schema() -> pa.Schema:
    import pyarrow as pa

    usage = pa.struct(
        [
            pa.field("fk_catalog", pa.string()),
            pa.field("fk_db_schema", pa.string()),
            pa.field("fk_table", pa.string(), nullable=False),
            pa.field("fk_column_name", pa.string(), nullable=False),
        ]
    )
    constraint = pa.struct(
        [
            pa.field("constraint_name", pa.string()),
            pa.field("constraint_type", pa.string(), nullable=False),
            pa.field("constraint_column_names", pa.list_(pa.string()), nullable=False),
            pa.field("constraint_column_usage", pa.list_(usage)),
        ]
    )
    column = pa.struct(
        [
            pa.field("column_name", pa.string(), nullable=False),
            pa.field("ordinal_position", pa.int32()),
            pa.field("remarks", pa.string()),
            pa.field("xdbc_type_name", pa.string()),
            pa.field("xdbc_nullable", pa.int16()),
            pa.field("xdbc_is_nullable", pa.string()),
        ]
    )
    table = pa.struct(
        [
            pa.field("table_name", pa.string(), nullable=False),
            pa.field("table_type", pa.string(), nullable=False),
            pa.field("table_columns", pa.list_(column)),
            pa.field("table_constraints", pa.list_(constraint)),
        ]
    )
    db_schema = pa.struct(
        [pa.field("db_schema_name", pa.string()), pa.field("db_schema_tables", pa.list_(table))]
    )
    return pa.schema(
        [pa.field("catalog_name", pa.string()), pa.field("catalog_db_schemas", pa.list_(db_schema))]
    )


def _columns(schema: pa.Schema, column_name_filter: str | None) -> list[dict[str, Any]]:
    return [
        {
            "column_name": field.name,
            "ordinal_position": position,
            "remarks": (field.metadata or {}).get(b"description", b"").decode() or None,
            "xdbc_type_name": (field.metadata or {}).get(b"pg_type", b"").decode() or None,
            "xdbc_nullable": 1 if field.nullable else 0,
            "xdbc_is_nullable": "YES" if field.nullable else "NO",
        }
        for position, field in enumerate(schema, start=1)
        if like(field.name, column_name_filter)
    ]


def get_objects(
    *,
    catalog: str,
    db_schema: str,
    tables: dict[str, pa.Schema] | None,
    with_schemas: bool,
    with_columns: bool,
    catalog_filter: str | None = None,
    db_schema_filter: str | None = None,
    table_name_filter: str | None = None,
    table_types_filter: list[str] | None = None,
    column_name_filter: str | None = None,
) -> pa.RecordBatchReader:
    """One catalog with one schema holding `tables`; None for `tables` stops at the schema level."""
    import pyarrow as pa

    rows: list[dict[str, Any]] = []
    if like(catalog, catalog_filter):
        schemas: list[dict[str, Any]] | None = None
        if with_schemas:
            schemas = []
            if like(db_schema, db_schema_filter):
                table_rows = None
                if tables is not None:
                    wanted_type = table_types_filter is None or "TABLE" in table_types_filter
                    table_rows = [
                        {
                            "table_name": name,
                            "table_type": "TABLE",
                            "table_columns": _columns(schema, column_name_filter) if with_columns else None,
                            "table_constraints": [] if with_columns else None,
                        }
                        for name, schema in tables.items()
                        if wanted_type and like(name, table_name_filter)
                    ]
                schemas.append({"db_schema_name": db_schema, "db_schema_tables": table_rows})
        rows.append({"catalog_name": catalog, "catalog_db_schemas": schemas})
    table = pa.Table.from_pylist(rows, schema=_objects_schema())
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
