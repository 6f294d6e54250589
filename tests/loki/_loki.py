"""Helpers of the Loki API tests (fixtures are in conftest.py): the fixture files and a JSON push."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN = FIXTURES / "loki-api"
SCENARIOS = json.loads((FIXTURES / "logql" / "scenarios.json").read_text(encoding="utf-8"))
NS = 1_000_000_000


def push_json(client: httpx.Client, streams: list[dict[str, Any]]) -> httpx.Response:
    return client.post("/loki/api/v1/push", json={"streams": streams})


def golden(name: str) -> Any:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))
