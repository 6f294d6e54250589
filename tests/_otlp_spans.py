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
