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
from logfire_notebook.server.loki.storage import LokiStore, PushStream, stream_id
from logfire_notebook.server.store import Store

BASE = SCENARIOS["base"]
TENANT = "scenarios"

TRICKY_LINES: list[str] = SCENARIOS["differential"]["lines"]

TRICKY_QUERIES: list[str] = SCENARIOS["differential"]["queries"]


def _fill(store: Store) -> LokiStore:
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
    return loki


@pytest.fixture(scope="module")
def loki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LokiStore]:
    with Store(Path(tmp_path_factory.mktemp("sqlpipe")) / "data") as store:
        yield _fill(store)


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


def test_lines_stored_before_json_plain_answer_the_same(tmp_path: Path) -> None:
    """Rows from a database made before `json_plain` existed hold NULL there: SQL checks each such line
    itself, and every tricky query still answers as Python does."""
    with Store(tmp_path / "data") as store:
        loki = _fill(store)
        store.cursor().execute("UPDATE store.loki_entries SET json_plain = NULL")
        for query in TRICKY_QUERIES:
            in_sql, in_python = _both_ways(loki, query, {"step": "2"}, "query_range")
            assert in_sql == in_python, query


def test_only_plain_json_lines_are_marked_plain(loki: LokiStore) -> None:
    """The lines SQL reads without checking them again: ordinary JSON objects, and none of the hostile ones."""
    plain = dict(
        loki.store.cursor()
        .execute("SELECT line, json_plain FROM store.loki_entries WHERE tenant = ?", [TENANT])
        .fetchall()
    )
    ordinary = '{"status":501,"took":"1.5s","size":"2KB","env":"json-env","level":"error"}'
    assert plain[ordinary] is True
    hostile = [
        '{"status":500,"status":404}',  # a repeated key
        '{"status":502,}',  # a trailing comma
        '{"status": -0, "lat": NaN}',
        '{"status":503,"level":"warn","lat":nan}',
        '{"log.level":"warn","status":502,"lat":2}',  # a key Loki renames
        '{"st\\u0061tus":500,"level":"warn"}',  # an escape
        '{"user":{"id":1,"id":2},"status":500,"level":"warn"}',
        ' {"status":500,"level":"warn"}',
        "[1,2]",
        'level=warn status=500 msg="x y" took=1.5s size=3KiB',
    ]
    assert {line: plain[line] for line in hostile} == dict.fromkeys(hostile, False)


def test_a_database_from_before_json_plain_opens_and_answers(tmp_path: Path) -> None:
    with Store(tmp_path / "data") as store:
        cur = store.cursor()
        cur.execute(
            "CREATE TABLE store.loki_streams (tenant VARCHAR NOT NULL, stream_id BIGINT NOT NULL, "
            "labels VARCHAR NOT NULL)"
        )
        cur.execute(
            "CREATE TABLE store.loki_entries (tenant VARCHAR NOT NULL, stream_id BIGINT NOT NULL, "
            "ts BIGINT NOT NULL, line VARCHAR NOT NULL, metadata VARCHAR)"
        )
        sid = stream_id(TENANT, {"app": "old"})
        cur.execute("INSERT INTO store.loki_streams VALUES (?, ?, ?)", [TENANT, sid, '{"app":"old"}'])
        cur.execute(
            "INSERT INTO store.loki_entries VALUES (?, ?, ?, ?, NULL)",
            [TENANT, sid, BASE * NS + 1, '{"status":503,"status":200}'],
        )
        loki = LokiStore.of(store)
        loki.append(TENANT, [PushStream({"app": "old"}, [(BASE * NS + 2, '{"status":503}', None)])])
        query = 'sum by (status) (count_over_time({app="old"} | json [10s]))'
        in_sql, in_python = _both_ways(loki, query, {"step": "10"}, "query_range")
        assert in_sql == in_python
        assert [r["metric"] for r in in_sql["data"]["result"]] == [{"status": "200"}, {"status": "503"}]
