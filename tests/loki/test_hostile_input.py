"""Hostile values in the Loki API's parameters, pushes and templates: each is a 4xx with one sentence (or,
in a template, Loki's `__error__` on the entry), never a 500 that drops the connection, and none makes the
server build a huge number or string first."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets.sync.client
from _backend import Backend
from _loki import NS, push_json
from _memory import MiB, PeakMemory, resident_bytes
from websockets.exceptions import ConnectionClosed

T = 1_700_000_000
RANGE = {"start": str(T - 60), "end": str(T + 60)}


def _fill(loki: httpx.Client) -> None:
    values = [[str((T + i) * NS), f"line {i}"] for i in range(5)]
    assert push_json(loki, [{"stream": {"app": "a"}, "values": values}]).status_code == 204


def _ok_after(loki: httpx.Client) -> None:
    """The same connection still answers (an unhandled error used to close it under the next request)."""
    response = loki.get("/loki/api/v1/query_range", params={"query": '{app="a"}', **RANGE})
    assert response.status_code == 200
    assert len(response.json()["data"]["result"][0]["values"]) == 5


def test_a_float_timestamp_with_a_huge_exponent_is_refused_at_once(loki: httpx.Client) -> None:
    # Scaling 1.0e999990 to nanoseconds made an integer of a million digits: 100 s of the event loop,
    # during which no request of anyone was answered.
    _fill(loki)
    response = loki.get(
        "/loki/api/v1/query_range", params={"query": '{app="a"}', "start": "1.0e999990"}, timeout=20
    )
    assert response.status_code == 400
    assert "out of range" in response.text
    _ok_after(loki)


@pytest.mark.parametrize(
    "value",
    [
        "9" * 5000,  # int() refuses over 4300 digits
        "99999999999999999999",  # past int64 nanoseconds
        "1.5e99999999",  # decimal.Overflow
        "1.5e9999999999999999999",  # past what Decimal holds
        "9999-13-01T00:00:00Z",  # no such month
        "0000-01-01T00:00:00Z",  # no year 0
        "2024-02-30T00:00:00Z",
        "²",  # str.isdigit() says yes, int() says no
    ],
)
def test_a_timestamp_out_of_range_or_no_date_is_loki_s_400(loki: httpx.Client, value: str) -> None:
    _fill(loki)
    for path, params in [
        ("/loki/api/v1/query_range", {"query": '{app="a"}', "start": value}),
        ("/loki/api/v1/query", {"query": '{app="a"}', "time": value}),
        ("/loki/api/v1/labels", {"end": value}),
    ]:
        response = loki.get(path, params=params)
        assert response.status_code == 400, (path, response.text)
        assert "timestamp" in response.text
        assert len(response.text) < 300  # the value is not echoed whole
    _ok_after(loki)


def test_a_step_or_range_longer_than_a_go_duration_is_refused(loki: httpx.Client) -> None:
    _fill(loki)
    cases = [
        ("/loki/api/v1/query_range", {"query": 'count_over_time({app="a"}[1m])', "step": "1e300"}),
        ("/loki/api/v1/index/volume_range", {"query": '{app="a"}', "step": "1e300"}),
        ("/loki/api/v1/query_range", {"query": 'count_over_time({app="a"}[9999999999999h])'}),
        ("/loki/api/v1/query_range", {"query": 'count_over_time({app="a"}[' + "9" * 400 + "h])"}),
    ]
    for path, params in cases:
        response = loki.get(path, params=params)
        assert response.status_code == 400, (params, response.text)
        assert "292 years" in response.text
    _ok_after(loki)


def test_a_volume_limit_that_is_no_ascii_number_takes_the_default(loki: httpx.Client) -> None:
    _fill(loki)
    response = loki.get("/loki/api/v1/index/volume", params={"query": '{app="a"}', "limit": "²", **RANGE})
    assert response.status_code == 200
    assert response.json()["data"]["result"][0]["metric"] == {"app": "a"}


@pytest.mark.parametrize("ts", ["²", "99999999999999999999", "9" * 5000])
def test_a_pushed_timestamp_that_is_no_int64_is_a_400(loki: httpx.Client, ts: str) -> None:
    response = push_json(loki, [{"stream": {"app": "p"}, "values": [[ts, "x"]]}])
    assert response.status_code == 400
    assert "nanoseconds since the epoch" in response.text
    assert len(response.text) < 300


@pytest.mark.parametrize("ts", ["2024-13-01T00:00:00Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00"])
def test_a_legacy_push_with_no_such_time_is_a_400(loki: httpx.Client, ts: str) -> None:
    body = {"streams": [{"labels": '{app="legacy"}', "entries": [{"ts": ts, "line": "x"}]}]}
    response = loki.post("/api/prom/push", json=body)
    assert response.status_code == 400
    assert "RFC3339" in response.text


def test_a_push_body_nested_past_the_json_parser_is_a_400(loki: httpx.Client) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    response = loki.post("/loki/api/v1/push", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "nests too deeply" in response.text


@pytest.mark.parametrize(
    "query",
    [
        "sum(" * 2000 + 'count_over_time({app="a"}[1m])' + ")" * 2000,
        '{app="a"} | line_format "{{ ' + "(" * 3000 + "1" + ")" * 3000 + ' }}"',
    ],
)
def test_a_query_nested_past_the_parser_is_a_400(loki: httpx.Client, query: str) -> None:
    _fill(loki)
    response = loki.post("/loki/api/v1/query_range", data={"query": query, **RANGE})
    assert response.status_code == 400
    assert "nests too deeply" in response.text
    _ok_after(loki)


@pytest.mark.parametrize(
    "template",
    [
        "{{ repeat 1000000000 .app }}",  # took a GB a line and 3x the time limit
        "{{ indent 1000000000 .app }}",
        '{{ printf "%01000000000d" 1 }}',
        '{{ replace "" (repeat 20000 "y") (repeat 20000 "x") }}',  # 400 MB
        '{{ regexReplaceAll "" (repeat 20000 "x") (repeat 20000 "y") }}',
        '{{ unixToTime "99999999999999999999999" }}',  # past the year 9999
    ],
)
def test_a_template_call_that_would_build_a_huge_value_is_the_entry_s_error(
    loki: httpx.Client, loki_backend: Backend, template: str
) -> None:
    _fill(loki)
    query = '{app="a"} | line_format ' + json.dumps(template)
    before = resident_bytes(loki_backend.process.pid)
    with PeakMemory(loki_backend.process.pid) as memory:
        response = loki.get("/loki/api/v1/query_range", params={"query": query, "limit": "2", **RANGE})
    # Before the bound each of these built a gigabyte per line, then refused it as too long an output.
    assert memory.peak - before < 200 * MiB
    assert response.status_code == 200, response.text
    streams = response.json()["data"]["result"]
    assert [s["stream"]["__error__"] for s in streams] == ["TemplateFormatErr"]
    assert len(response.content) < 10_000


def test_template_calls_of_ordinary_size_still_work(loki: httpx.Client) -> None:
    _fill(loki)
    template = '{{ repeat 3 .app }} {{ indent 2 .app }} {{ replace "a" "b" .app }} {{ printf "%05d" 7 }}'
    query = '{app="a"} | line_format ' + json.dumps(template)
    response = loki.get("/loki/api/v1/query_range", params={"query": query, "limit": "1", **RANGE})
    assert response.json()["data"]["result"][0]["values"][0][1] == "aaa   a b 00007"


@pytest.mark.parametrize(("params", "code"), [("limit=%C2%B2", None), ("delay_for=%C2%B2", 1008)])
def test_tail_parameters_that_are_no_ascii_number(
    loki_backend: Any, tenant: str, params: str, code: int | None
) -> None:
    query = quote('{app="a"}')
    url = f"{loki_backend.base_url.replace('http://', 'ws://')}/loki/api/v1/tail?query={query}&start={T}&{params}"
    httpx.post(
        f"{loki_backend.base_url}/loki/api/v1/push",
        json={"streams": [{"stream": {"app": "a"}, "values": [[str(time.time_ns()), "x"]]}]},
        headers={"X-Scope-OrgID": tenant},
    )
    with websockets.sync.client.connect(
        url, additional_headers={"X-Scope-OrgID": tenant}, open_timeout=30
    ) as ws:
        if code is None:  # the default limit: the entry comes through
            assert json.loads(ws.recv(timeout=30))["streams"][0]["values"][0][1] == "x"
            return
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == code
    assert "delay_for" in closed.value.rcvd.reason


def test_when_the_engine_runs_out_of_memory_push_is_a_503_and_tail_closes_with_the_reason(
    make_backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # DuckDB's memory limit set far below what the lines need. A failed COMMIT made the push's ROLLBACK raise
    # ("no transaction is active", a 500 that hid why) and the tail's first query died with a bare 1011 and a
    # traceback in the log.
    monkeypatch.setenv("LOGFIRE_NOTEBOOK_MEMORY_LIMIT", "8MB")
    backend = make_backend()
    now = time.time_ns() - 60 * NS
    with httpx.Client(base_url=backend.base_url, timeout=60) as loki:
        for batch in range(20):
            values = [[str(now + batch * 10 + i), "x" * 200_000] for i in range(5)]
            response = push_json(loki, [{"stream": {"app": "big"}, "values": values}])
            assert response.status_code in (204, 503), response.text
            if response.status_code == 503:
                assert "nothing was stored, retry it" in response.text
    url = (
        backend.base_url.replace("http://", "ws://")
        + "/loki/api/v1/tail?limit=100&query="
        + quote('{app="big"}')
    )
    with (
        websockets.sync.client.connect(url, open_timeout=30, max_size=None) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1011
    assert "the tail's query failed: Out of Memory" in closed.value.rcvd.reason
    assert backend.log_path is not None
    assert "Traceback" not in backend.log_path.read_text(errors="replace")


def test_lone_surrogates_in_a_json_push_are_stored_as_the_replacement_character(loki: httpx.Client) -> None:
    # Valid JSON escapes that are no UTF-8 (a lone "\ud800"): Go's decoder reads U+FFFD; ours passed them
    # on to the store, which failed (500).
    ts = str(T * NS)
    body = (
        '{"streams":[{"stream":{"app":"sur\\udfff"},"values":[["'
        + ts
        + '","a\\ud800b",{"k\\ud800":"v\\udc00"}]]},'
        '{"stream":{"app":"pair"},"values":[["' + ts + '","\\ud83d\\ude00"]]}]}'
    )
    response = loki.post("/loki/api/v1/push", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 204, response.text
    result = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app=~".+"}', **RANGE},
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    ).json()["data"]["result"]
    by_app = {r["stream"]["app"]: r["values"][0] for r in result}
    assert by_app["sur\ufffd"][1] == "a\ufffdb"
    assert by_app["sur\ufffd"][2]["structuredMetadata"]["k\ufffd"] == "v\ufffd"
    assert by_app["pair"][1] == "\U0001f600"  # a valid pair stays the one character it encodes


def test_an_answer_past_the_answer_cap_is_a_400_that_says_to_narrow_the_query(loki: httpx.Client) -> None:
    # 300 lines of a megabyte within limit=5000: the server ran out of memory while sending and cut the
    # answer off mid-body, without a word.
    for batch in range(10):
        values = [[str((T + batch * 15 + i) * NS), "y" * 1_000_000] for i in range(14)]
        assert push_json(loki, [{"stream": {"app": "wide"}, "values": values}]).status_code == 204
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="wide"}', "limit": "5000", "start": str(T - 60), "end": str(T + 600)},
    )
    assert response.status_code == 400
    assert "larger than 128 MiB; narrow the query" in response.text
    _fill(loki)
    _ok_after(loki)
