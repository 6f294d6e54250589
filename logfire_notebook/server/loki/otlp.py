"""OTLP logs as Loki entries (and Logfire's logs, which its SDK sends as spans of type `log`), mapped the
way Loki 3 maps OTLP: the default index resource attributes become stream labels (dots as underscores:
`service_name`, `deployment_environment`, ...), the other resource attributes, the scope, the log attributes,
trace context and severity become structured metadata, and the severity becomes `detected_level`.

It reads the `records` rows OTLP ingest already made of the logs (`otlp_records.logs_to_table`), so the
same logs are seen through SQL and through LogQL and the OTLP body is decoded once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from logfire_notebook.server.loki.storage import PushStream
from logfire_notebook.server.loki.times import MAX_NS

if TYPE_CHECKING:
    import pyarrow as pa

    from logfire_notebook.server.store import Store

__all__ = ["INDEX_ATTRIBUTES", "append_log_records", "otlp_tenant", "streams_from_log_records"]

INDEX_ATTRIBUTES = (
    "service.name",
    "service.namespace",
    "service.instance.id",
    "deployment.environment",
    "deployment.environment.name",
    "cloud.region",
    "cloud.availability_zone",
    "k8s.cluster.name",
    "k8s.namespace.name",
    "k8s.pod.name",
    "k8s.container.name",
    "container.name",
    "k8s.replicaset.name",
    "k8s.deployment.name",
    "k8s.statefulset.name",
    "k8s.daemonset.name",
    "k8s.cronjob.name",
    "k8s.job.name",
)
"""Loki 3's default `default_resource_attributes_as_index_labels`."""


def _name(key: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in key)


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _flatten(f"{prefix}_{_name(key)}" if prefix else _name(key), inner, out)
    elif value is not None:
        out[prefix] = _text(value)


def detected_level(level: int | None) -> str:
    """OTLP severity number → Loki's level names (1-4 trace ... 21-24 fatal)."""
    if level is None or level <= 0:
        return "unknown"
    names = ("trace", "debug", "info", "warn", "error", "fatal")
    return names[min((level - 1) // 4, 5)]


def streams_from_log_records(table: pa.Table) -> list[PushStream]:
    """Loki streams for the `kind = 'log'` rows of a `records` table made by OTLP log ingest."""
    rows = table.select(
        [
            "start_timestamp",
            "level",
            "log_body",
            "message",
            "attributes",
            "otel_resource_attributes",
            "trace_id",
            "parent_span_id",
            "otel_scope_name",
            "kind",
        ]
    ).to_pylist()
    streams: dict[str, PushStream] = {}
    resources: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    import pyarrow as pa

    micros = table.column("start_timestamp").cast(pa.int64()).to_pylist()
    for i, row in enumerate(rows):
        if row["kind"] != "log":
            continue
        resource_text = row["otel_resource_attributes"] or "{}"
        if resource_text not in resources:
            resource = json.loads(resource_text)
            labels = {
                _name(k): _text(v) for k, v in resource.items() if k in INDEX_ATTRIBUTES and v is not None
            }
            labels.setdefault("service_name", "unknown_service")
            rest: dict[str, str] = {}
            for key, value in resource.items():
                if key not in INDEX_ATTRIBUTES:
                    _flatten(_name(key), value, rest)
            resources[resource_text] = (labels, rest)
        labels, resource_metadata = resources[resource_text]
        metadata = dict(resource_metadata)
        _flatten("", json.loads(row["attributes"] or "{}"), metadata)
        if row["otel_scope_name"]:
            metadata["scope_name"] = row["otel_scope_name"]
        if row["trace_id"]:
            metadata["trace_id"] = row["trace_id"]
        if row["parent_span_id"]:
            metadata["span_id"] = row["parent_span_id"]
        if row["level"] is not None:
            metadata["severity_number"] = str(row["level"])
        metadata["detected_level"] = detected_level(row["level"])
        ns = micros[i] * 1000
        if ns > MAX_NS:  # past 2262: a Loki timestamp (int64 ns) cannot hold it; the `records` row keeps it
            continue
        line = row["log_body"] if row["log_body"] is not None else (row["message"] or "")
        stream = streams.get(resource_text)
        if stream is None:
            stream = streams[resource_text] = PushStream(labels)
        stream.entries.append((ns, line, metadata))
    return list(streams.values())


def append_log_records(store: Store, tenant: str, table: pa.Table) -> int:
    """Store the log rows of an OTLP `records` table (logs, or spans with Logfire's logs among them) as Loki
    entries of `tenant` too."""
    import pyarrow.compute as pc

    from logfire_notebook.server.loki.storage import LokiStore

    logs = table.filter(pc.equal(table.column("kind"), "log"))  # spans are no Loki entries
    if not logs.num_rows:
        return 0
    return LokiStore.of(store).append(tenant, streams_from_log_records(logs))


def otlp_tenant(headers: Mapping[str, str]) -> str:
    """The Loki tenant of an OTLP request: its `X-Scope-OrgID`, or `fake`. OTLP ingest never fails on it:
    an id Loki would refuse stores the Loki entries under `fake` (the `records` rows are stored anyway)."""
    from logfire_notebook.server.loki.params import ParamError, tenant

    try:
        return tenant(headers.get("x-scope-orgid"))
    except ParamError:
        return "fake"
