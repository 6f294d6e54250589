"""Arrow query results to Polars, with the types a user expects.

- Every timestamp column becomes `Datetime("us", "UTC")`: Logfire stores microseconds in UTC, and a tz-naive
  timestamp from the engine is UTC too.
- Dictionary-encoded strings become plain `String` (Polars would make them `Categorical`, which surprises joins
  and comparisons with literals).
- Text stays text. `json_columns=("attributes",)` decodes the named JSON text columns into structs, reading
  every row to infer the struct's fields so that keys which appear late are not dropped.

`DataFrame.to_arrow()` then yields `large_string` (never a string view), which pandas and pyarrow consumers read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl
    import pyarrow as pa

__all__ = ["arrow_to_polars", "decode_json_columns", "without_views"]


def without_views(table: pa.Table) -> pa.Table:
    """String/binary views (newer engines send them) as plain large strings/binaries, which every tool reads."""
    import pyarrow as pa

    if not any(_has_view(kind) for kind in table.schema.types):  # the common case: one cheap pass, no copy
        return table
    return table.cast(
        pa.schema(
            [field.with_type(_no_view(field.type)) for field in table.schema], metadata=table.schema.metadata
        )
    )


class _TypeIds:
    """pyarrow type ids, looked up once: comparing `DataType.id` is the cheapest test per column."""

    def __init__(self) -> None:
        import pyarrow as pa

        self.views = frozenset({pa.string_view().id, pa.binary_view().id})
        self.dictionary = pa.dictionary(pa.int32(), pa.string()).id
        self.timestamp = pa.timestamp("us").id
        self.target = pa.timestamp("us", tz="UTC")


_ids: _TypeIds | None = None


def _type_ids() -> _TypeIds:
    global _ids
    if _ids is None:
        _ids = _TypeIds()
    return _ids


def _has_view(kind: pa.DataType) -> bool:
    if kind.id in _type_ids().views:
        return True
    return kind.num_fields > 0 and any(_has_view(kind.field(i).type) for i in range(kind.num_fields))


def _no_view(kind: pa.DataType) -> pa.DataType:
    import pyarrow as pa

    if pa.types.is_string_view(kind):
        return pa.large_string()
    if pa.types.is_binary_view(kind):
        return pa.large_binary()
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        item = kind.value_field
        return _list_like(kind, item.with_type(_no_view(item.type)))
    if pa.types.is_struct(kind):
        return pa.struct(
            [kind.field(i).with_type(_no_view(kind.field(i).type)) for i in range(kind.num_fields)]
        )
    return kind


def _list_like(kind: pa.DataType, item: pa.Field) -> pa.DataType:
    import pyarrow as pa

    return pa.large_list(item) if pa.types.is_large_list(kind) else pa.list_(item)


def _normalize_arrow(table: pa.Table) -> pa.Table:
    """Cast dictionary columns to their values and timestamps to microseconds UTC, only where needed."""
    import pyarrow as pa

    ids = _type_ids()
    dictionary, timestamp, target = ids.dictionary, ids.timestamp, ids.target
    for kind in table.schema.types:  # the common case (nothing to cast) in one cheap pass
        kind_id = kind.id
        if kind_id == dictionary or (kind_id == timestamp and kind != target):
            break
    else:
        return table
    fields = []
    for field in table.schema:
        kind = field.type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_timestamp(kind) and kind != ids.target:
            # A naive timestamp from the engine is UTC; an instant in another zone is relabelled, not moved.
            kind = ids.target
        fields.append(field.with_type(kind))
    return table.cast(pa.schema(fields, metadata=table.schema.metadata))


def arrow_to_polars(table: pa.Table, json_columns: Sequence[str] = ()) -> pl.DataFrame:
    """A Polars DataFrame from an Arrow table (zero-copy where the types already match)."""
    import polars as pl

    frame = pl.from_arrow(_normalize_arrow(table), rechunk=False)
    assert isinstance(frame, pl.DataFrame)
    return decode_json_columns(frame, json_columns) if json_columns else frame


def decode_json_columns(frame: pl.DataFrame, columns: Sequence[str]) -> pl.DataFrame:
    """Decode JSON text columns into structs; the column names must exist in the result."""
    import polars as pl

    if isinstance(columns, str):
        columns = (columns,)
    missing = [name for name in columns if name not in frame.columns]
    if missing:
        from logfire_notebook._exceptions import LogfireError

        raise LogfireError(
            f"json_columns names {', '.join(map(repr, missing))}, which the query did not return: "
            f"select the column or drop it from json_columns (the result has {', '.join(frame.columns)})."
        )
    decoded = []
    for name in columns:
        column = frame.get_column(name)
        if column.dtype != pl.String or column.null_count() == len(column):
            continue
        # Reading every row: attribute keys vary per span, and a key first seen at row 101 must not vanish.
        decoded.append(column.str.json_decode(infer_schema_length=None))
    return frame.with_columns(decoded) if decoded else frame
