"""The tables Logfire exposes to SQL: `records` and `metrics`, their columns and types.

This is the one thing the local backend (`server/`) shares with the rest of the package. The columns,
their order, Postgres type names and nullability are those of a real `GET /v1/schemas` answer
(shared/fixtures/logfire-api/v1/schemas_response.json).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["METRICS", "RECORDS", "TABLES", "Column", "schemas_payload"]


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    """Postgres type name as `/v1/schemas` reports it, e.g. `TEXT`, `TIMESTAMP WITH TIME ZONE`, `TEXT[]`."""
    nullable: bool

    @property
    def is_list(self) -> bool:
        return self.pg_type.endswith("[]")


RECORDS: tuple[Column, ...] = (
    Column("attributes", "TEXT", nullable=True),
    Column("attributes_json_schema", "TEXT", nullable=True),
    Column("created_at", "TIMESTAMP WITH TIME ZONE", nullable=False),
    Column("day", "DATE", nullable=False),
    Column("deployment_environment", "TEXT", nullable=True),
    Column("duration", "DOUBLE PRECISION", nullable=True),
    Column("end_timestamp", "TIMESTAMP WITH TIME ZONE", nullable=False),
    Column("exception_message", "TEXT", nullable=True),
    Column("exception_stacktrace", "TEXT", nullable=True),
    Column("exception_type", "TEXT", nullable=True),
    Column("http_method", "TEXT", nullable=True),
    Column("http_response_status_code", "INTEGER", nullable=True),
    Column("http_route", "TEXT", nullable=True),
    Column("is_exception", "BOOLEAN", nullable=True),
    Column("kind", "TEXT", nullable=False),
    Column("level", "INTEGER", nullable=False),
    Column("log_body", "TEXT", nullable=True),
    Column("message", "TEXT", nullable=False),
    Column("otel_events", "TEXT", nullable=True),
    Column("otel_links", "TEXT", nullable=True),
    Column("otel_resource_attributes", "TEXT", nullable=True),
    Column("otel_scope_attributes", "TEXT", nullable=True),
    Column("otel_scope_name", "TEXT", nullable=True),
    Column("otel_scope_version", "TEXT", nullable=True),
    Column("otel_status_code", "TEXT", nullable=True),
    Column("otel_status_message", "TEXT", nullable=True),
    Column("parent_span_id", "TEXT", nullable=True),
    Column("process_pid", "INTEGER", nullable=True),
    Column("project_id", "TEXT", nullable=False),
    Column("service_instance_id", "TEXT", nullable=True),
    Column("service_name", "TEXT", nullable=False),
    Column("service_namespace", "TEXT", nullable=True),
    Column("service_version", "TEXT", nullable=True),
    Column("span_id", "TEXT", nullable=False),
    Column("span_name", "TEXT", nullable=False),
    Column("start_timestamp", "TIMESTAMP WITH TIME ZONE", nullable=False),
    Column("tags", "TEXT[]", nullable=True),
    Column("telemetry_sdk_language", "TEXT", nullable=True),
    Column("telemetry_sdk_name", "TEXT", nullable=True),
    Column("telemetry_sdk_version", "TEXT", nullable=True),
    Column("trace_id", "TEXT", nullable=False),
    Column("url_full", "TEXT", nullable=True),
    Column("url_path", "TEXT", nullable=True),
    Column("url_query", "TEXT", nullable=True),
)

METRICS: tuple[Column, ...] = (
    Column("aggregation_temporality", "TEXT", nullable=True),
    Column("attributes", "TEXT", nullable=True),
    Column("attributes_json_schema", "TEXT", nullable=True),
    Column("created_at", "TIMESTAMP WITH TIME ZONE", nullable=False),
    Column("day", "DATE", nullable=False),
    Column("deployment_environment", "TEXT", nullable=True),
    Column("exemplars", "TEXT", nullable=True),
    Column("exp_histogram_negative_bucket_counts", "INTEGER[]", nullable=True),
    Column("exp_histogram_negative_bucket_counts_offset", "INTEGER", nullable=True),
    Column("exp_histogram_positive_bucket_counts", "INTEGER[]", nullable=True),
    Column("exp_histogram_positive_bucket_counts_offset", "INTEGER", nullable=True),
    Column("exp_histogram_scale", "INTEGER", nullable=True),
    Column("exp_histogram_zero_count", "INTEGER", nullable=True),
    Column("exp_histogram_zero_threshold", "DOUBLE PRECISION", nullable=True),
    Column("histogram_bucket_counts", "INTEGER[]", nullable=True),
    Column("histogram_count", "INTEGER", nullable=True),
    Column("histogram_explicit_bounds", "DOUBLE PRECISION[]", nullable=True),
    Column("histogram_max", "DOUBLE PRECISION", nullable=True),
    Column("histogram_min", "DOUBLE PRECISION", nullable=True),
    Column("histogram_sum", "DOUBLE PRECISION", nullable=True),
    Column("is_monotonic", "BOOLEAN", nullable=True),
    Column("metric_description", "TEXT", nullable=True),
    Column("metric_name", "TEXT", nullable=False),
    Column("metric_type", "TEXT", nullable=False),
    Column("otel_resource_attributes", "TEXT", nullable=True),
    Column("otel_scope_attributes", "TEXT", nullable=True),
    Column("otel_scope_name", "TEXT", nullable=True),
    Column("otel_scope_version", "TEXT", nullable=True),
    Column("process_pid", "INTEGER", nullable=True),
    Column("project_id", "TEXT", nullable=False),
    Column("recorded_timestamp", "TIMESTAMP WITH TIME ZONE", nullable=True),
    Column("scalar_value", "DOUBLE PRECISION", nullable=True),
    Column("service_instance_id", "TEXT", nullable=True),
    Column("service_name", "TEXT", nullable=False),
    Column("service_namespace", "TEXT", nullable=True),
    Column("service_version", "TEXT", nullable=True),
    Column("start_timestamp", "TIMESTAMP WITH TIME ZONE", nullable=True),
    Column("telemetry_sdk_language", "TEXT", nullable=True),
    Column("telemetry_sdk_name", "TEXT", nullable=True),
    Column("telemetry_sdk_version", "TEXT", nullable=True),
    Column("unit", "TEXT", nullable=False),
)
TABLES: dict[str, tuple[Column, ...]] = {"records": RECORDS, "metrics": METRICS}


def schemas_payload() -> dict[str, object]:
    """The body of `GET /v1/schemas`, shaped like Logfire's."""
    return {
        "tables": [
            {
                "name": name,
                "description": "",
                "schema": {
                    c.name: {"data_type": c.pg_type, "nullable": c.nullable, "description": ""}
                    for c in columns
                },
            }
            for name, columns in TABLES.items()
        ]
    }
