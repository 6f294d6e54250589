"""Loki's answers turned into Arrow tables, column by column, never with a Python loop over entries.

The body is decoded by msgspec against typed shapes (C code: an entry becomes a small untracked struct, its
metadata dicts or None), then each field of all entries goes into Arrow in one `pa.array` call on a list that
`map(attrgetter(...))` builds (C code again); a stream's labels are one map value taken over its entries.
The only Python loops run once per stream or series, never per entry.

Tables, one row per entry or point:

- log queries (`resultType: streams`): `timestamp` (ns, UTC), `line`, `labels` (the stream's labels),
  `structured_metadata`, `parsed` (maps; null when the server did not categorize labels), `level` (from
  `level` / `detected_level` in the labels, the metadata or the parsed labels), sorted across streams in the
  asked direction;
- metric queries (`matrix`, `vector`): `timestamp`, `value` (float64; NaN and ±Inf kept), `labels`;
  a `scalar` is one row without labels.
- the older API (`/api/prom/query`): `streams[].labels` as a selector text, `entries[].ts` RFC 3339.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from itertools import accumulate, chain
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import msgspec

from logfire_notebook._exceptions import ResponseError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "LEVEL_KEYS",
    "LokiAnswer",
    "decode_answer",
    "decode_legacy",
    "decode_values",
    "empty_streams",
    "level_of",
    "parse_selector",
    "read_parquet",
    "sort_entries",
]

# Where the level of an entry is found, first match wins (Grafana's order: the label, then the detected one).
LEVEL_KEYS = ("level", "detected_level")

_Labels = dict[str, str]


class _Extra(msgspec.Struct, gc=False, forbid_unknown_fields=True):
    """The categorized object; another key (a flat metadata map, say) is refused rather than dropped."""

    structuredMetadata: _Labels | None = None
    parsed: _Labels | None = None


class _Entry(msgspec.Struct, array_like=True, gc=False):
    """`[ts, line]`, or with categorize-labels `[ts, line, {structuredMetadata?, parsed?}]`: one shape reads
    both answer forms (an array-like struct takes a missing last element from its default)."""

    ts: str
    line: str
    extra: _Extra = msgspec.field(default_factory=_Extra)


class _Stream(msgspec.Struct):
    stream: _Labels = {}
    values: list[_Entry] = []


class _Series(msgspec.Struct):
    metric: _Labels = {}
    values: list[tuple[float, str]] = []


class _Sample(msgspec.Struct):
    metric: _Labels = {}
    value: tuple[float, str] = (0.0, "NaN")


class _Data(msgspec.Struct):
    resultType: str = ""
    result: msgspec.Raw = msgspec.Raw(b"[]")
    stats: dict[str, Any] = {}


class _Body(msgspec.Struct):
    status: str = ""
    data: _Data | None = None
    warnings: list[str] = []


class _LogData(msgspec.Struct):
    resultType: str = ""
    result: list[_Stream] = []
    stats: dict[str, Any] = {}


class _LogBody(msgspec.Struct):
    """The common answer, a log query, read in one pass (`_Body` reads any answer in two)."""

    data: _LogData | None = None
    warnings: list[str] = []


class _LegacyStream(msgspec.Struct):
    labels: str = "{}"
    entries: list[dict[str, str]] = []  # {"ts": RFC 3339, "line": ...}: pyarrow reads dicts into structs


class _LegacyBody(msgspec.Struct):
    streams: list[_LegacyStream] = []


class LokiAnswer(msgspec.Struct):
    """A decoded answer: the table, what kind of result it was, and what the server said besides."""

    table: Any  # pa.Table
    result_type: str
    warnings: list[str] = []
    stats: dict[str, Any] = {}


@cache
def _types() -> dict[str, Any]:
    import pyarrow as pa

    labels = pa.map_(pa.string(), pa.string())
    stamp = pa.timestamp("ns", tz="UTC")
    return {
        "labels": labels,
        "plain": pa.struct([("ts", pa.string()), ("line", pa.string())]),
        "point": pa.struct([("t", pa.float64()), ("v", pa.string())]),
        "timestamp": stamp,
        "streams": pa.schema(
            [
                ("timestamp", stamp),
                ("line", pa.string()),
                ("labels", labels),
                ("structured_metadata", labels),
                ("parsed", labels),
                ("level", pa.string()),
            ]
        ),
    }


def _fail(what: str, exc: Exception) -> ResponseError:
    return ResponseError(
        f"The Loki answer could not be read ({what}: {exc}): check that the address is a Loki API."
    )


def decode_answer(body: bytes, direction: str = "backward") -> LokiAnswer:
    """A `/loki/api/v1/query_range` or `/query` JSON body as a table (see the module docstring)."""
    with _no_gc():
        logs = _try_log_body(body)
        if logs is not None and logs.data is not None and logs.data.resultType == "streams":
            table = _streams_table(logs.data.result, direction)
            return LokiAnswer(table, "streams", list(logs.warnings), dict(logs.data.stats))
    return _decode_any(body, direction)


def _try_log_body(body: bytes) -> _LogBody | None:
    try:
        return msgspec.json.decode(body, type=_LogBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None  # another kind of answer (or not Loki's): read by `_decode_any`, which says what is wrong


def _decode_any(body: bytes, direction: str) -> LokiAnswer:
    try:
        parsed = msgspec.json.decode(body, type=_Body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _fail("not Loki's JSON", exc) from None
    if parsed.data is None:
        raise ResponseError("The Loki answer has no `data`: check that the address is a Loki API.")
    data = parsed.data
    table = decode_values(data.resultType, bytes(data.result), direction)
    return LokiAnswer(table, data.resultType, list(parsed.warnings), dict(data.stats))


@contextmanager
def _no_gc() -> Iterator[None]:
    """Decoding makes a few hundred thousand tuples and dicts, none of them cyclic: the cycle collector would
    only walk them again and again (it costs more than the decoding itself)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def decode_values(result_type: str, result: bytes, direction: str = "backward") -> pa.Table:
    """`data.result` of the given type as a table (entries with and without categorized labels alike)."""
    with _no_gc():
        return _decode_values(result_type, result, direction)


def _decode_values(result_type: str, result: bytes, direction: str) -> pa.Table:
    try:
        if result_type == "streams":
            return _streams_table(msgspec.json.decode(result, type=list[_Stream]), direction)
        if result_type == "matrix":
            return _matrix_table(msgspec.json.decode(result, type=list[_Series]))
        if result_type == "vector":
            samples = msgspec.json.decode(result, type=list[_Sample])
            return _matrix_table([_Series(s.metric, [s.value]) for s in samples])
        if result_type == "scalar":
            point = msgspec.json.decode(result, type=tuple[float, str])
            return _matrix_table([_Series({}, [point])]).drop_columns(["labels"])
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _fail(f"a {result_type} result", exc) from None
    raise ResponseError(
        f"The Loki answer has an unknown resultType {result_type!r}; this client reads streams, "
        "matrix, vector and scalar."
    )


def empty_streams() -> pa.Table:
    return _streams_table([], "backward")


def _streams_table(streams: list[_Stream], direction: str) -> pa.Table:
    import pyarrow as pa

    types = _types()
    kept = [s for s in streams if s.values]
    entries = list(chain.from_iterable(s.values for s in kept))
    stamps = _stamps(list(map(_TS, entries)))
    order = _order(stamps, direction)
    owners = _owners([len(s.values) for s in kept]).take(order)  # the stream of each (sorted) row
    # A stream's labels are the same for all its entries: their level is found once per stream.
    stream_level = pa.array([_first_level(s.stream) for s in kept], pa.string()).take(owners)
    extras = list(map(_EXTRA, entries))
    metadata = pa.array(list(map(_METADATA, extras)), types["labels"]).take(order)
    parsed = pa.array(list(map(_PARSED, extras)), types["labels"]).take(order)
    return pa.table(
        {
            "timestamp": stamps.take(order),
            "line": pa.array(list(map(_LINE, entries)), pa.string()).take(order),
            "labels": _labels_map([s.stream for s in kept]).take(owners),
            "structured_metadata": metadata,
            "parsed": parsed,
            "level": _coalesce_level(stream_level, metadata, parsed),
        },
        schema=types["streams"],
    )


# Entry fields as lists, read in C (`map` over an attrgetter: no Python code runs per entry).
_TS, _LINE = attrgetter("ts"), attrgetter("line")
_EXTRA, _METADATA, _PARSED = attrgetter("extra"), attrgetter("structuredMetadata"), attrgetter("parsed")


def _stamps(texts: list[str]) -> pa.Array:
    """Loki's nanosecond texts as timestamps (parsed by Arrow, not per entry in Python)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return pc.cast(pc.cast(pa.array(texts, pa.string()), pa.int64()), _types()["timestamp"])
    except pa.ArrowInvalid as exc:
        raise _fail("an entry's timestamp is not nanoseconds", exc) from None


def _coalesce_level(stream_level: pa.Array, *maps: pa.Array) -> pa.Array:
    """The stream's level, else the first `level` / `detected_level` in the maps (metadata, then parsed)."""
    import pyarrow.compute as pc

    if not stream_level.null_count:
        return stream_level  # every stream has a level label: the maps cannot change it
    found = [_lookup(m, key) for m in maps if m.null_count < len(m) for key in LEVEL_KEYS]
    return pc.coalesce(stream_level, *found)


def _order(stamps: pa.Array, direction: str) -> pa.Array:
    """The row order that sorts entries across streams (see `sort_entries`)."""
    import pyarrow.compute as pc

    return pc.array_sort_indices(stamps, order="descending" if direction == "backward" else "ascending")


def _owners(lengths: list[int]) -> pa.Array:
    """For each row, the index of the stream or series it belongs to, given their lengths (a repeat without
    repeating Python objects: each stream's labels are built once, then taken by this index)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    offsets = pa.array([0, *accumulate(lengths)], pa.int32())
    return pc.list_parent_indices(pa.ListArray.from_arrays(offsets, pa.nulls(sum(lengths))))


def _labels_map(label_sets: list[dict[str, str]]) -> pa.Array:
    import pyarrow as pa

    return pa.array([list(labels.items()) for labels in label_sets], _types()["labels"])


def _labels_per_row(label_sets: list[dict[str, str]], lengths: list[int]) -> pa.Array:
    """Each stream's (series') labels repeated over its rows (pa.repeat of a map scalar is slow per row)."""
    return _labels_map(label_sets).take(_owners(lengths))


def _first_level(labels: dict[str, str]) -> str | None:
    return next((labels[key] for key in LEVEL_KEYS if key in labels), None)


def _lookup(column: Any, key: str) -> Any:
    """`column[key]` of a map column. map_lookup's "all" then the first element: its "first" option costs ten
    times more, per row found."""
    import pyarrow.compute as pc

    return pc.list_element(pc.map_lookup(column, query_key=key, occurrence="all"), 0)


def level_of(*maps: Any) -> Any:
    """The first `level` / `detected_level` found in the labels, then the metadata, then the parsed labels."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(maps[0]):
        return pa.array([], pa.string())
    return pc.coalesce(*(_lookup(m, key) for m in maps for key in LEVEL_KEYS))


def sort_entries(table: pa.Table, direction: str) -> pa.Table:
    """Entries in time order across streams: newest first for `backward`, oldest first for `forward`."""
    import pyarrow.compute as pc

    if table.num_rows < 2:
        return table
    order = "descending" if direction == "backward" else "ascending"
    return table.take(pc.sort_indices(table, sort_keys=[("timestamp", order)]))


def _matrix_table(series: list[_Series]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    types = _types()
    chunks = [pa.array(s.values, type=types["point"]) for s in series if s.values]
    kept = [s for s in series if s.values]
    labels = _labels_per_row([s.metric for s in kept], [len(s.values) for s in kept])
    points = pa.chunked_array(chunks, type=types["point"])
    seconds = pc.struct_field(points, "t")
    # Loki writes seconds with 3 decimals: milliseconds are exact, so round there before going to ns.
    millis = pc.cast(pc.round(pc.multiply(seconds, 1000.0)), pa.int64())
    stamps = pc.cast(pc.multiply(millis, 1_000_000), types["timestamp"])
    values = pc.cast(pc.struct_field(points, "v"), pa.float64())
    return pa.table({"timestamp": stamps, "value": values, "labels": labels})


_SELECTOR_PAIR = re.compile(r'\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?')


def parse_selector(text: str) -> dict[str, str]:
    """`{a="x", b="y"}` (the older API's stream labels) as a dict."""
    import json

    inner = text.strip().removeprefix("{").removesuffix("}")
    return {m.group(1): json.loads(f'"{m.group(2)}"') for m in _SELECTOR_PAIR.finditer(inner)}


def decode_legacy(body: bytes, direction: str = "backward") -> LokiAnswer:
    """A `/api/prom/query` body (the older API) as the same table as a log query's."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        parsed = msgspec.json.decode(body, type=_LegacyBody)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _fail("not the older Loki API's JSON", exc) from None
    types = _types()
    streams = [s for s in parsed.streams if s.entries]
    chunks = [pa.array(s.entries, type=types["plain"]) for s in streams]
    label_column = _labels_per_row(
        [parse_selector(s.labels) for s in streams], [len(s.entries) for s in streams]
    )
    entries = pa.chunked_array(chunks, type=types["plain"])
    stamps = (
        pc.cast(pc.struct_field(entries, "ts"), types["timestamp"])
        if len(entries)
        else pa.array([], types["timestamp"])
    )
    nulls = pa.nulls(len(entries), types["labels"])
    table = pa.table(
        {
            "timestamp": stamps,
            "line": pc.struct_field(entries, "line"),
            "labels": label_column,
            "structured_metadata": nulls,
            "parsed": nulls,
            "level": level_of(label_column),
        }
    )
    return LokiAnswer(sort_entries(table, direction), "streams")


def read_parquet(body: bytes, direction: str = "backward") -> pa.Table:
    """A Parquet answer (Loki >= 3.4 with `Accept: application/vnd.apache.parquet`) as the log query table."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    types = _types()
    try:
        raw = pq.read_table(pa.BufferReader(body))
    except (pa.ArrowInvalid, OSError) as exc:
        raise _fail("a Parquet body", exc) from None
    n = raw.num_rows
    columns: dict[str, Any] = {}
    stamp = raw.column("timestamp")
    if pa.types.is_integer(stamp.type) or pa.types.is_string(stamp.type):
        stamp = pc.cast(pc.cast(stamp, pa.int64()), types["timestamp"])
    columns["timestamp"] = pc.cast(stamp, types["timestamp"])
    columns["line"] = raw.column("line")
    for name in ("labels", "structured_metadata", "parsed"):
        columns[name] = (
            pc.cast(raw.column(name), types["labels"])
            if name in raw.column_names
            else pa.nulls(n, types["labels"])
        )
    columns["level"] = level_of(columns["labels"], columns["structured_metadata"], columns["parsed"])
    return sort_entries(pa.table(columns), direction)
