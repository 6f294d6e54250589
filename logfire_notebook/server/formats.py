"""Rendering a result table the way Logfire does: JSON (v2 and v1), CSV, NDJSON and Arrow IPC.

Everything here starts from an Arrow table that `normalize` has brought to the types Logfire sends:
plain utf8 strings (never large_string or string_view), timestamps as timestamp[us, tz=UTC], list items
named `item`, and DataFusion's name `count(*)` where DuckDB says `count_star()`.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import math
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "arrow_ipc",
    "csv_text",
    "json_v1_columns",
    "json_v1_rows",
    "json_v2",
    "ndjson_lines",
    "normalize",
]

# DuckDB's output name -> DataFusion's, for the cases users meet every day.
_RENAMES = {"count_star()": "count(*)"}
NDJSON_BATCH_ROWS = 1000


def _normal_type(t: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if isinstance(t, pa.ExtensionType):
        return _normal_type(t.storage_type)
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz="UTC") if t.tz else pa.timestamp("us")
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    ):
        return pa.list_(pa.field("item", _normal_type(t.value_type), nullable=True))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field("item", _normal_type(t.value_type), nullable=True))
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, _normal_type(f.type), nullable=True) for f in t])
    return t


def _rename(name: str) -> str:
    for duck, fusion in _RENAMES.items():
        name = name.replace(duck, fusion)
    return name


def normalize(table: pa.Table, nullable: list[bool] | None = None) -> pa.Table:
    """Logfire's types and names for a DuckDB result (see module docstring)."""
    import pyarrow as pa

    nullable = nullable or [True] * table.num_columns
    fields = []
    columns = []
    for i, name in enumerate(table.column_names):
        col = table.column(i)
        if isinstance(col.type, pa.ExtensionType):
            col = pa.chunked_array([c.storage for c in col.chunks], type=col.type.storage_type)
        target = _normal_type(col.type)
        if target != col.type:
            col = col.cast(target)
        # A NOT NULL claim must be true of the data, or Arrow readers would be misled.
        not_null = not nullable[i] and col.null_count == 0
        fields.append(pa.field(_rename(name), target, nullable=not not_null))
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


# ---- data type names, as Arrow-rs serialises them ----

_SIMPLE = {
    "null": "Null",
    "bool": "Boolean",
    "int8": "Int8",
    "int16": "Int16",
    "int32": "Int32",
    "int64": "Int64",
    "uint8": "UInt8",
    "uint16": "UInt16",
    "uint32": "UInt32",
    "uint64": "UInt64",
    "halffloat": "Float16",
    "float": "Float32",
    "double": "Float64",
    "string": "Utf8",
    "large_string": "LargeUtf8",
    "binary": "Binary",
    "large_binary": "LargeBinary",
    "date32[day]": "Date32",
    "date64[ms]": "Date64",
}
_UNITS = {"s": "Second", "ms": "Millisecond", "us": "Microsecond", "ns": "Nanosecond"}


def data_type(t: pa.DataType, *, v1: bool = False) -> Any:
    """Arrow-rs's JSON for a data type: "Utf8", {"List": {...}}, {"Timestamp": ["Microsecond", "UTC"]}."""
    import pyarrow as pa

    simple = _SIMPLE.get(str(t))
    if simple:
        return simple
    if pa.types.is_timestamp(t):
        return {"Timestamp": [_UNITS[t.unit], t.tz]}
    if pa.types.is_time(t):
        return {f"Time{t.bit_width}": _UNITS[t.unit]}
    if pa.types.is_duration(t):
        return {"Duration": _UNITS[t.unit]}
    if pa.types.is_interval(t):
        return {"Interval": "MonthDayNano"}
    if pa.types.is_decimal(t):
        return {f"Decimal{t.bit_width}": [t.precision, t.scale]}
    if pa.types.is_list(t):
        return {"List": field_json(t.value_field, v1=v1)}
    if pa.types.is_struct(t):
        return {"Struct": [field_json(f, v1=v1) for f in t]}
    if pa.types.is_map(t):
        return {
            "Map": [
                field_json(pa.field("entries", pa.struct([t.key_field, t.item_field]), False), v1=v1),
                False,
            ]
        }
    return str(t)


def field_json(f: pa.Field, *, v1: bool = False) -> dict[str, Any]:
    if v1:
        return {"name": f.name, "nullable": f.nullable, "datatype": data_type(f.type, v1=True)}
    return {
        "name": f.name,
        "data_type": data_type(f.type),
        "nullable": f.nullable,
        "dict_id": 0,
        "dict_is_ordered": False,
        "metadata": {},
    }


def schema_json(schema: pa.Schema) -> dict[str, Any]:
    return {
        "fields": [{"name": f.name, "data_type": data_type(f.type), "nullable": f.nullable} for f in schema],
        "metadata": {},
    }


# ---- values ----


def _iso(value: datetime) -> str:
    if value.tzinfo is not None:
        return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


def _plain(value: Any) -> Any:
    """A JSON-ready version of one cell value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):  # map entries, intervals
        return [_plain(v) for v in value]
    return str(value)


def _column_values(col: pa.ChunkedArray) -> list[Any]:
    """A column's values, JSON-ready; vectorised for the common types, per value for the rest."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if pa.types.is_string(t) or pa.types.is_integer(t) or pa.types.is_boolean(t):
        return list(col.to_pylist())
    if pa.types.is_list(t) and (pa.types.is_string(t.value_type) or pa.types.is_integer(t.value_type)):
        return list(col.to_pylist())
    if pa.types.is_timestamp(t) and t.unit == "us":
        # Arrow prints the microseconds of a timestamp[us] after %S.
        return list(
            pc.strftime(col, format="%Y-%m-%dT%H:%M:%SZ" if t.tz else "%Y-%m-%dT%H:%M:%S").to_pylist()
        )
    try:
        values = col.to_pylist()
    except (OverflowError, ValueError):
        # A date or time past Python's years 1-9999 (DuckDB's `'-infinity'::DATE`, say): Arrow's own text.
        if not pa.types.is_temporal(t):
            raise
        return list(pc.cast(col, pa.string()).to_pylist())
    return [_plain(v) for v in values]


def _columns(table: pa.Table) -> list[list[Any]]:
    return [_column_values(table.column(i)) for i in range(table.num_columns)]


def _rows(table: pa.Table) -> list[dict[str, Any]]:
    names = table.column_names
    return [dict(zip(names, row, strict=True)) for row in zip(*_columns(table), strict=True)] if names else []


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def json_v2(table: pa.Table, plans: dict[str, str] | None = None) -> bytes:
    """The JSON answer; with `plans` (explain) also `logical_plan`, `physical_plan` and
    `physical_plan_with_metrics`."""
    return _dumps({"schema": schema_json(table.schema), "data": _rows(table), **(plans or {})})


def json_v1_columns(table: pa.Table) -> bytes:
    cols = _columns(table)
    return _dumps(
        {"columns": [{**field_json(f, v1=True), "values": cols[i]} for i, f in enumerate(table.schema)]}
    )


def json_v1_rows(table: pa.Table) -> bytes:
    return _dumps({"columns": [field_json(f, v1=True) for f in table.schema], "rows": _rows(table)})


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def csv_text(table: pa.Table) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.column_names)
    cols = _columns(table)
    for row in zip(*cols, strict=True):
        writer.writerow([_csv_cell(v) for v in row])
    return buf.getvalue().encode()


def ndjson_lines(table: pa.Table, plans: dict[str, str] | None = None) -> Iterator[bytes]:
    """Logfire's NDJSON messages (docs/how-to-guides/query-api.md): `schema`, `explain` (with plans),
    `data` with `rows`, and `end` with `row_count` (and `physical_plan_with_metrics` with plans)."""
    yield _dumps({"type": "schema", "schema": schema_json(table.schema)}) + b"\n"
    if plans:
        explain = {"logical_plan": plans["logical_plan"], "physical_plan": plans["physical_plan"]}
        yield _dumps({"type": "explain", **explain}) + b"\n"
    for offset in range(0, table.num_rows, NDJSON_BATCH_ROWS):
        yield _dumps({"type": "data", "rows": _rows(table.slice(offset, NDJSON_BATCH_ROWS))}) + b"\n"
    end: dict[str, Any] = {"type": "end", "row_count": table.num_rows}
    if plans:
        end["physical_plan_with_metrics"] = plans["physical_plan_with_metrics"]
    yield _dumps(end) + b"\n"


def arrow_ipc(table: pa.Table) -> bytes:
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())
