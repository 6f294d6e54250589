"""Every failure is one sentence saying what to do, and none of them carries the read token.

Status answers, dropped connections and garbage bodies come from httpx.MockTransport; connection refused and
timeouts use real loopback sockets.
"""

from __future__ import annotations

import builtins
import json
import logging
import socket
import threading
import traceback
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import httpx
import pyarrow as pa
import pytest

from logfire_notebook import (
    AsyncLogfireClient,
    AuthenticationError,
    ConnectError,
    InvalidRequestError,
    LogfireClient,
    LogfireError,
    QueryError,
    RateLimitError,
    ResponseError,
    ServerError,
    TimeoutError,
)
from logfire_notebook import _client as client_module
from logfire_notebook._exceptions import HTTPStatusError

SECRET = "Zq9SECRETzq9SECRETzq9SECRET"
TOKEN = f"pylf_v1_us_{SECRET}"
ARROW = "application/vnd.apache.arrow.stream"


def _arrow_bytes() -> bytes:
    sink = pa.BufferOutputStream()
    table = pa.table({"n": pa.array([1, 2, 3], pa.int64())})
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue())


def _client(handler: Callable[[httpx.Request], httpx.Response], **kwargs: object) -> LogfireClient:
    return LogfireClient(
        TOKEN, "https://logfire-us.pydantic.dev", transport=httpx.MockTransport(handler), **kwargs
    )  # type: ignore[arg-type]


def _answers(
    *responses: httpx.Response | Exception,
) -> tuple[Callable[[httpx.Request], httpx.Response], list[httpx.Request]]:
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits between retries, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(client_module, "_sleep", waited.append)
    return waited


def _assert_no_token(exc: BaseException) -> None:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    text += repr(exc) + str(exc) + repr(getattr(exc, "__dict__", {}))
    for chained in (exc.__cause__, exc.__context__):
        if chained is not None:
            text += repr(chained) + str(chained)
    assert SECRET not in text


def test_failing_query_shows_the_server_message_and_position() -> None:
    detail = "sql parser error: Expected: an expression, found: FROM at Line: 1, Column: 8"
    handler, _ = _answers(httpx.Response(400, json={"detail": detail}))
    with _client(handler) as client, pytest.raises(QueryError) as info:
        client.query_arrow("SELECT FROM records")
    assert str(info.value) == f"The query failed (line 1, column 8): {detail}"
    assert info.value.detail == detail
    assert info.value.position == (1, 8)
    assert info.value.status_code == 400
    _assert_no_token(info.value)


def test_duckdb_style_caret_gives_a_position() -> None:
    detail = (
        'Parser Error: syntax error at or near "FORM"\n\nLINE 1: SELECT * FORM records\n                 ^'
    )
    handler, _ = _answers(httpx.Response(400, json={"detail": detail}))
    with _client(handler) as client, pytest.raises(QueryError) as info:
        client.query_arrow("SELECT * FORM records")
    assert info.value.position == (1, 10)
    assert "\n" not in str(info.value)


def test_problem_json_error_details_are_used() -> None:
    body = {"type": "about:blank", "title": "Bad Request", "error_details": {"detail": "column x not found"}}
    handler, _ = _answers(
        httpx.Response(400, json=body, headers={"content-type": "application/problem+json"})
    )
    with _client(handler) as client, pytest.raises(QueryError, match="column x not found"):
        client.query_arrow("SELECT x FROM records")


def test_malformed_request_lists_what_was_wrong() -> None:
    body = {
        "detail": [
            {"loc": ["body", "limit"], "msg": "Input should be less than or equal to 10000", "type": "x"}
        ]
    }
    handler, _ = _answers(httpx.Response(422, json=body))
    with _client(handler) as client, pytest.raises(InvalidRequestError) as info:
        client.query_arrow("SELECT 1", limit=20_000)
    assert "limit: Input should be less than or equal to 10000" in str(info.value)
    _assert_no_token(info.value)


@pytest.mark.parametrize("status", [401, 403])
def test_rejected_token_names_the_host_but_not_the_token(status: int) -> None:
    handler, _ = _answers(httpx.Response(status, json={"detail": "Invalid token"}))
    with _client(handler) as client, pytest.raises(AuthenticationError) as info:
        client.query_arrow("SELECT 1")
    message = str(info.value)
    assert message.startswith(f"logfire-us.pydantic.dev rejected the read token ({status} Invalid token)")
    assert "LOGFIRE_READ_TOKEN" in message
    _assert_no_token(info.value)


def test_server_echoing_the_token_is_scrubbed() -> None:
    handler, _ = _answers(httpx.Response(401, json={"detail": f"Invalid token {TOKEN}"}))
    with _client(handler) as client, pytest.raises(AuthenticationError) as info:
        client.info()
    assert "pylf_v1_us_…" in str(info.value)
    _assert_no_token(info.value)


def test_rate_limit_is_retried_honouring_retry_after(sleeps: list[float]) -> None:
    handler, seen = _answers(
        httpx.Response(429, text="Rate limit exceeded (minute)", headers={"retry-after": "2"}),
        httpx.Response(429, text="Rate limit exceeded (minute)", headers={"retry-after": "1"}),
        httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}),
    )
    with _client(handler) as client:
        table = client.query_arrow("SELECT n")
    assert table.column("n").to_pylist() == [1, 2, 3]
    assert len(seen) == 3
    assert sleeps == [2.0, 1.0]


def test_rate_limit_gives_up_after_the_retries(sleeps: list[float]) -> None:
    handler, seen = _answers(
        httpx.Response(429, text="Rate limit exceeded (minute)", headers={"retry-after": "3"})
    )
    with _client(handler, max_retries=2) as client, pytest.raises(RateLimitError) as info:
        client.query_arrow("SELECT 1")
    assert len(seen) == 3
    assert info.value.retry_after == 3.0
    assert str(info.value) == (
        "logfire-us.pydantic.dev is rate limiting queries after 3 attempts (Rate limit exceeded (minute)): "
        "wait 3 s and run it again."
    )
    _assert_no_token(info.value)


def test_retries_stop_when_the_total_wait_would_be_too_long(sleeps: list[float]) -> None:
    handler, seen = _answers(httpx.Response(429, text="slow down", headers={"retry-after": "40"}))
    with _client(handler, max_retry_seconds=30) as client, pytest.raises(RateLimitError):
        client.query_arrow("SELECT 1")
    assert len(seen) == 1 and sleeps == []


def test_server_errors_are_retried_with_growing_backoff(sleeps: list[float]) -> None:
    handler, seen = _answers(
        httpx.Response(503, text="upstream unavailable"),
        httpx.Response(
            502, text="<html><body>Bad gateway</body></html>", headers={"content-type": "text/html"}
        ),
        httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}),
    )
    with _client(handler) as client:
        assert client.query_arrow("SELECT n").num_rows == 3
    assert len(seen) == 3
    assert len(sleeps) == 2 and 0 < sleeps[0] < sleeps[1] + 0.5


def test_server_error_after_the_retries_says_to_try_later(sleeps: list[float]) -> None:
    handler, seen = _answers(httpx.Response(500, json={"detail": "internal error"}))
    with _client(handler, max_retries=1) as client, pytest.raises(ServerError) as info:
        client.query_arrow("SELECT 1")
    assert len(seen) == 2
    assert (
        str(info.value)
        == "The server at logfire-us.pydantic.dev failed with 500 after 2 attempts: internal error; try again later."
    )
    _assert_no_token(info.value)


def test_dropped_connection_is_retried_then_reported(sleeps: list[float]) -> None:
    dropped = httpx.RemoteProtocolError("Server disconnected without sending a response.")
    handler, seen = _answers(
        dropped, httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW})
    )
    with _client(handler) as client:
        assert client.query_arrow("SELECT n").num_rows == 3
    handler, seen = _answers(dropped)
    with _client(handler, max_retries=2) as client, pytest.raises(ResponseError) as info:
        client.query_arrow("SELECT n")
    assert len(seen) == 3
    assert "broke before the answer was complete" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__
    _assert_no_token(info.value)


def test_truncated_arrow_stream_is_a_response_error() -> None:
    body = _arrow_bytes()
    handler, _ = _answers(
        httpx.Response(200, content=body[: len(body) // 2], headers={"content-type": ARROW})
    )
    with _client(handler) as client, pytest.raises(ResponseError) as info:
        client.query_arrow("SELECT n")
    assert "cut short or corrupt" in str(info.value) and "run the query again" in str(info.value)
    _assert_no_token(info.value)


def test_garbage_body_is_a_response_error() -> None:
    handler, _ = _answers(httpx.Response(200, content=b"\x00garbage" * 50, headers={"content-type": ARROW}))
    with _client(handler) as client, pytest.raises(ResponseError):
        client.query_arrow("SELECT n")
    handler, _ = _answers(
        httpx.Response(200, content=b"{not json", headers={"content-type": "application/json"})
    )
    with _client(handler) as client, pytest.raises(ResponseError, match="unreadable JSON"):
        client.query_json_rows("SELECT n")


def test_html_page_from_a_proxy_is_named_as_such() -> None:
    page = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body>Login</body></html>"
    handler, _ = _answers(
        httpx.Response(200, content=page, headers={"content-type": "text/html; charset=utf-8"})
    )
    with _client(handler) as client, pytest.raises(ResponseError) as info:
        client.query_arrow("SELECT n")
    assert "HTML page instead of Arrow data" in str(info.value)


def test_unexpected_status_names_the_url() -> None:
    handler, _ = _answers(httpx.Response(404, text="Not Found"))
    with _client(handler) as client, pytest.raises(HTTPStatusError) as info:
        client.query_arrow("SELECT n")
    assert "404" in str(info.value) and "https://logfire-us.pydantic.dev/v2/query" in str(info.value)


def test_connection_refused_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with LogfireClient(TOKEN, f"http://127.0.0.1:{port}") as client, pytest.raises(ConnectError) as info:
        client.query_arrow("SELECT 1")
    assert f"Cannot connect to http://127.0.0.1:{port}" in str(info.value)
    assert "LOGFIRE_BASE_URL" in str(info.value)
    _assert_no_token(info.value)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A loopback server that accepts connections and reads requests but never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    stop = threading.Event()
    conns: list[socket.socket] = []

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conns.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in conns:
        conn.close()
    server.close()


def test_timeout_says_what_to_do(silent_server: str) -> None:
    with LogfireClient(TOKEN, silent_server, timeout=0.2) as client, pytest.raises(TimeoutError) as info:
        client.query_arrow("SELECT 1")
    assert str(info.value).startswith(f"Timed out after 0.2 s waiting for an answer from {silent_server}")
    assert "timeout=" in str(info.value)
    assert isinstance(info.value, builtins.TimeoutError)  # `except TimeoutError:` catches it too
    _assert_no_token(info.value)


def test_no_log_line_carries_the_token(caplog: pytest.LogCaptureFixture, sleeps: list[float]) -> None:
    handler, _ = _answers(
        httpx.Response(503, text="busy"),
        httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}),
    )
    with caplog.at_level(logging.DEBUG), _client(handler) as client:
        client.query_arrow("SELECT n")
        with pytest.raises(LogfireError):
            client.query_arrow("SELECT n", since="not a time")
    assert any("retrying" in record.getMessage() for record in caplog.records)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


def test_request_reprs_and_headers_hide_the_authorization() -> None:
    handler, seen = _answers(httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}))
    with _client(handler) as client:
        client.query_arrow("SELECT n")
    assert seen[0].headers["authorization"] == TOKEN  # it is sent ...
    assert SECRET not in repr(seen[0]) + repr(seen[0].headers) + repr(client) + repr(
        client.client.headers
    )  # ... never shown


async def test_async_client_raises_the_same_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def no_sleep(delay: float) -> None:
        return None

    monkeypatch.setattr(client_module, "_async_sleep", no_sleep)
    handler, seen = _answers(
        httpx.Response(429, text="Rate limit exceeded (minute)"),
        httpx.Response(400, content=json.dumps({"detail": "no such column: x"}).encode()),
    )
    async with AsyncLogfireClient(
        TOKEN, "https://logfire-us.pydantic.dev", transport=httpx.MockTransport(handler)
    ) as client:
        with pytest.raises(QueryError, match="no such column: x") as info:
            await client.query_arrow("SELECT x")
    assert len(seen) == 2
    _assert_no_token(info.value)


def test_string_views_from_newer_engines_come_out_as_plain_strings() -> None:
    table = pa.table(
        {
            "message": pa.array(["a", None, "ccc"], pa.string_view()),
            "tags": pa.array([["x"], [], None], pa.list_(pa.string_view())),
        }
    )
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    handler, _ = _answers(
        httpx.Response(200, content=bytes(sink.getvalue()), headers={"content-type": ARROW})
    )
    with _client(handler) as client:
        arrow = client.query_arrow("SELECT message, tags")
        frame = client.query_polars("SELECT message, tags")
    assert arrow.schema.field("message").type == pa.large_string()
    assert arrow.schema.field("tags").type == pa.list_(pa.large_string())
    assert arrow.column("message").to_pylist() == ["a", None, "ccc"]
    assert all("view" not in str(field.type) for field in frame.to_arrow().schema)
    assert frame["tags"].to_list() == [["x"], [], None]


def _text_with_locals(exc: BaseException) -> str:
    """The traceback as tools that print every frame's local variables show it (IPython Verbose, --showlocals)."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def test_tracebacks_with_local_variables_do_not_show_the_token(sleeps: list[float]) -> None:
    with pytest.raises(LogfireError) as info:
        LogfireClient(f"pylf_v1_local_{SECRET}")  # a local token without a URL: a ConfigError
    assert SECRET not in _text_with_locals(info.value)
    handler, _ = _answers(httpx.Response(401, json={"detail": "Invalid token"}))
    with _client(handler) as client, pytest.raises(AuthenticationError) as info2:
        client.query_polars("SELECT 1", since="1h")
    text = _text_with_locals(info2.value)
    assert "pylf_v1_us_…" in text  # the client and its auth appear in the frames, masked
    assert SECRET not in text


def test_token_from_the_environment_is_masked_in_tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", f"pylf_v1_local_{SECRET}")
    monkeypatch.delenv("LOGFIRE_BASE_URL", raising=False)
    with pytest.raises(LogfireError) as info:
        LogfireClient()
    assert SECRET not in _text_with_locals(info.value)


def test_problem_details_give_the_wait_and_whether_to_retry(sleeps: list[float]) -> None:
    problem = {"content-type": "application/problem+json"}
    handler, seen = _answers(
        httpx.Response(
            429, json={"title": "Too Many Requests", "retry_after": 4, "retryable": True}, headers=problem
        ),
        httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}),
    )
    with _client(handler) as client:
        assert client.query_arrow("SELECT n").num_rows == 3
    assert sleeps == [4.0]
    handler, seen = _answers(
        httpx.Response(
            503,
            json={"title": "Unavailable", "detail": "project is disabled", "retryable": False},
            headers=problem,
        )
    )
    with _client(handler) as client, pytest.raises(ServerError, match="project is disabled"):
        client.query_arrow("SELECT n")
    assert len(seen) == 1


def test_without_a_start_the_default_window_ends_where_asked() -> None:
    handler, seen = _answers(httpx.Response(200, content=_arrow_bytes(), headers={"content-type": ARROW}))
    with _client(handler) as client:
        client.query_arrow("SELECT n")
        client.query_arrow("SELECT n", max_timestamp="2026-01-10T00:00:00Z")
        client.query_arrow("SELECT n", until="now-3d")
    no_window, absolute_end, relative_end = (json.loads(request.content) for request in seen)
    assert "max_timestamp" not in no_window
    assert absolute_end["min_timestamp"] == "2026-01-09T00:00:00+00:00"  # default_since="1d" before the end
    start = datetime.fromisoformat(relative_end["min_timestamp"])
    end = datetime.fromisoformat(relative_end["max_timestamp"])
    assert end - start == timedelta(days=1)
