"""Logfire's dialect on DuckDB: what the rewrites change, what they leave alone, and the answers they give."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from _backend import Backend
from _dataset import LEVELS

from logfire_notebook.server.dialect import rewrite


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT 1 FROM records WHERE level = 'error'", "SELECT 1 FROM records WHERE level = 17"),
        ("SELECT 1 FROM records r WHERE r.level >= 'WARN'", "SELECT 1 FROM records r WHERE r.level >= 13"),
        ("SELECT 1 FROM records WHERE 'info' < level", "SELECT 1 FROM records WHERE 9 < level"),
        (
            "SELECT 1 FROM records WHERE level IN ('error', 'fatal')",
            "SELECT 1 FROM records WHERE level IN (17, 21)",
        ),
        ("SELECT 1 FROM records WHERE level <> 'warning'", "SELECT 1 FROM records WHERE level <> 13"),
        (
            "SELECT approx_percentile_cont(0.9) WITHIN GROUP (ORDER BY duration) FROM records",
            "SELECT approx_quantile(duration, 0.9) FROM records",
        ),
        (
            "SELECT approx_percentile_cont(0.9) WITHIN GROUP (ORDER BY duration DESC) FROM records",
            "SELECT approx_quantile(duration, 1 - (0.9)) FROM records",
        ),
        (
            "SELECT approx_percentile_cont(duration, 0.5) FROM records",
            "SELECT approx_quantile(duration, 0.5) FROM records",
        ),
        (
            "SELECT attributes->'a'->>'b' FROM records WHERE attributes->'a' IS NOT NULL",
            "SELECT (attributes->'a'->>'b') FROM records WHERE (attributes->'a') IS NOT NULL",
        ),
    ],
)
def test_rewrites(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (
            "SELECT 1 FROM records WHERE attributes ? 'http.route'",
            """SELECT 1 FROM records WHERE coalesce(json_exists(attributes , '$."http.route"'), false)""",
        ),
        (
            "SELECT 1 FROM records WHERE NOT r.attributes?'it''s'",
            """SELECT 1 FROM records WHERE NOT coalesce(json_exists(r.attributes, '$."it''s"'), false)""",
        ),
        (
            "SELECT 1 FROM records, keys WHERE attributes ? keys.k",
            "SELECT 1 FROM records, keys WHERE json_contains(attributes , keys.k)",
        ),
        (
            "SELECT sum((attributes->'cost')::numeric) FROM records",
            "SELECT sum(_lf_as_float(((attributes->'cost')))) FROM records",
        ),
        ("SELECT (attributes->'n')::int FROM records", "SELECT _lf_as_int(((attributes->'n'))) FROM records"),
        ("SELECT (attributes->>'n')::int FROM records", "SELECT ((attributes->>'n'))::int FROM records"),
        (
            "SELECT min(x)::numeric, CAST(y AS decimal) FROM t",
            "SELECT min(x)::DECIMAL(38, 10), CAST(y AS DECIMAL(38, 10)) FROM t",
        ),
        ("SELECT x::numeric(10, 2) FROM t", "SELECT x::numeric(10, 2) FROM t"),
        (
            "SELECT date_trunc('day', start_timestamp) AS day, count() AS n FROM records GROUP BY day",
            "SELECT date_trunc('day', start_timestamp) AS day, count() AS n FROM records GROUP BY 1",
        ),
        ("SELECT day, count(*) FROM records GROUP BY day", "SELECT day, count(*) FROM records GROUP BY day"),
    ],
)
def test_logfire_dialect_rewrites(sql: str, expected: str) -> None:
    assert rewrite(sql) == expected


def test_catalog_queries_become_selects_over_the_schema() -> None:
    assert rewrite("SHOW COLUMNS FROM records").startswith("SELECT table_catalog, table_schema, table_name")
    assert "information_schema" not in rewrite("SELECT * FROM information_schema.columns c")
    assert rewrite("SELECT 'information_schema.columns'") == "SELECT 'information_schema.columns'"


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 'level = ''error''' AS s",  # inside a string literal
        "SELECT 1 -- level = 'error'\n",  # inside a comment
        "SELECT message FROM records WHERE message = 'error'",  # another column
        "SELECT list_transform([1, 2], x -> x + 1)",  # a lambda, not JSON
        "SELECT span_name FROM records",
        "SELECT '?' AS q, 'a::numeric' AS c",  # operators inside strings
        "SELECT level_name(level) AS lvl FROM records GROUP BY lvl",  # an alias that is no column
    ],
)
def test_text_that_only_looks_like_the_dialect_is_left_alone(sql: str) -> None:
    assert rewrite(sql) == sql


def _rows(backend: Backend, sql: str) -> list[dict[str, object]]:
    assert backend.dataset is not None
    with backend.client() as client:
        response = client.post(
            "/v2/query",
            json={
                "sql": sql,
                "min_timestamp": (backend.dataset.now - timedelta(days=8)).isoformat(),
                "limit": 10_000,
            },
        )
    assert response.status_code == 200, response.text
    rows: list[dict[str, object]] = response.json()["data"]
    return rows


def test_level_in_names_and_reversed_comparison_count_right(backend: Backend) -> None:
    assert backend.dataset is not None
    visible = backend.dataset.visible_records
    [row] = _rows(
        backend,
        "SELECT count(*) FILTER (WHERE level IN ('error', 'fatal')) AS bad, "
        "count(*) FILTER (WHERE 'warn' <= level) AS at_least_warn, "
        "count(*) FILTER (WHERE level = 'debug' AND message <> 'level = ''debug''') AS debug FROM records",
    )
    assert row == {
        "bad": sum(r["level"] in (17, 21) for r in visible),
        "at_least_warn": sum(r["level"] >= 13 for r in visible),
        "debug": sum(r["level"] == 5 for r in visible),
    }


def test_level_name_of_every_level_and_in_between(backend: Backend) -> None:
    rows = _rows(
        backend,
        "SELECT level_name(n) AS name, level_num(level_name(n)) AS back FROM range(1, 25) t(n) ORDER BY n",
    )
    names = {v: k for k, v in LEVELS.items()}
    for n, row in enumerate(rows, start=1):
        expected = names[max(v for v in LEVELS.values() if v <= n)]
        assert row == {"name": expected, "back": LEVELS[expected]}


def test_json_arrow_chain_compared_and_grouped(backend: Backend) -> None:
    assert backend.dataset is not None
    import json

    systems = Counter(
        json.loads(r["attributes"])["gen_ai"]["system"]
        for r in backend.dataset.visible_records
        if "gen_ai" in json.loads(r["attributes"])
    )
    rows = _rows(
        backend,
        "SELECT attributes->'gen_ai'->>'system' AS s, count(*) AS n FROM records "
        "WHERE attributes->'gen_ai'->>'system' = 'openai' OR attributes->'gen_ai'->>'system' = 'anthropic' "
        "GROUP BY s ORDER BY s",
    )
    assert rows == [{"s": s, "n": n} for s, n in sorted(systems.items())]
