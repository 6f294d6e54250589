"""OTLP metrics → `metrics` rows, one per data point, in the columns of Logfire's `metrics` table.

Apart from spans and logs because metrics go to their own table: sums and gauges fill `scalar_value`,
histograms the `histogram_*` columns, exponential histograms also the `exp_histogram_*` ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyarrow as pa

from logfire_notebook.server.otlp_common import (
    RESOURCE_TYPES,
    TIMESTAMP,
    Columns,
    attributes,
    json_number,
    nanos_to_iso,
    nanos_to_us,
    scoped,
    to_json,
)

__all__ = ["metrics_schema", "metrics_to_table"]

_TEMPORALITIES = (None, "delta", "cumulative")

_TYPES: dict[str, pa.DataType] = {
    "metric_name": pa.string(),
    "metric_description": pa.string(),
    "metric_type": pa.string(),
    "unit": pa.string(),
    "attributes": pa.string(),
    "attributes_json_schema": pa.string(),
    "recorded_timestamp": TIMESTAMP,
    "start_timestamp": TIMESTAMP,
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
    **RESOURCE_TYPES,
}


def metrics_schema() -> pa.Schema:
    """The Arrow schema of the tables `metrics_to_table` returns."""
    return pa.schema(_TYPES)


def metrics_to_table(request: Any) -> pa.Table:
    """Map an ExportMetricsServiceRequest to a `metrics` Arrow table (one row per data point).

    Summaries, which the OpenTelemetry SDKs no longer produce, have no columns in Logfire and are skipped.
    """
    columns = Columns(_TYPES)
    for metrics, scope, resource in scoped(request.resource_metrics, "scope_metrics", "metrics"):
        for metric in metrics:
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


def _exemplars(point: Any) -> str | None:
    if not point.exemplars:
        return None
    out = []
    for ex in point.exemplars:
        which = ex.WhichOneof("value")
        out.append(
            {
                "timestamp": nanos_to_iso(ex.time_unix_nano),
                "value": json_number(float(getattr(ex, which))) if which else None,
                "trace_id": ex.trace_id.hex() or None,
                "span_id": ex.span_id.hex() or None,
                "attributes": attributes(ex.filtered_attributes),
            }
        )
    return to_json(out)


def _point_base(point: Any) -> dict[str, Any]:
    return {
        "attributes": to_json(attributes(point.attributes)),
        "recorded_timestamp": nanos_to_us(point.time_unix_nano),
        "start_timestamp": nanos_to_us(point.start_time_unix_nano) if point.start_time_unix_nano else None,
        "exemplars": _exemplars(point),
    }


def _number_point(point: Any) -> dict[str, Any]:
    which = point.WhichOneof("value")
    row = _point_base(point)
    row["scalar_value"] = float(getattr(point, which)) if which else None
    return row


def _histogram_base(point: Any) -> dict[str, Any]:
    """What explicit-bucket and exponential histogram points both carry: count, sum, min, max."""
    return {
        **_point_base(point),
        "histogram_count": point.count,
        "histogram_sum": point.sum if point.HasField("sum") else None,
        "histogram_min": point.min if point.HasField("min") else None,
        "histogram_max": point.max if point.HasField("max") else None,
    }


def _histogram_point(point: Any) -> dict[str, Any]:
    return {
        **_histogram_base(point),
        "histogram_bucket_counts": list(point.bucket_counts),
        "histogram_explicit_bounds": list(point.explicit_bounds),
    }


def _exp_histogram_point(point: Any) -> dict[str, Any]:
    return {
        **_histogram_base(point),
        "exp_histogram_scale": point.scale,
        "exp_histogram_zero_count": point.zero_count,
        "exp_histogram_zero_threshold": point.zero_threshold,
        "exp_histogram_positive_bucket_counts": list(point.positive.bucket_counts),
        "exp_histogram_positive_bucket_counts_offset": point.positive.offset,
        "exp_histogram_negative_bucket_counts": list(point.negative.bucket_counts),
        "exp_histogram_negative_bucket_counts_offset": point.negative.offset,
    }


_METRIC_KINDS: dict[str, tuple[str, Callable[[Any], dict[str, Any]]]] = {
    "sum": ("sum", _number_point),
    "gauge": ("gauge", _number_point),
    "histogram": ("histogram", _histogram_point),
    "exponential_histogram": ("exponential_histogram", _exp_histogram_point),
}
