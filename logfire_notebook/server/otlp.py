"""OTLP → Arrow: decode OTLP/HTTP bodies and map spans, logs and metrics to Logfire's columns.

The mapping follows how Logfire fills `records` and `metrics` (its SQL reference documents each column):
the `logfire.*` attributes the Python SDK sets become columns of their own and leave `attributes`,
attribute values the SDK JSON-encoded (its `logfire.json_schema` says which) are decoded back, resource
attributes become `service_*`, `deployment_environment`, `telemetry_sdk_*`, and HTTP semantic-convention
attributes (old and new names) become `http_*` and `url_*`.

Pending spans (`logfire.span_type = 'pending_span'`) are kept with that kind; the store keeps them out of
`records` the way Logfire does (they live in its `records_full`).

Everything here is a pure function of the request bytes, so it runs before anything is stored.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gzip
import json
import os
import zlib
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

__all__ = [
    "SIGNALS",
    "OTLPDecodeError",
    "decode_request",
    "logs_to_table",
    "metrics_schema",
    "metrics_to_table",
    "records_schema",
    "spans_to_table",
]

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
_TEMPORALITIES = (None, "delta", "cumulative")
_INFO, _ERROR = 9, 17
# A log whose body is longer than this gets a truncated span_name; span_name should stay low-cardinality-ish.
_MAX_LOG_SPAN_NAME = 200

_TS = pa.timestamp("us", tz="UTC")
_RECORD_TYPES: dict[str, pa.DataType] = {
    "start_timestamp": _TS,
    "end_timestamp": _TS,
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
}
_RESOURCE_TYPES: dict[str, pa.DataType] = {
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
_METRIC_TYPES: dict[str, pa.DataType] = {
    "metric_name": pa.string(),
    "metric_description": pa.string(),
    "metric_type": pa.string(),
    "unit": pa.string(),
    "attributes": pa.string(),
    "attributes_json_schema": pa.string(),
    "recorded_timestamp": _TS,
    "start_timestamp": _TS,
    "scalar_value": pa.float64(),
    "aggregation_temporality": pa.string(),
    "is_monotonic": pa.bool_(),
    "histogram_count": pa.int64(),
    "histogram_sum": pa.float64(),
    "histogram_min": pa.float64(),
    "histogram_max": pa.float64(),
    "histogram_bucket_counts": pa.list_(pa.int64()),
    "histogram_explicit_bounds": pa.list_(pa.float64()),
    "exp_histogram_scale": pa.int32(),
    "exp_histogram_zero_count": pa.int64(),
    "exp_histogram_zero_threshold": pa.float64(),
    "exp_histogram_positive_bucket_counts": pa.list_(pa.int64()),
    "exp_histogram_positive_bucket_counts_offset": pa.int32(),
    "exp_histogram_negative_bucket_counts": pa.list_(pa.int64()),
    "exp_histogram_negative_bucket_counts_offset": pa.int32(),
    "exemplars": pa.string(),
    "otel_scope_name": pa.string(),
    "otel_scope_version": pa.string(),
    "otel_scope_attributes": pa.string(),
}


def records_schema() -> pa.Schema:
    """The Arrow schema of the tables `spans_to_table` and `logs_to_table` return."""
    return pa.schema({**_RECORD_TYPES, **_RESOURCE_TYPES})


def metrics_schema() -> pa.Schema:
    """The Arrow schema of the tables `metrics_to_table` returns."""
    return pa.schema({**_METRIC_TYPES, **_RESOURCE_TYPES})


class OTLPDecodeError(ValueError):
    """The request body is not a valid OTLP message; `str()` is one sentence for the client."""


SIGNALS: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "logs": ExportLogsServiceRequest,
    "metrics": ExportMetricsServiceRequest,
}


# ---------------------------------------------------------------------------------------------------------
# Decoding request bodies


def decode_request(signal: str, body: bytes, content_type: str | None, content_encoding: str | None) -> Any:
    """Parse an OTLP/HTTP body (protobuf or JSON, optionally gzip/deflate) into the export request message."""
    message_type = SIGNALS[signal]
    body = _decompress(body, (content_encoding or "").strip().lower())
    media_type = (content_type or "application/x-protobuf").split(";")[0].strip().lower()
    if media_type == "application/json":
        return _parse_json(message_type, body, signal)
    if media_type in ("application/x-protobuf", "application/protobuf", "application/octet-stream"):
        try:
            return message_type.FromString(body)
        except (DecodeError, RuntimeError, ValueError) as exc:
            raise OTLPDecodeError(
                f"The body is not a valid OTLP protobuf {message_type.__name__} ({exc}); "
                "send the encoded request as the OTLP/HTTP spec describes."
            ) from None
    raise OTLPDecodeError(
        f"Content-Type {media_type!r} is not supported; send application/x-protobuf or application/json."
    )


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        return body
    try:
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(body)
        if encoding == "deflate":
            return zlib.decompress(body)
    except (OSError, EOFError, zlib.error):
        raise OTLPDecodeError(
            f"The body is not valid {encoding} data although Content-Encoding says so; "
            "compress it or drop the header."
        ) from None
    raise OTLPDecodeError(f"Content-Encoding {encoding!r} is not supported; send gzip, deflate or identity.")


# OTLP/JSON writes trace and span ids as hex, where protobuf's JSON mapping expects base64 for bytes.
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


def _parse_json(message_type: type[Message], body: bytes, signal: str) -> Any:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise OTLPDecodeError(
            f"The body is not valid JSON ({exc}); send an OTLP/JSON {signal} request."
        ) from None
    if not isinstance(data, dict):
        raise OTLPDecodeError(f"The JSON body must be an object; send an OTLP/JSON {signal} request.")
    try:
        _hex_ids_to_base64(data)
        return json_format.ParseDict(data, message_type(), ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise OTLPDecodeError(
            f"The JSON body is not a valid OTLP {signal} request ({_one_line(str(exc))}); "
            "check it against the OTLP/JSON spec."
        ) from None


def _hex_ids_to_base64(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    node[key] = base64.b64encode(bytes.fromhex(value)).decode()
                except ValueError:
                    raise ValueError(f"{key} {value!r} is not a hex string") from None
            else:
                _hex_ids_to_base64(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids_to_base64(item)


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


# ---------------------------------------------------------------------------------------------------------
# Attribute values


def _any_value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which is None:
        return None
    if which == "array_value":
        return [_any_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return {kv.key: _any_value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return base64.b64encode(value.bytes_value).decode()
    return getattr(value, which)


def _attributes(key_values: Iterable[Any]) -> dict[str, Any]:
    return {kv.key: _any_value(kv.value) for kv in key_values}


_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode


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


def _str_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# ---------------------------------------------------------------------------------------------------------
# Resource and scope


def _resource_columns(resource: Any) -> dict[str, Any]:
    attrs = _attributes(resource.attributes)
    environment = attrs.get("deployment.environment.name", attrs.get("deployment.environment"))
    return {
        "service_name": _str_or_none(attrs.get("service.name")) or "unknown_service",
        "service_namespace": _str_or_none(attrs.get("service.namespace")),
        "service_version": _str_or_none(attrs.get("service.version")),
        "service_instance_id": _str_or_none(attrs.get("service.instance.id")),
        "deployment_environment": _str_or_none(environment),
        "process_pid": _int_or_none(attrs.get("process.pid")),
        "telemetry_sdk_name": _str_or_none(attrs.get("telemetry.sdk.name")),
        "telemetry_sdk_language": _str_or_none(attrs.get("telemetry.sdk.language")),
        "telemetry_sdk_version": _str_or_none(attrs.get("telemetry.sdk.version")),
        "otel_resource_attributes": _json(attrs),
    }


def _scope_columns(scope: Any) -> dict[str, Any]:
    attrs = _attributes(scope.attributes)
    return {
        "otel_scope_name": scope.name or None,
        "otel_scope_version": scope.version or None,
        "otel_scope_attributes": _json(attrs),
    }


# ---------------------------------------------------------------------------------------------------------
# Spans and logs → records


class _Columns:
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
        return pa.table({name: pa.array(values, type=self.types[name]) for name, values in self.data.items()})


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
    url_full = _str_or_none(attrs.get("url.full", attrs.get("http.url")))
    path = _str_or_none(attrs.get("url.path"))
    query = _str_or_none(attrs.get("url.query"))
    if path is None or query is None:
        # Older semantic conventions carry path and query only inside http.target or http.url.
        target = _str_or_none(attrs.get("http.target"))
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
        "http_method": _str_or_none(attrs.get("http.request.method", attrs.get("http.method"))),
        "http_route": _str_or_none(attrs.get("http.route")),
        "http_response_status_code": _int_or_none(
            attrs.get("http.response.status_code", attrs.get("http.status_code"))
        ),
        "url_full": url_full,
        "url_path": path,
        "url_query": query,
    }


def _us(nanos: int) -> int:
    return nanos // 1000


def _iso(nanos: int) -> str:
    return datetime.fromtimestamp(nanos / 1e9, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _span_row(span: Any) -> dict[str, Any]:
    attrs = _attributes(span.attributes)
    span_type = attrs.get("logfire.span_type") or "span"
    status_code = _STATUS_CODES[span.status.code] if 0 <= span.status.code < 3 else "UNSET"
    level = _int_or_none(attrs.get("logfire.level_num"))
    if level is None:
        level = _ERROR if status_code == "ERROR" else _INFO
    json_schema = _str_or_none(attrs.get("logfire.json_schema"))
    tags = attrs.get("logfire.tags")
    start, end = span.start_time_unix_nano, span.end_time_unix_nano or span.start_time_unix_nano
    row: dict[str, Any] = {
        "start_timestamp": _us(start),
        "end_timestamp": _us(end),
        "duration": None if span_type == "log" else (end - start) / 1e9,
        "trace_id": span.trace_id.hex(),
        "span_id": span.span_id.hex(),
        "parent_span_id": span.parent_span_id.hex() or None,
        "kind": span_type,
        "level": level,
        "span_name": _str_or_none(attrs.get("logfire.msg_template")) or span.name,
        "message": _str_or_none(attrs.get("logfire.msg")) or span.name,
        "attributes": _json(_user_attributes(attrs, json_schema)),
        "attributes_json_schema": json_schema,
        "tags": [str(t) for t in tags]
        if isinstance(tags, list)
        else ([tags] if isinstance(tags, str) else []),
        "otel_status_code": status_code,
        "otel_status_message": span.status.message or None,
        "is_exception": False,
        "otel_events": "[]",
        "otel_links": "[]",
    }
    if span.events:
        events = []
        for event in span.events:
            event_attrs = _attributes(event.attributes)
            events.append(
                {"name": event.name, "timestamp": _iso(event.time_unix_nano), "attributes": event_attrs}
            )
            if event.name == "exception" and row["is_exception"] is False:
                row["is_exception"] = True
                row["exception_type"] = _str_or_none(event_attrs.get("exception.type"))
                row["exception_message"] = _str_or_none(event_attrs.get("exception.message"))
                row["exception_stacktrace"] = _str_or_none(event_attrs.get("exception.stacktrace"))
        row["otel_events"] = _json(events)
    if span.links:
        row["otel_links"] = _json(
            [
                {
                    "trace_id": link.trace_id.hex(),
                    "span_id": link.span_id.hex(),
                    "attributes": _attributes(link.attributes),
                }
                for link in span.links
            ]
        )
    row.update(_http_columns(attrs))
    return row


def spans_to_table(request: Any) -> pa.Table:
    """Map an ExportTraceServiceRequest to a `records` Arrow table (one row per span)."""
    columns = _Columns({**_RECORD_TYPES, **_RESOURCE_TYPES})
    for resource_spans in request.resource_spans:
        resource = _resource_columns(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            scope = _scope_columns(scope_spans.scope)
            columns.add_group([_span_row(span) for span in scope_spans.spans], scope, resource)
    return columns.table()


def _body_text(body: Any) -> str | None:
    value = _any_value(body)
    if value is None:
        return None
    return value if isinstance(value, str) else _json(value)


def _log_row(record: Any) -> dict[str, Any]:
    attrs = _attributes(record.attributes)
    json_schema = _str_or_none(attrs.get("logfire.json_schema"))
    body = _body_text(record.body)
    nanos = record.time_unix_nano or record.observed_time_unix_nano
    level = _int_or_none(attrs.get("logfire.level_num")) or record.severity_number or _INFO
    # A log has no span of its own; Logfire still needs ids, so records without trace context get fresh ones.
    trace_id = record.trace_id.hex() or os.urandom(16).hex()
    event_name = getattr(record, "event_name", "") or _str_or_none(attrs.get("event.name"))
    span_name = _str_or_none(attrs.get("logfire.msg_template")) or event_name or (body or "log")
    tags = attrs.get("logfire.tags")
    row: dict[str, Any] = {
        "start_timestamp": _us(nanos),
        "end_timestamp": _us(nanos),
        "duration": None,
        "trace_id": trace_id,
        "span_id": os.urandom(8).hex(),
        # A log emitted inside a span is that span's child, like the SDK's log spans.
        "parent_span_id": record.span_id.hex() or None,
        "kind": "log",
        "level": level,
        "span_name": span_name[:_MAX_LOG_SPAN_NAME],
        "message": _str_or_none(attrs.get("logfire.msg")) or body or event_name or "",
        "log_body": body,
        "attributes": _json(_user_attributes(attrs, json_schema)),
        "attributes_json_schema": json_schema,
        "tags": [str(t) for t in tags] if isinstance(tags, list) else [],
        "otel_status_code": None,
        "otel_events": "[]",
        "otel_links": "[]",
        "is_exception": "exception.type" in attrs,
    }
    if row["is_exception"]:
        row["exception_type"] = _str_or_none(attrs.get("exception.type"))
        row["exception_message"] = _str_or_none(attrs.get("exception.message"))
        row["exception_stacktrace"] = _str_or_none(attrs.get("exception.stacktrace"))
    row.update(_http_columns(attrs))
    return row


def logs_to_table(request: Any) -> pa.Table:
    """Map an ExportLogsServiceRequest to a `records` Arrow table (kind 'log', one row per log record)."""
    columns = _Columns({**_RECORD_TYPES, **_RESOURCE_TYPES})
    for resource_logs in request.resource_logs:
        resource = _resource_columns(resource_logs.resource)
        for scope_logs in resource_logs.scope_logs:
            scope = _scope_columns(scope_logs.scope)
            columns.add_group([_log_row(record) for record in scope_logs.log_records], scope, resource)
    return columns.table()


# ---------------------------------------------------------------------------------------------------------
# Metrics


def _exemplars(point: Any) -> str | None:
    if not point.exemplars:
        return None
    out = []
    for ex in point.exemplars:
        which = ex.WhichOneof("value")
        out.append(
            {
                "timestamp": _iso(ex.time_unix_nano),
                "value": getattr(ex, which) if which else None,
                "trace_id": ex.trace_id.hex() or None,
                "span_id": ex.span_id.hex() or None,
                "attributes": _attributes(ex.filtered_attributes),
            }
        )
    return _json(out)


def _point_base(point: Any) -> dict[str, Any]:
    return {
        "attributes": _json(_attributes(point.attributes)),
        "recorded_timestamp": _us(point.time_unix_nano),
        "start_timestamp": _us(point.start_time_unix_nano) if point.start_time_unix_nano else None,
        "exemplars": _exemplars(point),
    }


def _number_point(point: Any) -> dict[str, Any]:
    which = point.WhichOneof("value")
    row = _point_base(point)
    row["scalar_value"] = float(getattr(point, which)) if which else None
    return row


def _histogram_point(point: Any) -> dict[str, Any]:
    row = _point_base(point)
    row.update(
        histogram_count=point.count,
        histogram_sum=point.sum if point.HasField("sum") else None,
        histogram_min=point.min if point.HasField("min") else None,
        histogram_max=point.max if point.HasField("max") else None,
        histogram_bucket_counts=list(point.bucket_counts),
        histogram_explicit_bounds=list(point.explicit_bounds),
    )
    return row


def _exp_histogram_point(point: Any) -> dict[str, Any]:
    row = _point_base(point)
    row.update(
        histogram_count=point.count,
        histogram_sum=point.sum if point.HasField("sum") else None,
        histogram_min=point.min if point.HasField("min") else None,
        histogram_max=point.max if point.HasField("max") else None,
        exp_histogram_scale=point.scale,
        exp_histogram_zero_count=point.zero_count,
        exp_histogram_zero_threshold=point.zero_threshold,
        exp_histogram_positive_bucket_counts=list(point.positive.bucket_counts),
        exp_histogram_positive_bucket_counts_offset=point.positive.offset,
        exp_histogram_negative_bucket_counts=list(point.negative.bucket_counts),
        exp_histogram_negative_bucket_counts_offset=point.negative.offset,
    )
    return row


_METRIC_KINDS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "sum": ("sum", _number_point),
    "gauge": ("gauge", _number_point),
    "histogram": ("histogram", _histogram_point),
    "exponential_histogram": ("exponential_histogram", _exp_histogram_point),
}


def metrics_to_table(request: Any) -> pa.Table:
    """Map an ExportMetricsServiceRequest to a `metrics` Arrow table (one row per data point).

    Summaries, which the OpenTelemetry SDKs no longer produce, have no columns in Logfire and are skipped.
    """
    columns = _Columns({**_METRIC_TYPES, **_RESOURCE_TYPES})
    for resource_metrics in request.resource_metrics:
        resource = _resource_columns(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = _scope_columns(scope_metrics.scope)
            for metric in scope_metrics.metrics:
                which = metric.WhichOneof("data")
                if which not in _METRIC_KINDS:
                    continue
                metric_type, point_row = _METRIC_KINDS[which]
                data = getattr(metric, which)
                temporality = getattr(data, "aggregation_temporality", 0)
                common = {
                    "metric_name": metric.name,
                    "metric_description": metric.description or None,
                    "metric_type": metric_type,
                    "unit": metric.unit,
                    "aggregation_temporality": _TEMPORALITIES[temporality] if 0 < temporality < 3 else None,
                    "is_monotonic": data.is_monotonic if which == "sum" else None,
                }
                columns.add_group([point_row(point) for point in data.data_points], common, scope, resource)
    return columns.table()
