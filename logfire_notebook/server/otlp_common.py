"""What the OTLP mappers share: attribute values, resource and scope columns, timestamps, a column builder.

Spans, logs and metrics nest the same way (resource → scope → items), so `otlp_records` and
`otlp_metrics` read those parts with these functions; keeping them here keeps the two mappings in step.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Iterator
from datetime import datetime, timezone
from typing import Any

import pyarrow as pa

from logfire_notebook.server.bodies import BodyTooLarge
from logfire_notebook.server.otlp_wire import OTLPDecodeError

__all__ = [
    "MAX_CELL_CHARS",
    "MAX_NESTING",
    "MAX_VALUE_CHARS",
    "RESOURCE_TYPES",
    "TIMESTAMP",
    "TRUNCATED_MARKER",
    "Columns",
    "any_value",
    "attributes",
    "bounded_text",
    "int_or_none",
    "json_number",
    "nanos_to_iso",
    "nanos_to_us",
    "resource_columns",
    "scope_columns",
    "scoped",
    "str_or_none",
    "to_json",
]

TIMESTAMP = pa.timestamp("us", tz="UTC")
RESOURCE_TYPES: dict[str, pa.DataType] = {
    "service_name": pa.string(),
    "service_namespace": pa.string(),
    "service_version": pa.string(),
    "service_instance_id": pa.string(),
    "deployment_environment": pa.string(),
    "process_pid": pa.int32(),
    "telemetry_sdk_name": pa.string(),
    "telemetry_sdk_language": pa.string(),
    "telemetry_sdk_version": pa.string(),
    "otel_resource_attributes": pa.string(),
}
"""The columns every `records` and `metrics` row takes from its resource; both schemas end with them."""

to_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode

MAX_VALUE_CHARS = 64 * 1024
"""A longer string value (an attribute, a log body, a message) is cut to this many characters and ends with
`TRUNCATED_MARKER`, the way OpenTelemetry SDKs apply an attribute value length limit."""
TRUNCATED_MARKER = "…[truncated by logfire-notebook]"
MAX_CELL_CHARS = 1024 * 1024
"""A row whose text column (all its attributes as JSON, say) would hold more than this is refused with 413."""
MAX_NESTING = 64
"""Attribute values (lists and maps) nesting deeper than this are refused with a 400."""


# ---------------------------------------------------------------------------------------------------------
# Attribute values


def bounded_text(text: str) -> str:
    """`text`, cut to MAX_VALUE_CHARS with the marker if it is longer."""
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return text[: MAX_VALUE_CHARS - len(TRUNCATED_MARKER)] + TRUNCATED_MARKER


def json_number(x: float) -> float | str:
    """NaN and ±Infinity have no JSON form: they are kept as the strings "NaN", "Infinity", "-Infinity"."""
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def any_value(value: Any, depth: int = 0) -> Any:
    """An OTLP AnyValue as plain Python (bytes as base64 text, as OTLP/JSON writes them), strings bounded
    by MAX_VALUE_CHARS, non-finite numbers as text; OTLPDecodeError past MAX_NESTING levels."""
    which = value.WhichOneof("value")
    if which == "string_value":
        return bounded_text(value.string_value)
    if which is None:
        return None
    if depth >= MAX_NESTING:
        raise OTLPDecodeError(
            f"An attribute value nests more than {MAX_NESTING} levels deep; flatten it before sending."
        )
    if which == "array_value":
        return [any_value(v, depth + 1) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: any_value(kv.value, depth + 1) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return bounded_text(base64.b64encode(value.bytes_value).decode())
    if which == "double_value":
        return json_number(value.double_value)
    return getattr(value, which)


def attributes(key_values: Iterable[Any]) -> dict[str, Any]:
    return {bounded_text(kv.key): any_value(kv.value) for kv in key_values}


def str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------------
# Timestamps


def nanos_to_us(nanos: int) -> int:
    return nanos // 1000


def nanos_to_iso(nanos: int) -> str:
    return datetime.fromtimestamp(nanos / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------------
# Resource and scope


def resource_columns(resource: Any) -> dict[str, Any]:
    attrs = attributes(resource.attributes)
    environment = attrs.get("deployment.environment.name", attrs.get("deployment.environment"))
    return {
        "service_name": str_or_none(attrs.get("service.name")) or "unknown_service",
        "service_namespace": str_or_none(attrs.get("service.namespace")),
        "service_version": str_or_none(attrs.get("service.version")),
        "service_instance_id": str_or_none(attrs.get("service.instance.id")),
        "deployment_environment": str_or_none(environment),
        "process_pid": int_or_none(attrs.get("process.pid")),
        "telemetry_sdk_name": str_or_none(attrs.get("telemetry.sdk.name")),
        "telemetry_sdk_language": str_or_none(attrs.get("telemetry.sdk.language")),
        "telemetry_sdk_version": str_or_none(attrs.get("telemetry.sdk.version")),
        "otel_resource_attributes": to_json(attrs),
    }


def scope_columns(scope: Any) -> dict[str, Any]:
    attrs = attributes(scope.attributes)
    return {
        "otel_scope_name": scope.name or None,
        "otel_scope_version": scope.version or None,
        "otel_scope_attributes": to_json(attrs),
    }


def scoped(
    resource_groups: Iterable[Any], scopes_field: str, items_field: str
) -> Iterator[tuple[Any, dict[str, Any], dict[str, Any]]]:
    """Each scope's items with that scope's and its resource's columns.

    `scoped(request.resource_spans, "scope_spans", "spans")`; logs and metrics name their fields likewise.
    """
    for group in resource_groups:
        resource = resource_columns(group.resource)
        for scope_group in getattr(group, scopes_field):
            yield getattr(scope_group, items_field), scope_columns(scope_group.scope), resource


# ---------------------------------------------------------------------------------------------------------
# Building the table


class Columns:
    """Column-wise accumulator. Rows of one resource and scope arrive together, so their shared columns
    are filled by repetition and only the per-row columns are transposed."""

    def __init__(self, types: dict[str, pa.DataType]) -> None:
        self.types = types
        self.data: dict[str, list[Any]] = {name: [] for name in types}

    def add_group(self, rows: list[dict[str, Any]], *shared: dict[str, Any]) -> None:
        if not rows:
            return
        constant: dict[str, Any] = {}
        for part in shared:
            constant.update(part)
        n = len(rows)
        for name, values in self.data.items():
            if name in constant:
                values.extend([constant[name]] * n)
            else:
                values.extend([row.get(name) for row in rows])

    def table(self) -> pa.Table:
        """The columns as one table; OTLPDecodeError naming the column if a value does not fit its type
        (a 64-bit number in a 32-bit column, say)."""
        arrays = {}
        for name, values in self.data.items():
            if self.types[name] == pa.string():
                longest = max((len(v) for v in values if isinstance(v, str)), default=0)
                if longest > MAX_CELL_CHARS:
                    raise BodyTooLarge(
                        f"A row's `{name}` would hold {longest:,} characters, more than {MAX_CELL_CHARS:,}; "
                        "send fewer or smaller attributes."
                    )
            try:
                arrays[name] = pa.array(values, type=self.types[name])
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
                raise OTLPDecodeError(
                    f"A value for `{name}` does not fit its {self.types[name]} column "
                    f"({' '.join(str(exc).split())[:200]}); fix the sender."
                ) from None
        return pa.table(arrays)
