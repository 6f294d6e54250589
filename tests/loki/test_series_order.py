"""Metric answers list their series as Loki does: sorted by labels (name, then value, pair by pair), in a
range query's matrix and an instant query's vector alike, however the engine happened to make them; an
instant query that sorts by value (sort(), sort_desc()) keeps that order."""

from __future__ import annotations

import httpx
from _loki import NS, push_json

T = 1_700_000_000

# Loki's order: label pairs (names sorted) compared one by one, name first, then value; a label set that is
# a prefix of another comes first. So `env` (< `job`) puts the env series before {app="a", job="order"}.
SORTED = [
    {"app": "a", "env": "dev", "job": "order"},
    {"app": "a", "env": "prod", "job": "order"},
    {"app": "a", "job": "order"},
    {"app": "a", "job": "order", "zone": "z"},
    {"app": "b", "job": "order"},
    *({"app": "c", "job": "order", "n": f"{n:02d}"} for n in range(20)),
]


def _fill(loki: httpx.Client) -> None:
    # (Loki 3 adds `detected_level` to every line; the queries drop it to compare the labels pushed.)
    # Pushed in reverse, each stream with a different number of lines (so value order is not label order).
    streams = [
        {"stream": labels, "values": [[str((T + i) * NS), "x"] for i in range(1 + k % 7)]}
        for k, labels in enumerate(reversed(SORTED))
    ]
    assert push_json(loki, streams).status_code == 204


def test_a_range_query_s_series_are_sorted_by_labels(loki: httpx.Client) -> None:
    _fill(loki)
    for query in (
        'count_over_time({job="order"} | drop detected_level [1m])',
        'sum by (app, env, n, zone, job) (count_over_time({job="order"} | drop detected_level [1m]))',
    ):
        body = loki.get(
            "/loki/api/v1/query_range", params={"query": query, "start": T, "end": T + 60, "step": "10"}
        ).json()
        assert [s["metric"] for s in body["data"]["result"]] == SORTED, query


def test_an_instant_query_s_series_are_sorted_by_labels(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/query",
        params={"query": 'count_over_time({job="order"} | drop detected_level [1m])', "time": T + 30},
    ).json()
    assert [s["metric"] for s in body["data"]["result"]] == SORTED


def test_an_instant_sort_desc_keeps_the_value_order(loki: httpx.Client) -> None:
    _fill(loki)
    body = loki.get(
        "/loki/api/v1/query",
        params={
            "query": 'sort_desc(count_over_time({job="order"} | drop detected_level [1m]))',
            "time": T + 30,
        },
    ).json()
    values = [float(s["value"][1]) for s in body["data"]["result"]]
    assert values == sorted(values, reverse=True)
    assert len(values) == len(SORTED)
