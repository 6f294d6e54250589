"""Answers have exactly the shapes of Loki's own golden responses (tests/fixtures/loki-api): the same keys
at every level, the same value types, timestamps and values written the same way."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import websockets.sync.client
from _loki import NS, golden, push_json

T0 = 1568404331  # the golden files' own time, 2019-09-13T19:52:11Z


_LABEL_MAPS = {"stream", "metric", "structuredMetadata", "parsed"}


def shape(value: Any, key: str = "") -> Any:
    """Keys and value types, with lists reduced to the shape of their first item and label sets to
    "labels" (their names are data, not shape)."""
    if isinstance(value, dict) and (key in _LABEL_MAPS or key == "series"):
        assert all(isinstance(v, str) for v in value.values())
        return "labels"
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0], "series" if key == "data" else key)] if value else []
    return (
        type(value).__name__ if not isinstance(value, (int, float)) or isinstance(value, bool) else "number"
    )


def _fill(loki: httpx.Client) -> None:
    streams = [
        {"stream": {"test": "test"}, "values": [[str(T0 * NS + 1), "super line"]]},
        {
            "stream": {"test": "test"},
            "values": [
                [str(T0 * NS + 2), "super line with labels", {"foo": "a", "bar": "b"}],
                [str(T0 * NS + 3), "super line with labels msg=text", {"foo": "a", "bar": "b"}],
            ],
        },
    ]
    assert push_json(loki, streams).status_code == 204


def _range(loki: httpx.Client, query: str, **headers: str) -> dict[str, Any]:
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": query, "start": T0 - 60, "end": T0 + 60, "direction": "forward"},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    return body


def _without_warnings(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "warnings"}


def test_log_query_answers_like_query_range_streams(loki: httpx.Client) -> None:
    _fill(loki)
    body = _range(loki, '{test="test"} |= "super line"')
    assert shape(body) == shape(_without_warnings(golden("query_range_streams.json")))
    assert list(body["data"]) == ["resultType", "result", "stats"]


def test_stats_object_has_every_key_of_loki_s(loki: httpx.Client) -> None:
    _fill(loki)
    body = _range(loki, '{test="test"}')
    assert shape(body["data"]["stats"]) == shape(golden("stats_empty.json"))
    assert body["data"]["stats"]["summary"]["totalEntriesReturned"] == 3


def test_metadata_and_parsed_labels_fold_into_the_stream(loki: httpx.Client) -> None:
    _fill(loki)
    # Loki's golden data has no detected_level (its marshal tests build answers by hand): drop ours.
    body = _range(loki, '{test="test"} | logfmt | drop super, line, with, labels, detected_level')
    assert shape(body) == shape(golden("query_range_streams_metadata_folded.json"))
    got = sorted((sorted(r["stream"].items()), [v[1] for v in r["values"]]) for r in body["data"]["result"])
    assert got == [
        (
            [("bar", "b"), ("foo", "a"), ("msg", "text"), ("test", "test")],
            ["super line with labels msg=text"],
        ),
        ([("bar", "b"), ("foo", "a"), ("test", "test")], ["super line with labels"]),
        ([("test", "test")], ["super line"]),
    ]


def test_categorize_labels_answers_three_tuples(loki: httpx.Client) -> None:
    _fill(loki)
    body = _range(
        loki,
        '{test="test"} | logfmt | drop super, line, with, labels, detected_level',
        **{"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    )
    want = golden("query_range_streams_categorize_labels.json")
    assert shape(body) == shape(_without_warnings(want))
    assert body["data"]["encodingFlags"] == ["categorize-labels"]
    assert [r["stream"] for r in body["data"]["result"]] == [{"test": "test"}]
    values = body["data"]["result"][0]["values"]
    assert [v[2] for v in values] == [v[2] for v in want["data"]["result"][0]["values"]]
    assert [int(v[0]) for v in values] == [T0 * NS + 1, T0 * NS + 2, T0 * NS + 3]


def test_metric_query_answers_like_query_range_matrix(loki: httpx.Client) -> None:
    _fill(loki)
    response = loki.get(
        "/loki/api/v1/query_range",
        params={
            "query": 'count_over_time({test="test"} | drop detected_level [1m])',
            "start": T0 + 0.324,
            "end": T0 + 0.324,
            "step": 1,
        },
    )
    body = response.json()
    assert shape(body) == shape(_without_warnings(golden("query_range_matrix.json")))
    got = sorted((sorted(r["metric"].items()), r["values"]) for r in body["data"]["result"])
    assert got == [
        ([("bar", "b"), ("foo", "a"), ("test", "test")], [[T0 + 0.324, "2"]]),
        ([("test", "test")], [[T0 + 0.324, "1"]]),
    ]


def test_instant_query_answers_like_query_vector(loki: httpx.Client) -> None:
    _fill(loki)
    response = loki.get(
        "/loki/api/v1/query", params={"query": 'sum(rate({test="test"}[1m]))', "time": T0 + 0.324}
    )
    body = response.json()
    assert shape(body) == shape(_without_warnings(golden("query_vector.json")))
    assert body["data"]["result"] == [{"metric": {}, "value": [T0 + 0.324, "0.05"]}]


def test_labels_values_and_series_answer_like_loki(loki: httpx.Client) -> None:
    streams = [
        {"stream": {"label1": "a", "test": "x", "value": "1"}, "values": [[str(T0 * NS), "l"]]},
        {"stream": {"label1": "b", "test": "y"}, "values": [[str(T0 * NS), "l"]]},
    ]
    assert push_json(loki, streams).status_code == 204
    window = {"start": T0 - 60, "end": T0 + 60}
    labels = loki.get("/loki/api/v1/labels", params=window).json()
    assert labels == golden("labels.json")
    assert loki.get("/loki/api/v1/label/label1/values", params=window).json() == {
        "status": "success",
        "data": ["a", "b"],
    }
    assert loki.get("/loki/api/v1/label/nope/values", params=window).json() == {"status": "success"}
    series = loki.get(
        "/loki/api/v1/series", params={**window, "match[]": ['{test="x"}', '{label1="b"}']}
    ).json()
    assert shape(series) == shape(golden("series.json"))
    assert series["data"] == [{"label1": "a", "test": "x", "value": "1"}, {"label1": "b", "test": "y"}]
    assert loki.get("/api/prom/label", params=window).json() == golden("legacy_label.json")


def test_legacy_query_answers_like_api_prom(loki: httpx.Client) -> None:
    golden_streams = golden("legacy_query_streams.json")
    entries = [{"ts": e["ts"], "line": e["line"]} for e in golden_streams["streams"][0]["entries"]]
    response = loki.post(
        "/api/prom/push", json={"streams": [{"labels": '{test="test"}', "entries": entries}]}
    )
    assert response.status_code == 204, response.text
    body = loki.get(
        "/api/prom/query",
        params={
            "query": '{test="test"} | drop detected_level',
            "start": "2019-09-13T18:00:00Z",
            "end": "2019-09-13T19:00:00Z",
            "direction": "forward",
        },
    ).json()
    assert shape(body) == shape(golden_streams)
    assert body["streams"] == golden_streams["streams"]


def test_tail_frames_are_loki_s(loki_backend: Any, tenant: str, loki: httpx.Client) -> None:
    now = time.time_ns()
    assert (
        push_json(loki, [{"stream": {"test": "test"}, "values": [[str(now - NS), "super line"]]}]).status_code
        == 204
    )
    url = (
        loki_backend.base_url.replace("http://", "ws://")
        + "/loki/api/v1/tail?query="
        + quote('{test="test"} | drop detected_level')
    )
    with websockets.sync.client.connect(
        url, additional_headers={"X-Scope-OrgID": tenant}, open_timeout=30
    ) as ws:
        first = json.loads(ws.recv(timeout=30))
        assert set(first) == {"streams", "dropped_entries"}
        assert shape(first["streams"]) == shape(golden("tail.json")["streams"])
        assert first["streams"][0]["values"] == [[str(now - NS), "super line"]]
        later = time.time_ns()
        push_json(loki, [{"stream": {"test": "test"}, "values": [[str(later), "a new line"]]}])
        push_json(loki, [{"stream": {"test": "other"}, "values": [[str(later), "not for this tail"]]}])
        second = json.loads(ws.recv(timeout=30))
        assert second["streams"] == [{"stream": {"test": "test"}, "values": [[str(later), "a new line"]]}]


def test_tail_categorized_frames(loki_backend: Any, tenant: str, loki: httpx.Client) -> None:
    now = time.time_ns()
    push_json(
        loki,
        [
            {
                "stream": {"test": "test"},
                "values": [[str(now - NS), "super line with labels msg=text", {"foo": "a", "bar": "b"}]],
            }
        ],
    )
    query = quote('{test="test"} | logfmt | drop super, line, with, labels, detected_level')
    url = loki_backend.base_url.replace("http://", "ws://") + f"/loki/api/v1/tail?query={query}"
    headers = {"X-Scope-OrgID": tenant, "X-Loki-Response-Encoding-Flags": "categorize-labels"}
    with websockets.sync.client.connect(url, additional_headers=headers, open_timeout=30) as ws:
        frame = json.loads(ws.recv(timeout=30))
    want = golden("tail_categorize_labels.json")
    assert frame["encodingFlags"] == want["encodingFlags"]
    assert frame["streams"][0]["values"][0][2] == want["streams"][0]["values"][2][2]


def test_legacy_tail_frames(loki_backend: Any, tenant: str, loki: httpx.Client) -> None:
    now = time.time_ns()
    push_json(loki, [{"stream": {"test": "test"}, "values": [[str(now - NS), "super line"]]}])
    url = (
        loki_backend.base_url.replace("http://", "ws://")
        + "/api/prom/tail?query="
        + quote('{test="test"} | drop detected_level')
    )
    with websockets.sync.client.connect(
        url, additional_headers={"X-Scope-OrgID": tenant}, open_timeout=30
    ) as ws:
        frame = json.loads(ws.recv(timeout=30))
    assert shape(frame["streams"]) == shape(golden("legacy_tail.json")["streams"])
    assert frame["streams"][0]["labels"] == '{test="test"}'


def test_ready(loki: httpx.Client) -> None:
    response = loki.get("/ready")
    assert (response.status_code, response.text) == (200, "ready")
