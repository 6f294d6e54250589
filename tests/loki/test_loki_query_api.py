"""The query API's parameters and the endpoints around queries: timestamps in every form Loki takes,
defaults, index stats, volume, the older API's metric answers, and tail refusing what it cannot follow."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets.sync.client
from _loki import NS, push_json
from websockets.exceptions import ConnectionClosed

T = 1_700_000_000


def _fill(loki: httpx.Client) -> None:
    streams = [
        {
            "stream": {"app": "a", "env": "prod"},
            "values": [[str((T + i) * NS), f"line {i} " + "x" * i] for i in range(10)],
        },
        {
            "stream": {"app": "b", "env": "prod"},
            "values": [[str((T + i) * NS), "b"] for i in range(0, 10, 2)],
        },
        {"stream": {"app": "c", "env": "dev"}, "values": [[str((T + 5) * NS), "c"]]},
    ]
    assert push_json(loki, streams).status_code == 204


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (str(T + 2), str(T + 4)),  # seconds
        (str((T + 2) * NS), str((T + 4) * NS)),  # nanoseconds
        (f"{T + 2}.0", f"{T + 3}.999999999"),  # float seconds (end just below T+4 s still excludes it)
        ("2023-11-14T22:13:22Z", "2023-11-14T22:13:24Z"),  # RFC3339
        ("2023-11-14T23:13:22.000000000+01:00", "2023-11-14T22:13:24Z"),  # RFC3339Nano with a zone
    ],
)
def test_start_and_end_in_every_form_loki_takes(loki: httpx.Client, start: str, end: str) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="a"}', "start": start, "end": end, "direction": "forward"},
    ).json()
    assert [int(ts) // NS - T for ts, _ in body["data"]["result"][0]["values"]] == [2, 3]


def test_defaults_are_the_last_hour_100_entries_newest_first(loki: httpx.Client) -> None:
    now = time.time_ns()
    values = [[str(now - i * NS), f"recent {i}"] for i in range(150)] + [
        [str(now - 2 * 3600 * NS), "too old"]
    ]
    push_json(loki, [{"stream": {"app": "recent"}, "values": values}])
    body = loki.get("/loki/api/v1/query_range", params={"query": '{app="recent"}'}).json()
    lines = [line for _, line in body["data"]["result"][0]["values"]]
    assert lines == [f"recent {i}" for i in range(100)]


def test_post_form_query_range(loki: httpx.Client) -> None:
    _fill(loki)
    response = loki.post(
        "/loki/api/v1/query_range",
        data={
            "query": 'count_over_time({env="prod"}[10s])',
            "start": str(T + 9),
            "end": str(T + 9),
            "step": "1",
        },
    )
    assert response.status_code == 200, response.text
    result = {r["metric"]["app"]: r["values"] for r in response.json()["data"]["result"]}
    assert result == {"a": [[T + 9, "10"]], "b": [[T + 9, "5"]]}


def test_bad_time_is_loki_s_400(loki: httpx.Client) -> None:
    response = loki.get("/loki/api/v1/query_range", params={"query": '{app="a"}', "start": "yesterday"})
    assert (response.status_code, response.text) == (400, 'cannot parse "yesterday" to a valid timestamp')


def test_index_stats_count_streams_entries_and_bytes(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/index/stats", params={"query": '{env="prod"}', "start": T, "end": T + 10}
    ).json()
    assert body == {
        "streams": 2,
        "chunks": 2,
        "entries": 15,
        "bytes": sum(len(f"line {i} ") + i for i in range(10)) + 5,
    }


def test_volume_by_selector_labels_and_by_target_labels(loki: httpx.Client) -> None:
    _fill(loki)
    window = {"start": T, "end": T + 10}
    body = loki.get("/loki/api/v1/index/volume", params={"query": '{env=~".+"}', **window}).json()
    assert body["data"]["resultType"] == "vector"
    assert [(r["metric"], r["value"][1]) for r in body["data"]["result"]] == [
        ({"env": "prod"}, str(sum(len(f"line {i} ") + i for i in range(10)) + 5)),
        ({"env": "dev"}, "1"),
    ]
    body = loki.get(
        "/loki/api/v1/index/volume",
        params={"query": '{env="prod"}', "targetLabels": "app", "limit": 1, **window},
    ).json()
    assert [r["metric"] for r in body["data"]["result"]] == [{"app": "a"}]


def test_volume_aggregated_by_labels_has_one_series_per_label_name(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/index/volume",
        params={
            "query": '{env=~".+"}',
            "targetLabels": "app,env",
            "aggregateBy": "labels",
            "start": T,
            "end": T + 10,
        },
    ).json()
    total = str(sum(len(f"line {i} ") + i for i in range(10)) + 5 + 1)
    # Every stream has both labels: equal volumes, so the names decide the order.
    assert [(r["metric"], r["value"][1]) for r in body["data"]["result"]] == [
        ({"app": ""}, total),
        ({"env": ""}, total),
    ]


def test_stats_tell_what_a_log_query_read_and_kept(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/query_range",
        params={
            "query": '{env="prod"} |= "line" | decolorize |= "xx"',
            "start": T,
            "end": T + 10,
            "limit": 1000,
        },
    ).json()
    stats = body["data"]["stats"]
    store = stats["querier"]["store"]
    # The first filter runs in the store: only app a's 10 lines are read; 8 of them have "xx".
    assert (store["chunk"]["decompressedLines"], store["chunk"]["postFilterLines"]) == (10, 8)
    assert store["totalChunksRef"] == stats["index"]["totalStreams"] == 2
    assert stats["summary"]["totalLinesProcessed"] == 10
    assert stats["summary"]["totalPostFilterLines"] == stats["summary"]["totalEntriesReturned"] == 8
    assert stats["ingester"]["totalReached"] == 0
    assert all(v == 0 for cache in stats["cache"].values() for v in cache.values())


def test_stats_of_a_metric_query_count_the_lines_behind_the_samples(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/query",
        params={"query": 'sum(count_over_time({env="prod"} != "line" [10s]))', "time": T + 9},
    ).json()
    stats = body["data"]["stats"]
    assert body["data"]["result"][0]["value"][1] == "5"
    assert stats["summary"]["totalPostFilterLines"] == 5
    assert stats["summary"]["totalEntriesReturned"] == 0


def test_volume_range_is_a_matrix_of_steps(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/index/volume_range",
        params={"query": '{app="b"}', "start": T, "end": T + 10, "step": "5s"},
    ).json()
    assert body["data"]["resultType"] == "matrix"
    [series] = body["data"]["result"]
    assert series["metric"] == {"app": "b"}
    assert sum(int(v) for _, v in series["values"]) == 5


def test_legacy_query_of_a_metric(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/api/prom/query",
        params={"query": 'sum(count_over_time({app="a"}[10s]))', "start": T + 9, "end": T + 9, "step": 1},
    ).json()
    assert body["resultType"] == "matrix"
    assert body["result"] == [{"metric": {}, "values": [[T + 9, "10"]]}]


def test_tail_of_a_metric_query_is_closed_with_the_reason(loki_backend: Any, tenant: str) -> None:
    url = (
        loki_backend.base_url.replace("http://", "ws://")
        + "/loki/api/v1/tail?query="
        + quote('rate({a="b"}[1m])')
    )
    with (
        websockets.sync.client.connect(
            url, additional_headers={"X-Scope-OrgID": tenant}, open_timeout=30
        ) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=30)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008
    assert "log query" in closed.value.rcvd.reason


def test_a_bad_tenant_id_is_refused(loki_backend: Any) -> None:
    response = httpx.get(
        f"{loki_backend.base_url}/loki/api/v1/labels", headers={"X-Scope-OrgID": "bad tenant/../x"}
    )
    assert response.status_code == 400
    assert "tenant ID" in response.text


@pytest.fixture(scope="module")
def slow(make_backend: Any) -> Any:
    """A server whose queries are past their time limit as soon as they start (1 ns), holding entries of
    `{app="many"}`, for the tests past the time limit. With a limit of 1 ms the answer raced the watchdog: a
    warm server summed 50,000 entries before it fired and answered 200. (How a running statement is cut at
    its limit is tests/loki/test_deadline.py's.)"""
    server = make_backend(query_timeout=1e-9)
    with httpx.Client(base_url=server.base_url, timeout=60) as client:
        values = [[str(T * NS + i * 1_000_000), f"line {i} " + "x" * (i % 50)] for i in range(1_000)]
        assert push_json(client, [{"stream": {"app": "many"}, "values": values}]).status_code == 204
    return server


def test_a_query_past_the_time_limit_is_loki_s_504(slow: Any) -> None:
    with httpx.Client(base_url=slow.base_url, timeout=60) as client:
        values = [[str((T + i) * NS), f'{{"n": {i}}}'] for i in range(2000)]
        assert push_json(client, [{"stream": {"app": "slow"}, "values": values}]).status_code == 204
        response = client.get(
            "/loki/api/v1/query_range",
            params={
                "query": 'sum(count_over_time({app="slow"} | json | n > 5 [1h]))',
                "start": T,
                "end": T + 3600,
            },
        )
    assert response.status_code == 504
    assert response.text.startswith("request timed out, decrease the duration of the request")


@pytest.mark.parametrize(
    ("path", "extra"),
    [
        ("/loki/api/v1/index/stats", {}),
        ("/loki/api/v1/index/volume", {}),
        ("/loki/api/v1/index/volume_range", {"step": "1"}),
    ],
)
def test_index_stats_and_volume_past_the_time_limit_are_loki_s_504(
    slow: Any, path: str, extra: dict[str, str]
) -> None:
    with httpx.Client(base_url=slow.base_url, timeout=60) as client:
        response = client.get(path, params={"query": '{app="many"}', "start": T, "end": T + 60, **extra})
    assert response.status_code == 504
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.startswith("request timed out, decrease the duration of the request")


def test_one_long_sql_statement_is_cut_at_the_time_limit_and_the_server_answers_the_next(
    make_backend: Any,
) -> None:
    # 200,000 entries, each in thousands of the 4 h windows at a 1 s step over 11,000 steps: one DuckDB
    # statement grouping nearly two billion rows, minutes unless it is interrupted at the 1 s limit.
    slow = make_backend(query_timeout=1.0)
    with httpx.Client(base_url=slow.base_url, timeout=60) as client:
        values = [[str(T * NS + i * 55_000_000), "x"] for i in range(200_000)]
        assert push_json(client, [{"stream": {"app": "long"}, "values": values}]).status_code == 204
        response = client.get(
            "/loki/api/v1/query_range",
            params={"query": 'count_over_time({app="long"}[4h])', "start": T, "end": T + 10_999, "step": "1"},
            timeout=20,
        )
        assert response.status_code == 504
        assert response.text.startswith("request timed out, decrease the duration of the request")
        after = client.get("/loki/api/v1/query", params={"query": "vector(1)+vector(1)", "time": T})
    assert after.status_code == 200
    assert after.json()["data"]["result"][0]["value"][1] == "2"


def test_json_nested_past_the_parser_s_depth_is_a_parser_error_not_a_crash(loki: httpx.Client) -> None:
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    push_json(
        loki, [{"stream": {"app": "deep"}, "values": [[str(T * NS), deep], [str((T + 1) * NS), '{"a":1}']]}]
    )
    for query in ('{app="deep"} | json', '{app="deep"} | unpack'):
        response = loki.get(
            "/loki/api/v1/query_range",
            params={"query": query, "start": T - 1, "end": T + 2, "direction": "forward"},
        )
        assert response.status_code == 200, response.text
        errors = [r["stream"].get("__error__") for r in response.json()["data"]["result"]]
        assert sorted(errors, key=str) == ["JSONParserErr", None]
    response = loki.get(
        "/loki/api/v1/query",
        params={
            "query": 'sum(count_over_time({app="deep"} | json | __error__="" [10s])) by (app)',
            "time": T + 2,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"][0]["value"][1] == "1"


def test_a_catastrophic_regex_runs_in_linear_time(loki: httpx.Client) -> None:
    # (a+)+$ against a's followed by a b backtracks for minutes in a backtracking engine; RE2 does not, so
    # the answer comes well within the client's time-out.
    push_json(loki, [{"stream": {"app": "redos"}, "values": [[str(T * NS), "a" * 40 + "b"]]}])
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="redos"} | regexp `(?P<x>(a+)+$)` | x != ""', "start": T - 1, "end": T + 1},
        timeout=20,
    )
    assert response.status_code == 200
    assert response.json()["data"]["result"] == []


def test_too_many_series_is_loki_s_400(loki: httpx.Client) -> None:
    values = [[str((T + i) * NS), f'{{"id": "{i}"}}'] for i in range(600)]
    push_json(loki, [{"stream": {"app": "wide"}, "values": values}])
    response = loki.get(
        "/loki/api/v1/query",
        params={"query": 'count_over_time({app="wide"} | json [1h])', "time": T + 1800},
    )
    assert response.status_code == 400
    assert response.text.startswith("maximum number of series (500) reached for a single query")


def test_sum_by_groups_before_the_series_limit(loki: httpx.Client) -> None:
    # 600 distinct label sets after `| json`, but the answer has one series: Loki's limit is on the answer.
    values = [[str((T + i) * NS), f'{{"id": "{i}", "kind": "{i % 2}"}}'] for i in range(600)]
    push_json(loki, [{"stream": {"app": "wide"}, "values": values}])
    response = loki.get(
        "/loki/api/v1/query",
        params={"query": 'sum by (kind) (count_over_time({app="wide"} | json [1h]))', "time": T + 1800},
    )
    assert response.status_code == 200, response.text
    result = {r["metric"]["kind"]: r["value"][1] for r in response.json()["data"]["result"]}
    assert result == {"0": "300", "1": "300"}


@pytest.mark.parametrize("pipeline", ["", ' |= "l"'])
def test_categorized_entries_keep_metadata_apart_even_when_it_shares_a_stream_label_s_name(
    loki: httpx.Client, pipeline: str
) -> None:
    # The stream names its level, so the push adds no detected_level metadata. With and without a pipeline
    # stage: a query without one takes a shorter road to the answer.
    streams = [
        {
            "stream": {"app": "m", "detected_level": "info", "pod": "p1"},
            "values": [
                [str(T * NS), "l0"],
                [str((T + 1) * NS), "l1", {"trace_id": "t1"}],
                [str((T + 2) * NS), "l2", {"pod": "p9", "trace_id": "t2"}],
            ],
        }
    ]
    assert push_json(loki, streams).status_code == 204
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="m"}' + pipeline, "start": T - 1, "end": T + 10, "direction": "forward"},
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["result"] == [
        # Loki files an entry whose metadata names a stream label under the labels left to the stream.
        {
            "stream": {"app": "m", "detected_level": "info"},
            "values": [[str((T + 2) * NS), "l2", {"structuredMetadata": {"pod": "p9", "trace_id": "t2"}}]],
        },
        {
            "stream": {"app": "m", "detected_level": "info", "pod": "p1"},
            "values": [
                [str(T * NS), "l0", {}],
                [str((T + 1) * NS), "l1", {"structuredMetadata": {"trace_id": "t1"}}],
            ],
        },
    ]
    folded = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="m"}' + pipeline, "start": T - 1, "end": T + 10, "direction": "forward"},
    )
    assert [r["stream"] for r in folded.json()["data"]["result"]] == [
        {"app": "m", "detected_level": "info", "pod": "p1"},
        {"app": "m", "detected_level": "info", "pod": "p1", "trace_id": "t1"},
        {"app": "m", "detected_level": "info", "pod": "p9", "trace_id": "t2"},
    ]


def test_sum_by_metadata_labels_counts_entries_whose_metadata_differs_in_other_keys(
    loki: httpx.Client,
) -> None:
    # Every entry has its own trace id (as OTLP-fed entries do); the sum groups only by the labels it names,
    # from metadata or the stream, metadata winning over a stream label of the same name.
    levels = ["warn", "warn", "error", None, "info", "warn"]
    values: list[list[Any]] = []
    for i, level in enumerate(levels):
        metadata = {"trace_id": f"t{i}", **({"level": level} if level else {})}
        values.append([str((T + i) * NS), f"line {i}", metadata])
    streams = [{"stream": {"app": "otel", "level": "info", "detected_level": "info"}, "values": values}]
    assert push_json(loki, streams).status_code == 204

    def counts(query: str) -> dict[str, list[tuple[float, str]]]:
        response = loki.get(
            "/loki/api/v1/query_range",
            params={"query": query, "start": T + 10, "end": T + 10, "step": "1s"},
        )
        assert response.status_code == 200, response.text
        return {
            json.dumps(r["metric"], sort_keys=True): [tuple(v) for v in r["values"]]
            for r in response.json()["data"]["result"]
        }

    by_level = counts('sum by (level) (count_over_time({app="otel"}[1m]))')
    assert by_level == {
        '{"level": "error"}': [(T + 10, "1")],
        '{"level": "info"}': [(T + 10, "2")],  # the entry without metadata level keeps the stream's
        '{"level": "warn"}': [(T + 10, "3")],
    }
    assert counts('sum by (level, missing) (count_over_time({app="otel"}[1m]))') == by_level
    assert counts('sum by () (count_over_time({app="otel"}[1m]))') == {"{}": [(T + 10, "6")]}
    assert counts('sum by (trace_id) (count_over_time({app="otel"}[1m]))') == {
        json.dumps({"trace_id": f"t{i}"}): [(T + 10, "1")] for i in range(6)
    }
