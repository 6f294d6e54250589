"""`query_range` answered as Parquet, as Loki >= 3.4 does when asked with exactly
`Accept: application/vnd.apache.parquet` (Loki's query frontend with Parquet support turned on).

Loki's columns, one row per entry or point, streams (series) one after another:

- a log query: `timestamp` (TIMESTAMP nanoseconds, UTC), `labels` (map of string to string: the stream's
  labels, structured metadata and parsed labels folded in, as in a JSON answer without encoding flags),
  `line` (string). Loki's Parquet has no separate metadata columns;
- a metric query (a matrix): `timestamp` (TIMESTAMP milliseconds, UTC), `labels` (map), `value` (double).

The body is built from the JSON-shaped answer the other routes send, so both forms always agree.
"""

from __future__ import annotations

import io
from typing import Any

__all__ = ["PARQUET", "encode"]

PARQUET = "application/vnd.apache.parquet"


def encode(data: dict[str, Any]) -> bytes:
    """The `data` of a (folded) streams or matrix answer as Parquet bytes."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    labels_type = pa.map_(pa.string(), pa.string())
    if data["resultType"] == "streams":
        rows = [
            (int(ts), list(s["stream"].items()), line) for s in data["result"] for ts, line in s["values"]
        ]
        table = pa.table(
            {
                "timestamp": pa.array([r[0] for r in rows], pa.timestamp("ns", tz="UTC")),
                "labels": pa.array([r[1] for r in rows], labels_type),
                "line": pa.array([r[2] for r in rows], pa.string()),
            }
        )
    else:
        points = [
            (round(float(t) * 1000), list(s["metric"].items()), float(v))
            for s in data["result"]
            for t, v in s["values"]
        ]
        table = pa.table(
            {
                "timestamp": pa.array([p[0] for p in points], pa.timestamp("ms", tz="UTC")),
                "labels": pa.array([p[1] for p in points], labels_type),
                "value": pa.array([p[2] for p in points], pa.float64()),
            }
        )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()
