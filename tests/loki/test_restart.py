"""What was pushed answers the same after the server restarts on its data dir."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from _backend import start_backend
from loki._loki import NS, push_json


def _levels_by_metadata(base_url: str, now_ns: int) -> dict[str, float]:
    answer = httpx.get(
        f"{base_url}/loki/api/v1/query",
        params={"query": 'sum by (detected_level) (count_over_time({app="shop"}[10m]))', "time": str(now_ns)},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return {
        r["metric"].get("detected_level", ""): float(r["value"][1]) for r in answer.json()["data"]["result"]
    }


def test_grouping_by_structured_metadata_survives_a_restart(tmp_path: Path) -> None:
    now_ns = time.time_ns()
    server = start_backend(tmp_path / "data")
    try:
        values = [
            [str(now_ns - (i + 1) * NS), f"line {i}", {"detected_level": "warn" if i % 3 == 0 else "info"}]
            for i in range(9)
        ]
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            assert push_json(client, [{"stream": {"app": "shop"}, "values": values}]).status_code == 204
        before = _levels_by_metadata(server.base_url, now_ns)
    finally:
        server.stop()
    assert before == {"warn": 3.0, "info": 6.0}
    again = start_backend(tmp_path / "data")
    try:
        assert _levels_by_metadata(again.base_url, now_ns) == before
    finally:
        again.stop()
