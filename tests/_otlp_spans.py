"""Spans sent to a backend's OTLP endpoint now, as a live service would (for Live mode's tests)."""

from __future__ import annotations

import os
import time

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span


def send_spans(base_url: str, service: str, names: list[str], *, ago: float = 0) -> None:
    """One export request: a span per name, starting now (or `ago` seconds before now), from `service`."""
    now = time.time_ns() - int(ago * 1e9)
    spans = [
        Span(
            trace_id=os.urandom(16),
            span_id=os.urandom(8),
            name=name,
            start_time_unix_nano=now + i * 1000,
            end_time_unix_nano=now + i * 1000 + 500,
        )
        for i, name in enumerate(names)
    ]
    resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    resource.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value=service)))
    body = ExportTraceServiceRequest(resource_spans=[resource]).SerializeToString()
    response = httpx.post(
        f"{base_url}/v1/traces", content=body, headers={"Content-Type": "application/x-protobuf"}, timeout=30
    )
    response.raise_for_status()


def send_trace_with_logs(
    base_url: str, service: str, tenant: str, *, depth: int = 3, ago: float = 60
) -> tuple[str, int]:
    """A trace as a service sends it, `ago` seconds ago: a chain of `depth` nested spans (each inside its
    parent's time), and an OTLP log record inside the deepest one, which the backend also keeps as a Loki line
    of `tenant` with the trace id in its structured metadata. Returns the trace id (hex) and its span count.
    Its `records` rows are seen by every tenant: send to a backend of the test's own, or long enough ago."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

    now = time.time_ns() - int(ago * 10**9)
    trace_id, ids = os.urandom(16), [os.urandom(8) for _ in range(depth)]
    spans = [
        Span(
            trace_id=trace_id,
            span_id=ids[i],
            parent_span_id=ids[i - 1] if i else b"",
            name=f"step {i}",
            start_time_unix_nano=now + i * 10**8,
            end_time_unix_nano=now + (2 * depth - i) * 10**8,
        )
        for i in range(depth)
    ]
    record = LogRecord(
        time_unix_nano=now + depth * 10**8,
        severity_number=17,
        severity_text="ERROR",
        body=AnyValue(string_value=f"step {depth - 1} failed"),
        trace_id=trace_id,
        span_id=ids[-1],
    )
    service_name = KeyValue(key="service.name", value=AnyValue(string_value=service))
    span_resource = ResourceSpans(scope_spans=[ScopeSpans(spans=spans)])
    span_resource.resource.attributes.append(service_name)
    log_resource = ResourceLogs(scope_logs=[ScopeLogs(log_records=[record])])
    log_resource.resource.attributes.append(service_name)
    for path, message in (
        ("traces", ExportTraceServiceRequest(resource_spans=[span_resource])),
        ("logs", ExportLogsServiceRequest(resource_logs=[log_resource])),
    ):
        response = httpx.post(
            f"{base_url}/v1/{path}",
            content=message.SerializeToString(),
            headers={"Content-Type": "application/x-protobuf", "X-Scope-OrgID": tenant},
            timeout=30,
        )
        response.raise_for_status()
    return trace_id.hex(), depth
