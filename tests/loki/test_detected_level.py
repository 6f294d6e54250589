"""Pushed entries get Loki 3's `detected_level` structured metadata (discover_log_levels, on by default):
from a level-like label or metadata, a JSON or logfmt level field, or a level word in the line; `unknown`
when nothing names one. Seen over loopback as a Loki user sees it: in the answer, in filters, in sums."""

from __future__ import annotations

from typing import Any

import httpx
from _loki import NS, push_json

T = 1_700_000_000

LINES = [
    ('{"msg":"boom","level":"ERR"}', None, "error"),
    ('{"log":{"severity":"Debug"}}', None, "debug"),
    ('ts=1 lvl=inf msg="started"', None, "info"),
    ('level=notice msg="info here"', None, "info"),  # not a level Loki knows: the word "info" decides
    ("FATAL: out of memory", None, "fatal"),
    ("the information desk", None, "unknown"),  # only whole words count
    ("errors: none", None, "unknown"),
    ("plain", {"severity": "critical"}, "critical"),
    ("plain", {"detected_level": "Warning"}, "warn"),  # one the sender set is kept, spelled as Loki does
]


def _push(loki: httpx.Client) -> None:
    values: list[Any] = [
        [str((T + i) * NS), line, *([metadata] if metadata else [])]
        for i, (line, metadata, _) in enumerate(LINES)
    ]
    streams = [
        {"stream": {"app": "lines"}, "values": values},
        {"stream": {"app": "labelled", "level": "WARNING"}, "values": [[str(T * NS), "error in the line"]]},
        {"stream": {"app": "named", "detected_level": "custom"}, "values": [[str(T * NS), "error"]]},
    ]
    assert push_json(loki, streams).status_code == 204


def _metadata(loki: httpx.Client, query: str) -> list[tuple[dict[str, str], dict[str, str]]]:
    response = loki.get(
        "/loki/api/v1/query_range",
        params={"query": query, "start": T - 60, "end": T + 60, "direction": "forward", "limit": 100},
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    )
    assert response.status_code == 200, response.text
    return [
        (r["stream"], v[2].get("structuredMetadata", {}))
        for r in response.json()["data"]["result"]
        for v in r["values"]
    ]


def test_each_line_gets_the_level_it_names(loki: httpx.Client) -> None:
    _push(loki)
    got = [metadata["detected_level"] for _, metadata in _metadata(loki, '{app="lines"}')]
    assert got == [level for _, _, level in LINES]


def test_a_level_label_decides_for_its_stream(loki: httpx.Client) -> None:
    _push(loki)
    [(stream, metadata)] = _metadata(loki, '{app="labelled"}')
    assert (stream["level"], metadata) == ("WARNING", {"detected_level": "warn"})


def test_a_stream_labelled_detected_level_gets_no_second_one(loki: httpx.Client) -> None:
    _push(loki)
    assert _metadata(loki, '{app="named"}') == [({"app": "named", "detected_level": "custom"}, {})]


def test_detected_level_filters_and_groups_like_a_label(loki: httpx.Client) -> None:
    _push(loki)
    lines = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{app="lines"} | detected_level="error"', "start": T - 60, "end": T + 60},
    ).json()["data"]["result"]
    assert [line for r in lines for _, line in r["values"]] == ['{"msg":"boom","level":"ERR"}']
    volume = loki.get(
        "/loki/api/v1/query",
        params={
            "query": 'sum by (detected_level) (count_over_time({app=~"lines|labelled"}[5m]))',
            "time": T + 60,
        },
    ).json()["data"]["result"]
    counts = {r["metric"]["detected_level"]: r["value"][1] for r in volume}
    assert counts == {
        "error": "1",
        "debug": "1",
        "info": "2",
        "fatal": "1",
        "unknown": "2",
        "critical": "1",
        "warn": "2",
    }
