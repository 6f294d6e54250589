"""What LokiClient sends and how it reads what comes back, for answers the local backend cannot give
(an auth proxy, the older API only, Parquet, rate limits): httpx.MockTransport stands in for the server."""

from __future__ import annotations

import io
import traceback
from collections.abc import Callable
from pathlib import Path

import httpx
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from logfire_notebook import LokiClient
from logfire_notebook._exceptions import (
    AuthenticationError,
    ConfigError,
    HTTPStatusError,
    QueryError,
    RateLimitError,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "loki-api"
STREAMS = (FIXTURES / "query_range_streams_categorize_labels.json").read_bytes()
Handler = Callable[[httpx.Request], httpx.Response]


def client(handler: Handler, **kwargs: object) -> LokiClient:
    return LokiClient("http://loki.test:3100", transport=httpx.MockTransport(handler), **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _no_loki_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "LOKI_ADDR",
        "LOKI_ORG_ID",
        "LOKI_USERNAME",
        "LOKI_PASSWORD",
        "LOKI_BEARER_TOKEN",
        "LOKI_BEARER_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_query_range_sends_logcli_parameters_and_asks_for_categorized_labels() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=STREAMS, headers={"content-type": "application/json"})

    with client(handler) as loki:
        df = loki.query_range(
            '{test="test"}', since="2019-09-13T00:00:00Z", until="2019-09-14T00:00:00Z", limit=7
        )
    assert df.height == 3
    params = seen[0].url.params
    assert seen[0].url.path == "/loki/api/v1/query_range"
    assert params["start"] == "1568332800000000000" and params["end"] == "1568419200000000000"
    assert (params["limit"], params["direction"]) == ("7", "backward")
    assert seen[0].headers["x-loki-response-encoding-flags"] == "categorize-labels"
    assert "parquet" not in seen[0].headers.get("accept", "")  # Parquet only when asked: parquet=True


def test_environment_configures_like_logcli_and_credentials_stay_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LOKI_ADDR", "http://loki.test:3100/")
    monkeypatch.setenv("LOKI_ORG_ID", "tenant-1")
    monkeypatch.setenv("LOKI_USERNAME", "alice")
    monkeypatch.setenv("LOKI_PASSWORD", "s3cret-pw")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(401, text="invalid credentials s3cret-pw")  # a proxy echoing it must not leak

    loki = LokiClient(transport=httpx.MockTransport(handler))
    with pytest.raises(AuthenticationError) as info:
        loki.labels()
    assert seen[0].headers["x-scope-orgid"] == "tenant-1"
    assert seen[0].headers["authorization"] == "Basic YWxpY2U6czNjcmV0LXB3"
    assert "LOKI_USERNAME" in str(info.value)
    shown = [repr(loki), repr(loki._config), repr(loki.client.headers), repr(seen[0].headers)]
    shown.append(
        "".join(traceback.TracebackException.from_exception(info.value, capture_locals=True).format())
    )
    assert not any("s3cret-pw" in text or "YWxpY2U6czNjcmV0LXB3" in text for text in shown)

    token_file = tmp_path / "token"
    token_file.write_text("tok-123\n")
    monkeypatch.delenv("LOKI_USERNAME")
    monkeypatch.delenv("LOKI_PASSWORD")
    monkeypatch.setenv("LOKI_BEARER_TOKEN_FILE", str(token_file))
    seen.clear()
    with pytest.raises(AuthenticationError):
        LokiClient(transport=httpx.MockTransport(handler)).labels()
    assert seen[0].headers["authorization"] == "Bearer tok-123"


def test_conflicting_or_broken_configuration_is_one_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="keep one of"):
        LokiClient("http://x", username="a", bearer_token="b")
    with pytest.raises(ConfigError, match="no http:// or https://"):
        LokiClient("loki:3100")
    monkeypatch.setenv("LOKI_BEARER_TOKEN_FILE", "/nonexistent/token")
    with pytest.raises(ConfigError, match="cannot be read"):
        LokiClient("http://x")


def test_parse_error_keeps_lokis_message_line_and_column() -> None:
    message = "parse error at line 1, col 11: syntax error: unexpected IDENTIFIER"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, text=message, headers={"content-type": "text/plain; charset=utf-8"})

    with client(handler) as loki, pytest.raises(QueryError) as info:
        loki.query_range("{job=api}")
    assert info.value.position == (1, 11)
    assert str(info.value) == f"Loki rejected the query: {message}"


def test_rate_limit_is_retried_then_reported() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) < 2:
            return httpx.Response(429, text="too many outstanding requests", headers={"retry-after": "0"})
        return httpx.Response(200, json={"status": "success", "data": ["job"]})

    with client(handler) as loki:
        assert loki.labels() == ["job"]
    with (
        client(
            lambda r: httpx.Response(429, text="slow down", headers={"retry-after": "0"}), max_retries=1
        ) as loki,
        pytest.raises(RateLimitError, match="rate limiting"),
    ):
        loki.labels()


def test_parquet_is_used_when_offered_and_json_after_a_refusal() -> None:
    table = pa.table(
        {
            "timestamp": pa.array([2, 1], pa.int64()),
            "line": ["b", "a"],
            "labels": pa.array([[("job", "x")], [("job", "y")]], pa.map_(pa.string(), pa.string())),
        }
    )
    sink = io.BytesIO()
    pq.write_table(table, sink)
    answers = [
        httpx.Response(
            200, content=sink.getvalue(), headers={"content-type": "application/vnd.apache.parquet"}
        )
    ]
    with client(lambda r: answers[0], parquet=True) as loki:
        df = loki.query_range('{job=~".+"}', direction="forward")
    assert df["line"].to_list() == ["a", "b"] and df["labels"].to_list() == [{"job": "y"}, {"job": "x"}]

    accepts: list[str] = []

    def refusing(request: httpx.Request) -> httpx.Response:
        accepts.append(request.headers.get("accept", ""))
        if "parquet" in request.headers.get("accept", ""):
            return httpx.Response(406, text="not acceptable")
        return httpx.Response(200, content=STREAMS)

    with client(refusing, parquet=True) as loki:
        assert loki.query_range('{test="test"}').height == 3
        assert loki.query_range('{test="test"}').height == 3
    assert ["parquet" in a for a in accepts] == [True, False, False]


def test_loki_with_parquet_turned_off_is_asked_in_categorized_json() -> None:
    seen: list[httpx.Request] = []

    def parquet_off(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("accept") == "application/vnd.apache.parquet":
            # What Loki's query frontend says without -frontend.support-parquet-encoding.
            return httpx.Response(400, text="support for Parquet encoded responses is disabled")
        return httpx.Response(200, content=STREAMS)

    with client(parquet_off, parquet=True) as loki:
        df = loki.query_range('{test="test"}')
        loki.query_range('{test="test"}')
    assert df.height == 3 and df["structured_metadata"].to_list()[1] == {"foo": "a", "bar": "b"}
    asked = [(r.headers.get("accept", ""), r.headers.get("x-loki-response-encoding-flags")) for r in seen]
    assert asked == [
        ("application/vnd.apache.parquet", None),
        ("*/*", "categorize-labels"),
        ("*/*", "categorize-labels"),
    ]


def test_a_query_error_asked_as_parquet_is_still_the_query_error() -> None:
    with (
        client(
            lambda r: httpx.Response(400, text="parse error at line 1, col 2: syntax error"), parquet=True
        ) as loki,
        pytest.raises(QueryError, match="parse error"),
    ):
        loki.query_range('{test="test"')


def test_metric_queries_do_not_offer_parquet() -> None:
    seen: list[httpx.Request] = []
    matrix = (FIXTURES / "query_range_matrix.json").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=matrix)

    with client(handler, parquet=True) as loki:
        df = loki.query_range('rate({job="varlogs"}[1m])', step="30s")
    assert df.columns == ["timestamp", "value", "labels"]
    assert "parquet" not in seen[0].headers.get("accept", "") and seen[0].url.params["step"] == "30s"


def test_a_server_with_only_the_older_api_is_detected_once() -> None:
    paths: list[str] = []
    legacy_streams = (FIXTURES / "legacy_query_streams.json").read_bytes()
    legacy_labels = (FIXTURES / "legacy_label.json").read_bytes()

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/api/prom/query":
            return httpx.Response(200, content=legacy_streams)
        if request.url.path == "/api/prom/label":
            return httpx.Response(200, content=legacy_labels)
        return httpx.Response(404, text="404 page not found")

    with client(handler) as loki:
        assert loki.query_range('{test="test"}')["line"].to_list() == ["super line with labels", "super line"]
        assert loki.legacy_api
        assert loki.labels() == ["label1", "test", "value"]
        loki.query_range('{test="test"}')
    assert paths == ["/loki/api/v1/query_range", "/api/prom/query", "/api/prom/label", "/api/prom/query"]


def test_a_wrong_address_says_so() -> None:
    with (
        client(lambda r: httpx.Response(404, text="not found")) as loki,
        pytest.raises(HTTPStatusError) as info,
    ):
        loki.query_range('rate({a="b"}[1m])')
    assert "check that LOKI_ADDR" in str(info.value)


def test_labels_values_series_and_the_empty_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/loki/api/v1/labels":
            return httpx.Response(200, json={"status": "success"})
        if request.url.raw_path.split(b"?")[0] == b"/loki/api/v1/label/service%20name/values":
            return httpx.Response(200, content=(FIXTURES / "labels.json").read_bytes())
        if request.url.path == "/loki/api/v1/series":
            assert request.url.params.get_list("match[]") == ['{a="b"}']
            return httpx.Response(200, content=(FIXTURES / "series.json").read_bytes())
        return httpx.Response(404)

    with client(handler) as loki:
        assert loki.labels() == []
        assert loki.label_values("service name") == ["label1", "test", "value"]
        series = loki.series('{a="b"}')
    assert series and all(isinstance(s, dict) for s in series)


def test_instant_query_gives_a_vector() -> None:
    vector = (FIXTURES / "query_vector.json").read_bytes()
    with client(lambda r: httpx.Response(200, content=vector)) as loki:
        df = loki.query('sum by (job) (rate({job="varlogs"}[1m]))', time="2019-09-13T19:52:11Z")
    assert isinstance(df, pl.DataFrame) and df["value"].to_list() == [0.013333333333333334, 3.45]
