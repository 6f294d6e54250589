"""OTLP spans and logs → `records` rows, each column filled the way Logfire fills it (see its SQL reference).

The `logfire.*` attributes the Python SDK sets become columns of their own and leave `attributes`,
attribute values the SDK JSON-encoded (its `logfire.json_schema` says which) are decoded back, and HTTP
semantic-convention attributes (old and new names) become `http_*` and `url_*`. Pending spans
(`logfire.span_type = 'pending_span'`) keep that kind; the store keeps them out of `records` as Logfire does.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from logfire_notebook.server.otlp_common import (
    RESOURCE_TYPES,
    TIMESTAMP,
    Columns,
    any_value,
    attributes,
    int_or_none,
    nanos_to_iso,
    nanos_to_us,
    scoped,
    str_or_none,
    to_json,
)
from logfire_notebook.server.otlp_wire import OTLPDecodeError

__all__ = ["logs_to_table", "records_schema", "spans_to_table"]

# Attributes that Logfire turns into columns and keeps out of the `attributes` JSON.
_SPECIAL_ATTRIBUTES = frozenset(
    {
        "logfire.msg_template",
        "logfire.msg",
        "logfire.level_num",
        "logfire.span_type",
        "logfire.tags",
        "logfire.json_schema",
    }
)
_STATUS_CODES = ("UNSET", "OK", "ERROR")
_INFO, _ERROR = 9, 17
# A log whose body is longer than this gets a truncated span_name; span_name should stay low-cardinality-ish.
_MAX_LOG_SPAN_NAME = 200

_TYPES: dict[str, pa.DataType] = {
    "start_timestamp": TIMESTAMP,
    "end_timestamp": TIMESTAMP,
    "duration": pa.float64(),
    "trace_id": pa.string(),
    "span_id": pa.string(),
    "parent_span_id": pa.string(),
    "kind": pa.string(),
    "level": pa.int32(),
    "span_name": pa.string(),
    "message": pa.string(),
    "log_body": pa.string(),
    "attributes": pa.string(),
    "attributes_json_schema": pa.string(),
    "tags": pa.list_(pa.string()),
    "is_exception": pa.bool_(),
    "exception_type": pa.string(),
    "exception_message": pa.string(),
    "exception_stacktrace": pa.string(),
    "otel_status_code": pa.string(),
    "otel_status_message": pa.string(),
    "otel_events": pa.string(),
    "otel_links": pa.string(),
    "otel_scope_name": pa.string(),
    "otel_scope_version": pa.string(),
    "otel_scope_attributes": pa.string(),
    "http_method": pa.string(),
    "http_route": pa.string(),
    "http_response_status_code": pa.int32(),
    "url_full": pa.string(),
    "url_path": pa.string(),
    "url_query": pa.string(),
    **RESOURCE_TYPES,
}


def records_schema() -> pa.Schema:
    """The Arrow schema of the tables `spans_to_table` and `logs_to_table` return."""
    return pa.schema(_TYPES)


def spans_to_table(request: Any) -> pa.Table:
    """Map an ExportTraceServiceRequest to a `records` Arrow table (one row per span)."""
    return _to_table(request.resource_spans, "scope_spans", "spans", _span_row)


def logs_to_table(request: Any) -> pa.Table:
    """Map an ExportLogsServiceRequest to a `records` Arrow table (kind 'log', one row per log record)."""
    return _to_table(request.resource_logs, "scope_logs", "log_records", _log_row)


def _to_table(
    resource_groups: Iterable[Any], scopes_field: str, items_field: str, row: Callable[[Any], dict[str, Any]]
) -> pa.Table:
    columns = Columns(_TYPES)
    for items, scope, resource in scoped(resource_groups, scopes_field, items_field):
        columns.add_group([row(item) for item in items], scope, resource)
    return columns.table()


# ---------------------------------------------------------------------------------------------------------
# What spans and logs share


@functools.lru_cache(maxsize=4096)
def _encoded_keys(json_schema: str) -> frozenset[str]:
    """The attribute keys whose values the SDK JSON-encoded: those with a non-empty schema entry.

    Cached because an SDK sends the same few schemas over and over.
    """
    try:
        parsed = json.loads(json_schema)
    except ValueError:
        return frozenset()
    properties = parsed.get("properties") if isinstance(parsed, dict) else None
    if not isinstance(properties, dict):
        return frozenset()
    return frozenset(key for key, schema in properties.items() if schema)


def _user_attributes(attrs: dict[str, Any], json_schema: str | None) -> dict[str, Any]:
    """Attributes as Logfire shows them: special keys removed, the SDK's JSON-encoded values decoded."""
    encoded = _encoded_keys(json_schema) if json_schema else frozenset()
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if key in _SPECIAL_ATTRIBUTES:
            continue
        # The SDK JSON-encodes every value that is not a plain str/int/float/bool and describes it
        # in the schema; plain values get an empty schema entry.
        if key in encoded and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = json.loads(value)
        out[key] = value
    return out


def _attribute_columns(attrs: dict[str, Any]) -> dict[str, Any]:
    """`attributes`, its JSON schema and the HTTP columns: taken from a span's or log's attributes alike."""
    json_schema = str_or_none(attrs.get("logfire.json_schema"))
    return {
        "attributes": to_json(_user_attributes(attrs, json_schema)),
        "attributes_json_schema": json_schema,
        **_http_columns(attrs),
    }


def _exception_columns(attrs: dict[str, Any]) -> dict[str, Any]:
    """From an exception event's attributes (spans) or a log record's own (logs)."""
    return {
        "exception_type": str_or_none(attrs.get("exception.type")),
        "exception_message": str_or_none(attrs.get("exception.message")),
        "exception_stacktrace": str_or_none(attrs.get("exception.stacktrace")),
    }


_HTTP_KEYS = frozenset(
    {
        "http.request.method",
        "http.method",
        "http.route",
        "http.response.status_code",
        "http.status_code",
        "url.full",
        "http.url",
        "url.path",
        "url.query",
        "http.target",
    }
)


def _http_columns(attrs: dict[str, Any]) -> dict[str, Any]:
    if _HTTP_KEYS.isdisjoint(attrs):
        return {}
    url_full = str_or_none(attrs.get("url.full", attrs.get("http.url")))
    path = str_or_none(attrs.get("url.path"))
    query = str_or_none(attrs.get("url.query"))
    if path is None or query is None:
        # Older semantic conventions carry path and query only inside http.target or http.url.
        target = str_or_none(attrs.get("http.target"))
        if target is None and url_full:
            split = urlsplit(url_full)
            target = split.path + ("?" + split.query if split.query else "")
        if target:
            target_path, _, target_query = target.partition("?")
            path = path or target_path or None
            if query is None and "?" not in target and url_full and "?" in url_full:
                target_query = url_full.partition("?")[2]
            query = query or target_query or None
    return {
        "http_method": str_or_none(attrs.get("http.request.method", attrs.get("http.method"))),
        "http_route": str_or_none(attrs.get("http.route")),
        "http_response_status_code": int_or_none(
            attrs.get("http.response.status_code", attrs.get("http.status_code"))
        ),
        "url_full": url_full,
        "url_path": path,
        "url_query": query,
    }


# ---------------------------------------------------------------------------------------------------------
# Spans


def _hex_id(value: bytes, size: int, what: str, name: str, *, optional: bool = False) -> str | None:
    """An id as hex; OTLPDecodeError for one that OpenTelemetry calls invalid (wrong length, all zeros)."""
    if optional and not value:
        return None
    if len(value) != size or not any(value):
        raise OTLPDecodeError(
            f"{what} {name!r} has an invalid {'span' if size == 8 else 'trace'} id {value.hex()!r}: ids are "
            f"{size} bytes, not all zero; fix the sender."
        )
    return value.hex()


def _tags(value: Any) -> list[str]:
    """`logfire.tags` as the `tags` column, for spans and logs alike: an array of strings, or one string (what
    OpenTelemetry SDKs send for a single tag) as a list of one."""
    if isinstance(value, list):
        return [str(t) for t in value]
    return [value] if isinstance(value, str) else []


def _span_row(span: Any) -> dict[str, Any]:
    _hex_id(span.trace_id, 16, "Span", span.name)
    _hex_id(span.span_id, 8, "Span", span.name)
    if span.end_time_unix_nano and span.end_time_unix_nano < span.start_time_unix_nano:
        raise OTLPDecodeError(
            f"Span {span.name!r} ends before it starts (end_time_unix_nano < start_time_unix_nano); "
            "fix the sender's clock or timestamps."
        )
    attrs = attributes(span.attributes)
    span_type = attrs.get("logfire.span_type") or "span"
    status_code = _STATUS_CODES[span.status.code] if 0 <= span.status.code < 3 else "UNSET"
    level = int_or_none(attrs.get("logfire.level_num"))
    if level is None:
        level = _ERROR if status_code == "ERROR" else _INFO
    tags = attrs.get("logfire.tags")
    start, end = span.start_time_unix_nano, span.end_time_unix_nano or span.start_time_unix_nano
    row: dict[str, Any] = {
        "start_timestamp": nanos_to_us(start),
        "end_timestamp": nanos_to_us(end),
        "duration": None if span_type == "log" else (end - start) / 1e9,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": _hex_id(span.parent_span_id, 8, "Span", span.name, optional=True),
        "kind": span_type,
        "level": level,
        "span_name": str_or_none(attrs.get("logfire.msg_template")) or span.name,
        "message": str_or_none(attrs.get("logfire.msg")) or span.name,
        "tags": _tags(tags),
        "otel_status_code": status_code,
        "otel_status_message": span.status.message or None,
        "is_exception": False,
        "otel_events": "[]",
        "otel_links": "[]",
        **_attribute_columns(attrs),
    }
    if span.events:
        events = []
        for event in span.events:
            event_attrs = attributes(event.attributes)
            events.append(
                {
                    "name": event.name,
                    "timestamp": nanos_to_iso(event.time_unix_nano),
                    "attributes": event_attrs,
                }
            )
            if event.name == "exception" and row["is_exception"] is False:
                row["is_exception"] = True
                row.update(_exception_columns(event_attrs))
        row["otel_events"] = to_json(events)
    if span.links:
        row["otel_links"] = to_json(
            [
                {
                    "trace_id": link.trace_id.hex(),
                    "span_id": link.span_id.hex(),
                    "attributes": attributes(link.attributes),
                }
                for link in span.links
            ]
        )
    return row


# ---------------------------------------------------------------------------------------------------------
# Logs


def _body_text(body: Any) -> str | None:
    value = any_value(body)
    if value is None:
        return None
    return value if isinstance(value, str) else to_json(value)


def _log_row(record: Any) -> dict[str, Any]:
    if record.trace_id:
        _hex_id(record.trace_id, 16, "Log record", "")
    if record.span_id:
        _hex_id(record.span_id, 8, "Log record", "")
    attrs = attributes(record.attributes)
    body = _body_text(record.body)
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    level = int_or_none(attrs.get("logfire.level_num")) or record.severity_number or _INFO
    # A log has no span of its own; Logfire still needs ids, so records without trace context get fresh ones.
    trace_id = record.trace_id.hex() or os.urandom(16).hex()
    event_name = getattr(record, "event_name", "") or str_or_none(attrs.get("event.name"))
    span_name = str_or_none(attrs.get("logfire.msg_template")) or event_name or (body or "log")
    tags = attrs.get("logfire.tags")
    is_exception = "exception.type" in attrs
    return {
        "start_timestamp": nanos_to_us(nanos),
        "end_timestamp": nanos_to_us(nanos),
        "duration": None,
        "trace_id": trace_id,
        "span_id": os.urandom(8).hex(),
        # A log emitted inside a span is that span's child, like the SDK's log spans.
        "parent_span_id": record.span_id.hex() or None,
        "kind": "log",
        "level": level,
        "span_name": span_name[:_MAX_LOG_SPAN_NAME],
        "message": str_or_none(attrs.get("logfire.msg")) or body or event_name or "",
        "log_body": body,
        "tags": _tags(tags),
        "otel_status_code": None,
        "otel_events": "[]",
        "otel_links": "[]",
        "is_exception": is_exception,
        **(_exception_columns(attrs) if is_exception else {}),
        **_attribute_columns(attrs),
    }
