"""LogQL scenarios of our own (tests/fixtures/logql/scenarios.json): input streams, a query, the expected
answer, run over HTTP against the real backend. The same file feeds the JS test that checks every query
also parses with Grafana's own LogQL grammar."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from _loki import NS, SCENARIOS

BASE = SCENARIOS["base"]


@pytest.fixture(scope="module")
def scenario_client(loki_backend: Any) -> Any:
    """A tenant holding the scenarios' streams, pushed once for the module."""
    streams = [
        {
            "stream": s["stream"],
            "values": [[str((BASE + e[0]) * NS), e[1], *(e[2:] if len(e) > 2 else [])] for e in s["entries"]],
        }
        for s in SCENARIOS["streams"]
    ]
    with httpx.Client(
        base_url=loki_backend.base_url, headers={"X-Scope-OrgID": "logql-scenarios"}, timeout=60
    ) as client:
        assert client.post("/loki/api/v1/push", json={"streams": streams}).status_code == 204
        yield client


def _params(scenario: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"query": scenario["query"], "start": BASE, "end": BASE + 10}
    for key, value in scenario["params"].items():
        params[key] = BASE + value if key in ("start", "end", "time") else value
    if scenario.get("endpoint") == "query":
        params.pop("start")
        params.pop("end")
    return params


def _seconds(t: Any) -> float:
    return float(t) - BASE


def _streams(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = [
        {"stream": r["stream"], "values": [[(int(ts) - BASE * NS) / NS, line] for ts, line in r["values"]]}
        for r in result
    ]
    return sorted(out, key=lambda r: sorted(r["stream"].items()))


def _expected_streams(expect: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        ({"stream": e["stream"], "values": [[float(t), line] for t, line in e["values"]]} for e in expect),
        key=lambda r: sorted(r["stream"].items()),
    )


@pytest.mark.parametrize("scenario", SCENARIOS["scenarios"], ids=[s["name"] for s in SCENARIOS["scenarios"]])
def test_scenario(scenario_client: httpx.Client, scenario: dict[str, Any]) -> None:
    path = "/loki/api/v1/" + scenario.get("endpoint", "query_range")
    response = scenario_client.get(path, params=_params(scenario))
    expect = scenario["expect"]
    if "error" in expect:
        assert response.status_code == expect["status"], response.text
        assert response.headers["content-type"].startswith("text/plain")
        assert expect["error"] in response.text
        return
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    if "streams" in expect:
        assert data["resultType"] == "streams"
        assert _streams(data["result"]) == _expected_streams(expect["streams"])
    elif "matrix" in expect:
        assert data["resultType"] == "matrix"
        got = [
            {"metric": r["metric"], "values": [[_seconds(t), v] for t, v in r["values"]]}
            for r in data["result"]
        ]
        want = [
            {"metric": e["metric"], "values": [[float(t), v] for t, v in e["values"]]}
            for e in expect["matrix"]
        ]
        key = lambda r: sorted(r["metric"].items())  # noqa: E731
        assert got == sorted(want, key=key)  # in Loki's order: by labels
    elif "vector" in expect:
        assert data["resultType"] == "vector"
        got = [{"metric": r["metric"], "value": r["value"][1]} for r in data["result"]]
        assert all(_seconds(r["value"][0]) == scenario["params"]["time"] for r in data["result"])
        if scenario.get("ordered"):
            assert got == expect["vector"]
        else:
            key = lambda r: sorted(r["metric"].items())  # noqa: E731
            assert got == sorted(expect["vector"], key=key)  # in Loki's order: by labels
    else:
        assert data["resultType"] == "scalar"
        assert data["result"][1] == expect["scalar"]


@pytest.mark.parametrize(
    "case", SCENARIOS["parse_errors"], ids=[c["query"] for c in SCENARIOS["parse_errors"]]
)
def test_parse_error_is_loki_s_400(scenario_client: httpx.Client, case: dict[str, Any]) -> None:
    response = scenario_client.get(
        "/loki/api/v1/query_range", params={"query": case["query"], "start": BASE, "end": BASE + 10}
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.text == case["error"]
