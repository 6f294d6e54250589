"""The LogQL pipeline run in DuckDB (`sqlpipe.py`) gives the same answers as the Python pipeline: every
scenario of tests/fixtures/logql/scenarios.json and queries over lines chosen to trip the SQL side (escapes,
duplicate keys, NaN, renamed keys, clashing labels, odd spaces, unconvertible values), run both ways on one
store in process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _loki import NS, SCENARIOS
from starlette.datastructures import QueryParams

from logfire_notebook.server.loki import service, sqlpipe
from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.params import range_params
from logfire_notebook.server.loki.parser import parse
from logfire_notebook.server.loki.select import LokiEvalError, LokiQueryError, pushdown
from logfire_notebook.server.loki.storage import LokiStore, PushStream
from logfire_notebook.server.store import Store

BASE = SCENARIOS["base"]
TENANT = "scenarios"

TRICKY_LINES: list[str] = SCENARIOS["differential"]["lines"]

TRICKY_QUERIES: list[str] = SCENARIOS["differential"]["queries"]


@pytest.fixture(scope="module")
def loki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LokiStore]:
    with Store(Path(tmp_path_factory.mktemp("sqlpipe")) / "data") as store:
        loki = LokiStore.of(store)
        streams = [
            PushStream(
                dict(st["stream"]),
                [((BASE + e[0]) * NS, e[1], e[2] if len(e) > 2 else None) for e in st["entries"]],
            )
            for st in SCENARIOS["streams"]
        ]
        tricky = [
            PushStream({"app": "tricky", "env": "x"}, []),
            PushStream({"app": "tricky", "env": "y", "level": "stream-level"}, []),
        ]
        for i, line in enumerate(TRICKY_LINES):
            metadata = {"trace_id": f"t{i % 3}"} if i % 2 else None
            tricky[i % 2].entries.append((BASE * NS + i * 9 * NS // len(TRICKY_LINES) + 1, line, metadata))
        loki.append(TENANT, [*streams, *tricky])
        yield loki


def _answer(loki: LokiStore, query: str, params: dict[str, Any], endpoint: str, ordered: bool) -> Any:
    try:
        if endpoint == "query":
            body = service.instant_query(loki, TENANT, query, int((BASE + params.get("time", 10)) * NS))
        else:
            texts = {"query": query, "start": str(BASE), "end": str(BASE + 10)}
            for key, value in params.items():
                texts[key] = str(BASE + value if key in ("start", "end") else value)
            body = service.range_query(loki, TENANT, range_params(QueryParams(texts)), categorize=True)
    except (LokiQueryError, LokiEvalError, ValueError) as exc:
        return ("error", type(exc).__name__, str(exc))
    data = body["data"]
    data.pop("stats", None)
    if not ordered and isinstance(data["result"], list) and data["resultType"] != "scalar":
        data["result"].sort(key=lambda r: sorted((r.get("metric") or r.get("stream") or {}).items()))
    return body


def _both_ways(
    loki: LokiStore, query: str, params: dict[str, Any], endpoint: str, ordered: bool = False
) -> tuple[Any, Any]:
    in_sql = _answer(loki, query, params, endpoint, ordered)
    sqlpipe.ENABLED = False
    try:
        in_python = _answer(loki, query, params, endpoint, ordered)
    finally:
        sqlpipe.ENABLED = True
    return in_sql, in_python


@pytest.mark.parametrize(
    "scenario", SCENARIOS["scenarios"], ids=[sc["name"] for sc in SCENARIOS["scenarios"]]
)
def test_scenario_answers_the_same_in_sql_and_in_python(loki: LokiStore, scenario: dict[str, Any]) -> None:
    in_sql, in_python = _both_ways(
        loki,
        scenario["query"],
        scenario["params"],
        scenario.get("endpoint", "query_range"),
        bool(scenario.get("ordered")),
    )
    assert in_sql == in_python


def _log_query_and_grouping(expr: Any) -> tuple[s.LogQuery, list[str]]:
    grouping: list[str] = []
    while not isinstance(expr, s.LogQuery):
        if getattr(expr, "grouping", None) is not None:
            grouping += expr.grouping.labels
        expr = expr.range.query if isinstance(expr, s.RangeAggregation) else expr.expr
    return expr, grouping


@pytest.mark.parametrize("query", TRICKY_QUERIES)
def test_tricky_lines_answer_the_same_in_sql_and_in_python(loki: LokiStore, query: str) -> None:
    log_query, grouping = _log_query_and_grouping(parse(query))
    streams = loki.streams(TENANT, [log_query.matchers], 0, 2**62)
    plan = sqlpipe.compile_pipeline(pushdown(log_query.stages)[1], streams, True, grouping)
    assert plan is not None  # every one runs in SQL
    for params in ({"direction": "forward"}, {"step": "2"}, {"direction": "backward", "limit": 3}):
        in_sql, in_python = _both_ways(loki, query, params, "query_range")
        assert in_sql == in_python
