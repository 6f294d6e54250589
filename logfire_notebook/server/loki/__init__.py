"""Grafana Loki's API on the local backend: push, LogQL and the query API over the backend's own store.

One file per job: `push` (bodies → streams) with `push_proto` (the push protobuf), `storage` (streams and
entries in DuckDB), `otlp` (OTLP logs as Loki 3 maps them), `logql.lark` + `parser` + `syntax` (the
language), `pipeline` + `templates` (stages run per entry), `select` (log queries; SQL for the selector and
line filters), `metrics` (range and vector aggregations, arithmetic), `params`, `answers` (Loki's JSON
shapes), `service` (what each endpoint computes), `routes` (HTTP) and `tail` (WebSocket).
"""

from logfire_notebook.server.loki.parser import warm_up as warm_up_logql
from logfire_notebook.server.loki.routes import loki_routes
from logfire_notebook.server.loki.storage import LokiStore

__all__ = ["LokiStore", "loki_routes", "warm_up_logql"]
