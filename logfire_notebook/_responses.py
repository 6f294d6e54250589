"""Logfire's HTTP answers turned into results or typed errors: the one place that reads a response.

`_client` does the I/O (sync and async alike); this module decides what an answer means: a status that is an
error becomes one sentence of `_exceptions`, an Arrow body becomes a Table, a JSON body becomes the SDK's
row-oriented shape, and how long to wait before a retry.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

import httpx

from logfire_notebook._exceptions import (
    AuthenticationError,
    ConnectError,
    HTTPStatusError,
    InvalidRequestError,
    LogfireError,
    QueryError,
    RateLimitError,
    ResponseError,
    ServerError,
    TimeoutError,
    _scrub,
)

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ARROW",
    "JSON",
    "PROBLEM_JSON",
    "json_body",
    "problem",
    "read_arrow",
    "retry_after",
    "rows_result",
    "status_error",
    "transport_error",
]

ARROW = "application/vnd.apache.arrow.stream"
JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait: the `Retry-After` header (delay-seconds or HTTP date), else a problem+json
    `retry_after` member, else None."""
    value = response.headers.get("retry-after", "").strip()
    if value:
        try:
            seconds = float(value)
        except ValueError:
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError, IndexError, OverflowError):
                when = None
            if when is not None:
                when = when if when.tzinfo else when.replace(tzinfo=timezone.utc)
                return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())
        else:
            if math.isfinite(seconds):
                return max(0.0, seconds)
    member = problem(response).get("retry_after")
    if (
        isinstance(member, (int, float))
        and not isinstance(member, bool)
        and math.isfinite(member)
        and member >= 0
    ):
        return float(member)
    return None


def problem(response: httpx.Response) -> dict[str, Any]:
    """The RFC 9457 problem detail body Logfire sends when asked (`application/problem+json`), or {}."""
    if response.headers.get("content-type", "").split(";", 1)[0].strip().lower() != PROBLEM_JSON:
        return {}
    try:
        data = json.loads(response.content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _body_text(response: httpx.Response) -> str:
    try:
        return response.text
    except (UnicodeDecodeError, httpx.ResponseNotRead):
        return ""


def _detail(response: httpx.Response) -> str:
    """The server's own words: `detail` of a JSON body (or a problem+json `error_details`), else short text."""
    text = _body_text(response).strip()
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media in (JSON, PROBLEM_JSON) or text.startswith(("{", "[")):
        try:
            data: Any = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            for key in ("error_details", "detail", "message", "title"):
                if data.get(key):
                    data = data[key]
                    break
        if isinstance(data, dict) and "detail" in data:
            data = data["detail"]
        if isinstance(data, list):
            return "; ".join(_validation_item(item) for item in data)
        if data is not None:
            return str(data)
    if _looks_like_html(text, media):
        return ""
    return text[:500]


def _validation_item(item: Any) -> str:
    # FastAPI-style 422 items: {"loc": ["body", "limit"], "msg": "...", "type": "..."}
    if isinstance(item, dict) and "msg" in item:
        loc = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        return f"{loc}: {item['msg']}" if loc else str(item["msg"])
    return str(item)


def _looks_like_html(text: str, media: str) -> bool:
    return media == "text/html" or text[:200].lstrip().lower().startswith(("<!doctype html", "<html"))


def _position(detail: str) -> tuple[int, int] | None:
    """`(line, column)` from an engine message: DataFusion's "at Line: 1, Column: 8", DuckDB's "LINE 1:"."""
    import re

    match = re.search(r"Line:\s*(\d+),\s*Column:\s*(\d+)", detail)
    if match:
        return int(match.group(1)), int(match.group(2))
    match = re.search(r"LINE (\d+):\s?(.*)\n(\s*)\^", detail)
    if match:
        prefix = len(f"LINE {match.group(1)}: ")
        return int(match.group(1)), max(1, len(match.group(3)) - prefix + 1)
    match = re.search(r"\bline (\d+),? column (\d+)", detail, re.IGNORECASE)
    if match:
        return int(match.group(1)), int(match.group(2))
    return None


def _one_line(text: str, limit: int = 400) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


_CLOUD_TOKEN_HINT = (
    "check that LOGFIRE_READ_TOKEN holds a current read token of this project and region "
    "(create one with `logfire read-tokens create`)."
)
_LOCAL_TOKEN_HINT = (
    "set LOGFIRE_READ_TOKEN to a token of this local backend: make one with "
    "`logfire-notebook token create --data-dir DIR` (DIR: the data dir it serves), or for the demo use the "
    "token in its data dir's demo_token file (`.demo-data/demo_token` in a checkout)."
)
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _is_local_backend(request: httpx.Request) -> bool:
    """A loopback host or a local token (`pylf_v1_local_...`): `logfire-notebook serve`, not Logfire's cloud."""
    auth = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    return request.url.host in _LOOPBACK_HOSTS or auth.startswith("pylf_v1_local_")


def status_error(response: httpx.Response, attempts: int) -> HTTPStatusError:
    """The typed error for a non-2xx answer, with one sentence saying what to do."""
    status = response.status_code
    host = response.request.url.host
    detail = _detail(response)
    tried = f" after {attempts} attempts" if attempts > 1 else ""
    if status == 400:
        position = _position(detail)
        where = f" (line {position[0]}, column {position[1]})" if position else ""
        return QueryError(
            f"The query failed{where}: {_one_line(detail) or 'the server gave no reason'}",
            detail=detail,
            position=position,
        )
    if status == 422:
        return InvalidRequestError(
            f"The server rejected the request as malformed (422: {_one_line(detail) or 'no detail'}): "
            "check the arguments, e.g. limit is at most 10,000 and timestamps must be valid.",
            status_code=status,
            detail=detail,
        )
    if status in (401, 403):
        return AuthenticationError(
            f"{host} rejected the read token ({status} {_one_line(detail, 100) or response.reason_phrase}): "
            + (_LOCAL_TOKEN_HINT if _is_local_backend(response.request) else _CLOUD_TOKEN_HINT),
            status_code=status,
            detail=detail,
        )
    if status == 429:
        seconds = retry_after(response)
        wait = f"wait {seconds:g} s and " if seconds else "wait a minute and "
        return RateLimitError(
            f"{host} is rate limiting queries{tried} ({_one_line(detail, 100) or 'Too Many Requests'}): {wait}run it again.",
            detail=detail,
            retry_after=seconds,
        )
    if status >= 500:
        said = f": {_one_line(detail, 200)}" if detail else ""
        return ServerError(
            f"The server at {host} failed with {status}{tried}{said}; try again later.",
            status_code=status,
            detail=detail,
        )
    return HTTPStatusError(
        f"Unexpected answer {status} {response.reason_phrase} from {response.request.url}: "
        "check that base_url points at a Logfire API.",
        status_code=status,
        detail=detail,
    )


def transport_error(exc: httpx.TransportError, base_url: str, timeout: float | None) -> LogfireError:
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connecting to",
            httpx.PoolTimeout: "waiting for a free connection to",
            httpx.WriteTimeout: "sending the query to",
        }.get(type(exc), "waiting for an answer from")
        return TimeoutError(
            f"Timed out after {timeout:g} s {phase} {base_url}: narrow the time range or the query, "
            "or pass a larger timeout= to the client."
            if timeout
            else f"Timed out {phase} {base_url}: narrow the time range or the query, or pass a larger timeout=."
        )
    if isinstance(exc, httpx.ConnectError):
        return ConnectError(
            f"Cannot connect to {base_url} ({_scrub(str(exc)) or type(exc).__name__}): check the URL "
            "(LOGFIRE_BASE_URL / base_url=) and that the server is running and reachable."
        )
    return ResponseError(
        f"The connection to {base_url} broke before the answer was complete ({type(exc).__name__}): "
        "run the query again."
    )


def read_arrow(response: httpx.Response) -> pa.Table:
    """The IPC stream body as a Table; anything else is a ResponseError naming what came instead."""
    import pyarrow as pa

    content = response.content
    media = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media and media != ARROW and not media.startswith("application/octet-stream"):
        host = response.request.url.host
        if _looks_like_html(content[:200].decode("latin-1"), media):
            raise ResponseError(
                f"{host} answered with an HTML page instead of Arrow data (a proxy or login page?): "
                "check that base_url points at the Logfire API."
            )
        raise ResponseError(
            f"{host} answered with {media!r} instead of Arrow data: check that base_url points at the Logfire API."
        )
    try:
        with pa.ipc.open_stream(content) as reader:
            return reader.read_all()
    except (pa.ArrowInvalid, pa.ArrowException, OSError) as exc:
        raise ResponseError(
            f"The Arrow stream from {response.request.url.host} ({len(content):,} bytes) is cut short or corrupt "
            f"({_one_line(str(exc), 120)}): run the query again."
        ) from None


def json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        media = response.headers.get("content-type", "").split(";", 1)[0]
        raise ResponseError(
            f"{response.request.url.host} answered with unreadable JSON ({media or 'no content type'}, "
            f"{len(response.content):,} bytes): check that base_url points at the Logfire API and run it again."
        ) from None


def rows_result(data: Any) -> dict[str, Any]:
    """The SDK's row-oriented shape from a /v2/query JSON body: `data_type` renamed `datatype`."""
    if not isinstance(data, dict) or "data" not in data:
        raise ResponseError(
            "The JSON answer has no 'data' rows: check that base_url points at the Logfire API."
        )
    fields = (data.get("schema") or {}).get("fields") or []
    return {"columns": [_column(field) for field in fields], "rows": data["data"]}


_DROP_KEYS = {"dict_id", "dict_is_ordered", "metadata"}


def _column(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            ("datatype" if k == "data_type" else k): _column(v)
            for k, v in value.items()
            if k not in _DROP_KEYS
        }
    if isinstance(value, list):
        return [_column(v) for v in value]
    return value
