"""Loki's error answers as the package's error types (see `_exceptions`), with Loki's own message.

Loki answers errors as `text/plain`, the message as the body: 400 for a bad query or parameter (a parse error
says `parse error at line 1, col 11: ...`, kept as `QueryError.position`), 401/403 from an auth proxy, 404
when the path is not Loki's, 429 and 5xx as any server (those are retried first, see `_transport`). One kind
of 500 is the query's fault, not the server's: Loki's engine refuses a vector match that is not one-to-one
(or many-to-one with group_left/group_right) while it evaluates, and its HTTP layer answers that with 500.
Those are `QueryError`s, never retried (`LokiRetryPolicy`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import httpx

from logfire_notebook._exceptions import AuthenticationError, HTTPStatusError, QueryError
from logfire_notebook._responses import _body_text, _one_line, status_error
from logfire_notebook._transport import RetryPolicy

__all__ = ["LokiRetryPolicy", "loki_status_error", "scrubber"]

_POSITION = re.compile(r"line (\d+), col(?:umn)? (\d+)", re.IGNORECASE)
_AUTH_HINT = (
    "check LOKI_USERNAME / LOKI_PASSWORD or LOKI_BEARER_TOKEN (or the username=, password=, bearer_token= "
    "arguments), and LOKI_ORG_ID for a multi-tenant Loki."
)


# How Loki's (Prometheus') vector matching refuses a query; the same query fails the same way every time.
_MATCHING_ERRORS = ("multiple matches for labels", "many-to-many matching not allowed")


def _refused_match(response: httpx.Response) -> bool:
    return response.status_code == 500 and any(e in _body_text(response) for e in _MATCHING_ERRORS)


class LokiRetryPolicy(RetryPolicy):
    """The transport's retries, except for Loki's 500s that the query itself causes (vector matching)."""

    @staticmethod
    def retryable(response: httpx.Response) -> bool:
        return not _refused_match(response) and RetryPolicy.retryable(response)


def scrubber(secrets: Iterable[str]) -> Callable[[str], str]:
    """Removes the client's own credentials from text a server sends back (a proxy may echo them)."""
    hidden = sorted({s for s in secrets if s}, key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in hidden:
            text = text.replace(secret, "…")
        return text

    return scrub


def loki_status_error(
    response: httpx.Response, attempts: int, scrub: Callable[[str], str] = str
) -> HTTPStatusError:
    """The typed error for a non-2xx Loki answer, one sentence that says what to do."""
    status = response.status_code
    detail = scrub(_body_text(response).strip()[:2000])
    host = response.request.url.host
    if status == 400 or _refused_match(response):
        match = _POSITION.search(detail)
        position = (int(match.group(1)), int(match.group(2))) if match else None
        return QueryError(
            f"Loki rejected the query: {_one_line(detail) or 'it gave no reason'}",
            detail=detail,
            position=position,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"{host} rejected the credentials ({status} {_one_line(detail, 100) or response.reason_phrase}): "
            + _AUTH_HINT,
            status_code=status,
            detail=detail,
        )
    if status in (404, 405):
        return HTTPStatusError(
            f"{response.request.url.path} is not found at {host} ({status}): check that LOKI_ADDR (or addr=) is "
            "the Loki address, e.g. http://localhost:3100, without a path.",
            status_code=status,
            detail=detail,
        )
    error = status_error(response, attempts)
    error.args = (scrub(str(error)),)
    error.detail = scrub(error.detail) if error.detail is not None else None
    return error
