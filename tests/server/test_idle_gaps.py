"""The server after an idle gap: its worker threads exit after about 10 s without requests, and the
threads that replace them must find their connections set up as the first ones were."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from _backend import Backend

# Longer than the thread pool keeps an idle worker (anyio: 10 s).
IDLE_GAP = 11.5


def _widget_pair(backend: Backend) -> list[httpx.Response]:
    """What the widget sends for one range: the rows and the timeline, at the same moment."""
    window = {"min_timestamp": "2020-01-01T00:00:00Z"}
    rows = {"sql": "SELECT * FROM records ORDER BY start_timestamp DESC", "limit": 200, **window}
    timeline = {
        "sql": "SELECT time_bucket(INTERVAL '1 hour', start_timestamp) AS t, count(*) AS n "
        "FROM records GROUP BY t",
        **window,
    }
    with backend.client() as client:
        return [client.post("/v2/query", json=body) for body in (rows, timeline)]


def test_queries_after_idle_gaps_answer_like_the_first_ones(backend: Backend) -> None:
    failures: list[str] = []
    with ThreadPoolExecutor(12) as pool:
        for round_ in range(3):
            if round_:
                time.sleep(IDLE_GAP)
            for responses in pool.map(lambda _: _widget_pair(backend), range(12)):
                failures += [r.text for r in responses if r.status_code != 200]
    assert failures == []
