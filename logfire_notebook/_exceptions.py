"""Every error the client raises, one sentence each: what happened, and what to do.

```
LogfireError
├── ConfigError              no read token, an unreadable .logfire/read_token.json, a `local` token without a URL
├── TimeRangeError           a time the parser cannot read (also a ValueError)
├── TraceIdError             text that is not a trace id (also a ValueError)
├── TransportError           the request never got an HTTP answer
│   ├── ConnectError         cannot connect to the base URL (names the URL)
│   └── TimeoutError         no answer within the timeout (also the builtin TimeoutError)
├── ResponseError            an answer that cannot be read: a truncated Arrow stream, an HTML page from a proxy
└── HTTPStatusError          the server answered with an error status (`.status_code`)
    ├── QueryError           400: the query failed (`.detail`, `.position`)
    ├── InvalidRequestError  422: the request was malformed (`.detail`)
    ├── AuthenticationError  401/403: the token was rejected (names the host)
    ├── RateLimitError       429, after the retries ran out (`.retry_after`)
    └── ServerError          5xx, after the retries ran out
```

The read token never appears in a message: messages are built from the host, the status and the server's own
detail text, and `_scrub` removes anything shaped like a token from text the server sends back. Exceptions from
httpx are chained as `__cause__` only after the same scrubbing (see `_client.py`).

The official SDK's names are kept as aliases (`QueryExecutionError`, `QueryRequestError`,
`QueryRateLimitedError`, `UnexpectedResponseError`) so `except` clauses survive swapping the import.
"""

from __future__ import annotations

import builtins
import re

__all__ = [
    "AuthenticationError",
    "ConfigError",
    "ConnectError",
    "HTTPStatusError",
    "InvalidRequestError",
    "LogfireError",
    "QueryError",
    "QueryExecutionError",
    "QueryRateLimitedError",
    "QueryRequestError",
    "RateLimitError",
    "ResponseError",
    "ServerError",
    "TimeRangeError",
    "TimeoutError",
    "TraceIdError",
    "TransportError",
    "UnexpectedResponseError",
]

# Anything that looks like a Logfire token: the region prefix is kept, the secret part is cut.
_TOKEN_RE = re.compile(r"(pylf_v\d+_[a-z]+_)[A-Za-z0-9_\-]+")


def _scrub(text: str) -> str:
    """Replace any token-shaped text with its masked form (`pylf_v1_us_…`)."""
    return _TOKEN_RE.sub(r"\1…", text)


class LogfireError(Exception):
    """Base class of every error raised by logfire-notebook's client."""

    def __init__(self, message: str) -> None:
        super().__init__(_scrub(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class ConfigError(LogfireError):
    """No read token was found, or the configuration cannot be used."""


class TimeRangeError(LogfireError, ValueError):
    """A time or time range could not be read."""


class TraceIdError(LogfireError, ValueError):
    """A trace id that is not 32 hex digits."""


class TransportError(LogfireError):
    """The request did not get an HTTP answer."""


class ConnectError(TransportError):
    """The client could not connect to the server."""


class TimeoutError(TransportError, builtins.TimeoutError):
    """The server did not answer within the timeout."""

    def __str__(self) -> str:
        # builtins.TimeoutError is an OSError, whose __str__ would add errno formatting for 2+ args.
        return self.message


class ResponseError(LogfireError):
    """The server's answer could not be read (truncated, or not what was asked for)."""


class HTTPStatusError(LogfireError):
    """The server answered with an error status."""

    def __init__(self, message: str, *, status_code: int, detail: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = _scrub(detail) if detail is not None else None


class QueryError(HTTPStatusError):
    """The query failed on the server (HTTP 400): a SQL error, an unknown column, a type mismatch.

    `.detail` is the server's message; `.position` is `(line, column)` when the server gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 400,
        detail: str | None = None,
        position: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail)
        self.position = position


class InvalidRequestError(HTTPStatusError):
    """The request was malformed (HTTP 422), such as a limit above 10,000 or a bad timestamp."""


class AuthenticationError(HTTPStatusError):
    """The read token was rejected (HTTP 401 or 403)."""


class RateLimitError(HTTPStatusError):
    """Still rate limited (HTTP 429) after the client's retries. `.retry_after` is the server's hint, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = 429,
        detail: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status_code=status_code, detail=detail)
        self.retry_after = retry_after


class ServerError(HTTPStatusError):
    """The server failed (HTTP 5xx) on every attempt."""


# The official SDK's names, so `except QueryExecutionError:` keeps working after swapping the import.
QueryExecutionError = QueryError
QueryRequestError = InvalidRequestError
QueryRateLimitedError = RateLimitError
UnexpectedResponseError = HTTPStatusError
