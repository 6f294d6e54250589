"""logfire-notebook: Pydantic Logfire's SQL and Grafana Loki's LogQL in Jupyter and marimo.

`%load_ext logfire_notebook` registers the `%%logfire` and `%%logql` magics. The public names below are imported lazily so
that importing the package (and loading the extension) stays fast: polars, pyarrow and httpx load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "AsyncLogfireClient": "logfire_notebook._client",
    "LogfireClient": "logfire_notebook._client",
    "TimeRange": "logfire_notebook._timerange",
    "LogfireTable": "logfire_notebook.widget",
    "QueryTable": "logfire_notebook.widget",
    "LokiClient": "logfire_notebook._loki.client",
    "AsyncLokiClient": "logfire_notebook._loki.client",
    "LokiTable": "logfire_notebook.loki_widget",
    "LogfireTrace": "logfire_notebook.trace_widget",
    "connect": "logfire_notebook.db_api",
    "LogfireError": "logfire_notebook._exceptions",
    "QueryError": "logfire_notebook._exceptions",
    "InvalidRequestError": "logfire_notebook._exceptions",
    "AuthenticationError": "logfire_notebook._exceptions",
    "RateLimitError": "logfire_notebook._exceptions",
    "ServerError": "logfire_notebook._exceptions",
    "ConnectError": "logfire_notebook._exceptions",
    "TimeoutError": "logfire_notebook._exceptions",
    "ResponseError": "logfire_notebook._exceptions",
    "ConfigError": "logfire_notebook._exceptions",
    "TimeRangeError": "logfire_notebook._exceptions",
    "TraceIdError": "logfire_notebook._exceptions",
    "HTTPStatusError": "logfire_notebook._exceptions",
    "TransportError": "logfire_notebook._exceptions",
    "QueryInfo": "logfire_notebook._client",
}

__all__ = sorted([*_EXPORTS, "__version__", "load_ipython_extension", "unload_ipython_extension"])

if TYPE_CHECKING:  # the lazy names, for type checkers and editors
    from logfire_notebook._client import AsyncLogfireClient as AsyncLogfireClient
    from logfire_notebook._client import LogfireClient as LogfireClient
    from logfire_notebook._loki.client import AsyncLokiClient as AsyncLokiClient
    from logfire_notebook._loki.client import LokiClient as LokiClient
    from logfire_notebook._timerange import TimeRange as TimeRange
    from logfire_notebook.db_api import connect as connect
    from logfire_notebook.loki_widget import LokiTable as LokiTable
    from logfire_notebook.trace_widget import LogfireTrace as LogfireTrace
    from logfire_notebook.widget import LogfireTable as LogfireTable
    from logfire_notebook.widget import QueryTable as QueryTable


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'logfire_notebook' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext logfire_notebook`: registers `%%logfire`, `%%logql` and their `%config` settings."""
    from logfire_notebook.magic import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from logfire_notebook.magic import unload_ipython_extension as unload

    unload(ipython)
