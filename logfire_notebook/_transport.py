"""One request with retries, for every client (Logfire, Loki), sync and async.

429 and 5xx answers, and connections dropped before an answer, are retried with exponential backoff that
honours `Retry-After`, at most `max_retries` times and `max_retry_seconds` of waiting in total. Every failure
becomes a `LogfireError` without credentials in it: the caller's `status_error` reads an error answer,
`transport_error` a request that got none.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from logfire_notebook._exceptions import HTTPStatusError
from logfire_notebook._responses import problem, retry_after, transport_error

__all__ = ["RetryPolicy", "asend", "send"]

logger = logging.getLogger("logfire_notebook")

StatusError = Callable[[httpx.Response, int], HTTPStatusError]


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 3
    max_retry_seconds: float = 30.0

    def delay(self, attempt: int, response: httpx.Response | None, waited: float) -> float | None:
        """Seconds to wait before retry number `attempt` (1-based), or None to give up."""
        if attempt > self.max_retries:
            return None
        hinted = retry_after(response) if response is not None else None
        delay = (
            hinted if hinted is not None else min(8.0, 0.25 * 2 ** (attempt - 1)) * (0.5 + random.random())
        )
        if waited + delay > self.max_retry_seconds:
            return None
        return delay

    @staticmethod
    def retryable(response: httpx.Response) -> bool:
        if problem(response).get("retryable") is False:  # the server says the same request will fail again
            return False
        return response.status_code == 429 or response.status_code >= 500


def _timeout(client: httpx.Client | httpx.AsyncClient) -> float | None:
    return client.timeout.read


async def _async_sleep(delay: float) -> None:
    await asyncio.sleep(delay)


def _delay_after_error(
    exc: httpx.TransportError,
    policy: RetryPolicy,
    attempt: int,
    waited: float,
    base_url: str,
    client: httpx.Client | httpx.AsyncClient,
) -> float:
    """How long to wait before retrying after `exc`; raises our error when it is not worth a retry."""
    delay = None
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        # Dropped before an answer (often a stale keep-alive connection): safe to retry a read-only query.
        delay = policy.delay(attempt, None, waited)
    if delay is None:
        raise transport_error(exc, base_url, _timeout(client)) from None
    return delay


def _delay_after_answer(
    response: httpx.Response, policy: RetryPolicy, status_error: StatusError, attempt: int, waited: float
) -> float:
    """How long to wait before retrying a failed answer; raises its error when it is not retryable."""
    delay = policy.delay(attempt, response, waited) if policy.retryable(response) else None
    if delay is None:
        raise status_error(response, attempt) from None
    return delay


def send(
    client: httpx.Client,
    policy: RetryPolicy,
    status_error: StatusError,
    method: str,
    path: str,
    *,
    base_url: str,
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> httpx.Response:
    """One request with retries; Ctrl-C closes the connection under it (httpx does), so the server stops."""
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            response = client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            delay = _delay_after_error(exc, policy, attempt, waited, base_url, client)
        else:
            if response.is_success:
                return response
            delay = _delay_after_answer(response, policy, status_error, attempt, waited)
        logger.info("retrying %s %s in %.2f s (attempt %d)", method, path, delay, attempt + 1)
        sleep(delay)
        waited += delay


async def asend(
    client: httpx.AsyncClient,
    policy: RetryPolicy,
    status_error: StatusError,
    method: str,
    path: str,
    *,
    base_url: str,
    sleep: Callable[[float], Awaitable[None]] = _async_sleep,
    **kwargs: Any,
) -> httpx.Response:
    """The async `send`: cancelling the awaiting task closes the request's connection."""
    waited = 0.0
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await client.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            delay = _delay_after_error(exc, policy, attempt, waited, base_url, client)
        else:
            if response.is_success:
                return response
            delay = _delay_after_answer(response, policy, status_error, attempt, waited)
        logger.info("retrying %s %s in %.2f s (attempt %d)", method, path, delay, attempt + 1)
        await sleep(delay)
        waited += delay
