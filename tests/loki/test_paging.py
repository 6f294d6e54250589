"""query_all pages like logcli: from the last timestamp, dropping the entries the previous batch had.

The server here is a few lines over a list of entries (MockTransport), because the cases that matter are
the ones a real store rarely shows on cue: many entries at one nanosecond, exactly at a batch boundary.
"""

from __future__ import annotations

import json

import httpx
import pytest

from logfire_notebook import LokiClient
from logfire_notebook._paging import PageProgress

START = 1_700_000_000_000_000_000


def entries() -> list[tuple[int, str, str]]:
    """(ns, stream, line): 95 entries over two streams, with runs of equal timestamps across batch edges."""
    out = []
    for i in range(60):
        out.append((START + (i // 3) * 1000, "a", f"a{i}"))  # three entries per timestamp
    for i in range(35):
        out.append((START + (i // 5) * 1000, "b", f"b{i}"))  # five per timestamp, same instants as stream a
    return out


def fake_loki(store: list[tuple[int, str, str]], asked: list[dict[str, str]]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        p = dict(request.url.params)
        asked.append(p)
        lo, hi, limit = int(p["start"]), int(p["end"]), int(p["limit"])
        chosen = sorted(
            (e for e in store if lo <= e[0] < hi), key=lambda e: e[0], reverse=p["direction"] == "backward"
        )[:limit]
        streams: dict[str, list[list[object]]] = {}
        for stamp, stream, line in chosen:
            streams.setdefault(stream, []).append([str(stamp), line, {}])
        result = [{"stream": {"job": s}, "values": v} for s, v in streams.items()]
        body = {
            "status": "success",
            "data": {"resultType": "streams", "encodingFlags": ["categorize-labels"], "result": result},
        }
        return httpx.Response(200, content=json.dumps(body).encode())

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("direction", ["backward", "forward"])
@pytest.mark.parametrize("batch", [4, 7, 10, 100])
def test_every_entry_once_in_order(direction: str, batch: int) -> None:
    store = entries()
    asked: list[dict[str, str]] = []
    progress: list[PageProgress] = []
    with LokiClient("http://loki.test", transport=fake_loki(store, asked)) as loki:
        df = loki.query_all(
            '{job=~"a|b"}',
            since="2023-11-14T00:00:00Z",
            until="2023-11-16T00:00:00Z",
            direction=direction,
            batch=batch,
            progress=progress.append,
        )
    assert sorted(df["line"].to_list()) == sorted(e[2] for e in store)
    stamps = df["timestamp"].cast(int).to_list()  # type: ignore[arg-type]
    assert stamps == sorted(stamps, reverse=direction == "backward")
    assert progress[-1].done and progress[-1].rows == len(store)
    assert len(asked) >= len(store) // batch


def test_limit_stops_early() -> None:
    asked: list[dict[str, str]] = []
    with LokiClient("http://loki.test", transport=fake_loki(entries(), asked)) as loki:
        df = loki.query_all(
            '{job="a"}', since="2023-11-14T00:00:00Z", until="2023-11-16T00:00:00Z", batch=10, limit=25
        )
    assert df.height == 25
    assert all(int(p["limit"]) <= 10 for p in asked) and len(asked) <= 5
