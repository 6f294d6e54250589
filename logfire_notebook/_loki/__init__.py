"""The Loki client: Grafana Loki's HTTP API (LogQL) to Arrow and Polars, configured like logcli.

- `config`: LOKI_ADDR, LOKI_ORG_ID, LOKI_USERNAME/PASSWORD, LOKI_BEARER_TOKEN(_FILE), arguments first.
- `decode`: JSON (and Parquet) answers to Arrow tables, column by column.
- `ops`: each call's requests and answers, written once for sync and async (generators the clients drive).
- `errors`: Loki's text errors as the package's error types.
- `client`: `LokiClient`, `AsyncLokiClient`.
- `logql`: LogQL text helpers: safe string literals, `{name}` parameters, narrowing a selector, counting.
"""
