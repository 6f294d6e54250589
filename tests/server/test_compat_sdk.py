"""The compat corpus's queries on telemetry the official `logfire` SDK sent: each answer is checked against
what the SDK program sent (`_compat_data.py`) or against the raw columns of the rows it produced.

Queries named "docs ..." are copied from Logfire's public docs (github.com/pydantic/logfire at e484a6b):
docs/cookbook/debug-a-slow-endpoint.md, docs/cookbook/track-llm-cost.md,
docs/reference/advanced/metrics-in-spans.md, docs/how-to-guides/write-dashboard-queries.md.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _backend import Backend, start_backend
from _compat_data import DB_STATEMENTS, FINISH_REASONS, HISTOGRAM_VALUES, LLM_CALLS, ROUTES, TOKEN_USAGE
from test_compat_corpus import corpus

from logfire_notebook._schema import METRICS, RECORDS

PROGRAM = Path(__file__).with_name("_compat_sdk_program.py")
Rows = list[dict[str, Any]]


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    """A fresh backend that the SDK program has sent `_compat_data`'s telemetry to."""
    sys.path.insert(0, str(Path(__file__).parents[1] / "ingest"))
    from _ingest_helpers import sdk_env

    data_dir = tmp_path_factory.mktemp("compat-sdk") / "data"
    backend = start_backend(data_dir)
    try:
        done = subprocess.run(
            [sys.executable, str(PROGRAM)],
            env=sdk_env(backend.base_url),
            cwd=data_dir.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        yield backend
    finally:
        backend.stop()


def run(backend: Backend, sql: str) -> Rows:
    with backend.client() as client:
        response = client.post(
            "/v2/query", json={"sql": sql, "min_timestamp": "2020-01-01T00:00:00Z", "limit": 10_000}
        )
    assert response.status_code == 200, response.text
    data: Rows = response.json()["data"]
    return data


def _between_ranks(value: float, values: list[float], p: float, slack: float = 0.15) -> bool:
    """An approximate p-quantile: between the exact quantiles at p - slack and p + slack."""
    ordered = sorted(values)
    n = len(ordered) - 1
    low, high = ordered[max(0, math.floor((p - slack) * n))], ordered[min(n, math.ceil((p + slack) * n))]
    return low - 1e-9 <= value <= high + 1e-9


def _spans(backend: Backend) -> Rows:
    rows = run(
        backend, "SELECT span_name, start_timestamp, duration, attributes FROM records WHERE kind = 'span'"
    )
    for row in rows:
        row["attributes"] = json.loads(row["attributes"])
    return rows


def _metric_rows(backend: Backend, name: str) -> Rows:
    return run(
        backend,
        f"SELECT * EXCLUDE (value) FROM metrics WHERE metric_name = '{name}' ORDER BY recorded_timestamp",
    )


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ---- the JSON key-exists operator ----


def key_exists(backend: Backend, rows: Rows) -> None:
    assert rows == [{"span_name": name, "n": len(durations)} for name, durations in sorted(ROUTES.items())]


def key_exists_negated(backend: Backend, rows: Rows) -> None:
    assert rows == [{"n": sum(len(d) for d in DB_STATEMENTS.values())}]


def key_exists_nested(backend: Backend, rows: Rows) -> None:
    assert rows == [{"span_name": "doing stuff"}]


def slow_endpoints(backend: Backend, rows: Rows) -> None:
    assert [r["span_name"] for r in rows] == ["POST /orders", "GET /users/{id}"]  # by p95, descending
    for row in rows:
        durations = [d * 1000 for d in ROUTES[row["span_name"]]]
        assert row["requests"] == len(durations)
        assert _between_ranks(row["p50_ms"], durations, 0.5)
        assert _between_ranks(row["p95_ms"], durations, 0.95)


def slow_queries(backend: Backend, rows: Rows) -> None:
    assert {r["query"]: r["runs"] for r in rows} == {q: len(d) for q, d in DB_STATEMENTS.items()}
    assert rows[0]["query"].startswith("INSERT")  # the slower statement first
    for row in rows:
        assert _between_ranks(row["p95_ms"], [d * 1000 for d in DB_STATEMENTS[row["query"]]], 0.95)


# ---- JSON functions, casts, HAVING ----


def llm_cost_per_day(backend: Backend, rows: Rows) -> None:
    sums: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for span in _spans(backend):
        attrs = span["attributes"]
        if "gen_ai.request.model" in attrs:
            day = span["start_timestamp"][:10] + "T00:00:00.000000Z"
            acc = sums[(day, attrs["gen_ai.request.model"])]
            acc[0] += attrs["operation.cost"]
            acc[1] += attrs["gen_ai.usage.input_tokens"]
            acc[2] += attrs["gen_ai.usage.output_tokens"]
    expected = sorted(sums.items(), key=lambda kv: (kv[0][0], kv[1][0]), reverse=True)
    assert rows == [
        {"day": day, "model": model, "cost_usd": c, "input_tokens": i, "output_tokens": o}
        for (day, model), (c, i, o) in expected
    ]
    assert {m for (_, m) in sums} == {"gpt-4o", "claude-sonnet"}


def cost_alert(backend: Backend, rows: Rows) -> None:
    total = sum(cost for _, cost, _, _ in LLM_CALLS)
    assert total > 50
    assert rows == [{"cost_usd": pytest.approx(total)}]


def having_filters_out(backend: Backend, rows: Rows) -> None:
    assert rows == []


def typed_getters(backend: Backend, rows: Rows) -> None:
    expected = sorted(LLM_CALLS, key=lambda call: call[1])
    assert rows == [
        {"model": model, "tokens": tokens, "cost": cost, "hit": model == "gpt-4o", "cost_as_str": None}
        for model, cost, tokens, _ in expected
    ]


def json_path_functions(backend: Backend, rows: Rows) -> None:
    assert len(rows) == 1
    row = rows[0]
    assert row["n_metrics"] == 1
    assert row["names"] == ["gen_ai.client.token.usage"]
    assert row["total"] == str(sum(sum(v) for v in TOKEN_USAGE.values()))
    assert json.loads(row["first_details"]) == {"gen_ai.token.type": "input"}
    assert row["has_second"] is True


def arrow_column_key(backend: Backend, rows: Rows) -> None:
    expected: Counter[tuple[str, str]] = Counter()
    for route, durations in ROUTES.items():
        method, path = route.split(" ", 1)
        expected[("http.request.method", method)] += len(durations)
        expected[("http.route", path)] += len(durations)
    assert rows == [{"k": k, "v": v, "n": n} for (k, v), n in sorted(expected.items())]


def unnest_json_array(backend: Backend, rows: Rows) -> None:
    reasons = Counter(r for model, *_ in LLM_CALLS for r in FINISH_REASONS[model])
    assert rows == [{"reason": reason, "n": n} for reason, n in sorted(reasons.items())]


def metrics_in_spans_total(backend: Backend, rows: Rows) -> None:
    assert rows == [{"total_amount": "3"}]  # counter.add(1); counter.add(2)


def metrics_in_spans_details(backend: Backend, rows: Rows) -> None:
    got = sorted((r["span_name"], r["span_metric_name"], r["total"], r["token_type"]) for r in rows)
    assert got == sorted(
        ("llm run", "gen_ai.client.token.usage", str(sum(amounts)), token_type)
        for token_type, amounts in TOKEN_USAGE.items()
    )


# ---- percentiles, COUNT(), extract ----


def percentile_forms(backend: Backend, rows: Rows) -> None:
    durations = [d for ds in ROUTES.values() for d in ds]
    (row,) = rows
    assert row["ordered_set"] == row["two_args"]
    assert _between_ranks(row["ordered_set"], durations, 0.5)
    assert _between_ranks(row["p90_desc"], durations, 0.1)  # 90% of the way down a descending order


def count_no_argument(backend: Backend, rows: Rows) -> None:
    names = Counter(r["span_name"] for r in run(backend, "SELECT span_name FROM records"))
    assert {r["span_name"]: r["count"] for r in rows} == names
    assert [r["count"] for r in rows] == sorted(names.values(), reverse=True)


def time_series_count(backend: Backend, rows: Rows) -> None:
    starts = [r["start_timestamp"] for r in run(backend, "SELECT start_timestamp FROM records")]
    hours = Counter(s[:13] + ":00:00.000000Z" for s in starts)
    assert {r["x"]: r["count"] for r in rows} == hours


def extract_forms(backend: Backend, rows: Rows) -> None:
    assert rows == [{"ms": 1500, "epoch_s": 3600.0, "two_minutes": 120.0, "spans_time": True}]


def histogram_template(backend: Backend, rows: Rows) -> None:
    assert len(rows) == 10
    # The docs' template puts the maximum at index num_buckets when the logarithm lands on it exactly, a
    # bucket it then leaves out; so the counts add up to every value, or every value but that one.
    assert sum(r["count"] for r in rows) in (
        sum(len(d) for d in ROUTES.values()),
        sum(len(d) for d in ROUTES.values()) - 1,
    )
    mids = [float(r["approx_amount"]) for r in rows]
    assert mids == sorted(mids)
    durations = [d for ds in ROUTES.values() for d in ds]
    assert min(durations) <= mids[0] and mids[-1] <= max(durations)


# ---- metrics: the value column and metric_* ----


def _explicit_buckets(m: dict[str, Any]) -> list[tuple[float, float, float]]:
    bounds, counts = m["histogram_explicit_bounds"], m["histogram_bucket_counts"]
    lo, hi = m["histogram_min"], m["histogram_max"]
    edges = [lo, *bounds, hi]
    return [(max(edges[i], lo), min(edges[i + 1], hi), float(c)) for i, c in enumerate(counts)]


def _exp_buckets(m: dict[str, Any]) -> list[tuple[float, float, float]]:
    base = 2.0 ** (2.0 ** -m["exp_histogram_scale"])
    lo, hi = m["histogram_min"], m["histogram_max"]
    out = [(0.0, 0.0, float(m["exp_histogram_zero_count"] or 0))]
    offset = m["exp_histogram_positive_bucket_counts_offset"]
    for i, c in enumerate(m["exp_histogram_positive_bucket_counts"] or []):
        out.append((max(base ** (offset + i), lo), min(base ** (offset + i + 1), hi), float(c)))
    return out


def _buckets(m: dict[str, Any]) -> list[tuple[float, float, float]]:
    if m["metric_type"] == "histogram":
        return _explicit_buckets(m)
    if m["metric_type"] == "exponential_histogram":
        return _exp_buckets(m)
    return [(m["scalar_value"], m["scalar_value"], 1.0)]


def _quantile(points: Rows, p: float) -> float:
    """The documented walk (sql_metrics.py), from the raw columns: sorted buckets, linear inside one."""
    buckets = sorted(b for m in points for b in _buckets(m) if b[2] > 0)
    target, cum = p * sum(b[2] for b in buckets), 0.0
    for lo, hi, n in buckets:
        if cum + n >= target:
            return lo + (hi - lo) * max(target - cum, 0.0) / n
        cum += n
    raise AssertionError("no bucket reached the target")


def per_row_functions(backend: Backend, rows: Rows) -> None:
    assert {r["metric_type"] for r in rows} == {"gauge", "sum", "histogram", "exponential_histogram"}
    for r in rows:
        if r["metric_type"] in ("histogram", "exponential_histogram"):
            expected = (r["histogram_count"], r["histogram_sum"], r["histogram_min"], r["histogram_max"])
        else:
            expected = (1, r["scalar_value"], r["scalar_value"], r["scalar_value"])
        assert (r["n"], r["total"], r["lo"], r["hi"]) == expected, r
        assert r["mean"] == pytest.approx(expected[1] / expected[0])


def summary_statistics(backend: Backend, rows: Rows) -> None:
    points = _metric_rows(backend, "compat.latency")
    by_hour: dict[str, Rows] = defaultdict(list)
    for m in points:
        by_hour[m["recorded_timestamp"][:13] + ":00:00.000000Z"].append(m)
    assert {r["x"] for r in rows} == set(by_hour)
    for row in rows:
        ms = by_hour[row["x"]]
        count, total = sum(m["histogram_count"] for m in ms), sum(m["histogram_sum"] for m in ms)
        assert (row["total_count"], row["total_sum"]) == (count, pytest.approx(total))
        assert row["average"] == pytest.approx(total / count)
        assert (row["min"], row["max"]) == (min(HISTOGRAM_VALUES), max(HISTOGRAM_VALUES))


def quantile_over_time(backend: Backend, rows: Rows) -> None:
    points = _metric_rows(backend, "compat.latency")
    assert {m["metric_type"] for m in points} == {"exponential_histogram"}
    by_bucket: dict[str, Rows] = defaultdict(list)
    for m in points:
        at = _ts(m["recorded_timestamp"])
        by_bucket[at.replace(minute=at.minute - at.minute % 5, second=0, microsecond=0).isoformat()].append(m)
    assert len(rows) == len(by_bucket)
    for row in rows:
        ms = by_bucket[_ts(row["x"]).isoformat()]
        assert row["p95"] == pytest.approx(_quantile(ms, 0.95))
        # And close to the true p95 of what was recorded: within one exponential bucket (scale >= 3).
        true = sorted(HISTOGRAM_VALUES)[math.ceil(0.95 * len(HISTOGRAM_VALUES)) - 1]
        assert true / 2 ** (2**-3) <= row["p95"] <= true


def quantiles_of_each_kind(backend: Backend, rows: Rows) -> None:
    assert [r["metric_name"] for r in rows] == ["compat.explicit", "compat.latency", "compat.temperature"]
    for row in rows:
        points = _metric_rows(backend, row["metric_name"])
        assert row["p50"] == pytest.approx(_quantile(points, 0.5))
        if row["metric_name"] == "compat.temperature":
            readings = sorted(m["scalar_value"] for m in points)
            assert row["p50"] == readings[math.ceil(0.5 * len(readings)) - 1]  # nearest rank
            assert (row["p0"], row["p100"]) == (readings[0], readings[-1])
        else:
            assert (row["p0"], row["p100"]) == (min(HISTOGRAM_VALUES), max(HISTOGRAM_VALUES))


def _increase(points: Rows) -> tuple[float | None, float | None]:
    """The documented increase and rate (sql_metrics.py) from scalar_value: cumulative points add their rise
    over the previous point of their series, a drop is a reset, a first point counts in full (its counter
    started inside the queried range, which begins in 2020 here)."""
    if points[0]["metric_type"] == "gauge":
        return None, None
    series: dict[tuple[str, str], Rows] = defaultdict(list)
    for m in points:
        series[(m["attributes"], m["start_timestamp"])].append(m)
    increase, starts = 0.0, []
    for ms in series.values():
        previous = None
        for m in ms:
            v = m["scalar_value"]
            increase += (
                v if previous is None or v < previous["scalar_value"] else v - previous["scalar_value"]
            )
            starts.append(_ts(m["start_timestamp"] if previous is None else previous["recorded_timestamp"]))
            previous = m
    seconds = (max(_ts(m["recorded_timestamp"]) for m in points) - min(starts)).total_seconds()
    return increase, increase / seconds


def increase_and_rate(backend: Backend, rows: Rows) -> None:
    assert [r["metric_name"] for r in rows] == ["compat.orders", "compat.queue", "compat.temperature"]
    for row in rows:
        points = _metric_rows(backend, row["metric_name"])
        increase, rate = _increase(points)
        assert row["increase"] == increase
        assert row["per_second"] == (pytest.approx(rate) if rate is not None else None)
    orders = rows[0]
    assert orders["increase"] == 15  # everything added: 3 + 4, 5, 1 + 1 + 1


def merged(backend: Backend, rows: Rows) -> None:
    for row in rows:
        points = _metric_rows(backend, row["metric_name"])
        if points[0]["metric_type"] in ("histogram", "exponential_histogram"):
            n, total = sum(m["histogram_count"] for m in points), sum(m["histogram_sum"] for m in points)
            hi = max(m["histogram_max"] for m in points)
        else:
            n, total = len(points), sum(m["scalar_value"] for m in points)
            hi = max(m["scalar_value"] for m in points)
        assert (row["n"], row["total"], row["hi"]) == (n, pytest.approx(total), hi), row


# ---- catalog, names, spellings ----


def show_columns(backend: Backend, rows: Rows) -> None:
    assert [r["column_name"] for r in rows] == [c.name for c in RECORDS]
    assert {tuple(r) for r in rows} == {
        ("table_catalog", "table_schema", "table_name", "column_name", "data_type", "is_nullable")
    }
    by_name = {r["column_name"]: r for r in rows}
    assert by_name["span_name"]["is_nullable"] == "NO" and by_name["attributes"]["is_nullable"] == "YES"
    assert by_name["start_timestamp"]["data_type"] == 'Timestamp(Microsecond, Some("UTC"))'
    assert by_name["level"]["data_type"] == "Int32" and by_name["span_name"]["data_type"] == "Utf8"
    assert {r["table_name"] for r in rows} == {"records"}


def information_schema(backend: Backend, rows: Rows) -> None:
    assert [r["column_name"] for r in rows] == [*(c.name for c in METRICS), "value"]
    # What the catalog says is what a query returns.
    with backend.client() as client:
        answer = client.post(
            "/v2/query",
            json={"sql": "SELECT * FROM metrics LIMIT 1", "min_timestamp": "2020-01-01T00:00:00Z"},
        )
    fields = {f["name"]: f for f in answer.json()["schema"]["fields"]}
    for row in rows:
        if isinstance(fields[row["column_name"]]["data_type"], str):
            assert row["data_type"] == fields[row["column_name"]]["data_type"], row


def datafusion_names(backend: Backend, rows: Rows) -> None:
    durations = [d for ds in ROUTES.values() for d in ds]
    assert rows == [
        {
            "count(*)": len(durations),
            "sum(records.duration)": pytest.approx(sum(durations)),
            "count(DISTINCT records.span_name)": len(ROUTES),
        }
    ]


def spellings(backend: Backend, rows: Rows) -> None:
    # metric_type: OTLP's names of the data kinds (Logfire's docs filter on 'exponential_histogram');
    # temporality: the OTLP enum's name, lower case, for sums and histograms; gauges have none.
    assert rows == [
        {
            "metric_name": "compat.explicit",
            "metric_type": "histogram",
            "aggregation_temporality": "cumulative",
            "is_monotonic": None,
        },
        {
            "metric_name": "compat.latency",
            "metric_type": "exponential_histogram",
            "aggregation_temporality": "cumulative",
            "is_monotonic": None,
        },
        {
            "metric_name": "compat.orders",
            "metric_type": "sum",
            "aggregation_temporality": "cumulative",
            "is_monotonic": True,
        },
        {
            "metric_name": "compat.queue",
            "metric_type": "sum",
            "aggregation_temporality": "cumulative",
            "is_monotonic": False,
        },
        {
            "metric_name": "compat.temperature",
            "metric_type": "gauge",
            "aggregation_temporality": None,
            "is_monotonic": None,
        },
    ]


def single_string_tags(backend: Backend, rows: Rows) -> None:
    assert rows == [
        {"span_name": "listed tags", "kind": "log", "tags": ["a", "b"]},
        {"span_name": "single tag log", "kind": "log", "tags": ["single"]},
        {"span_name": "single tag span", "kind": "span", "tags": ["single"]},
    ]


SDK_EXPECTATIONS: dict[str, Callable[[Backend, Rows], None]] = {
    "key-exists operator": key_exists,
    "key-exists operator negated and combined": key_exists_negated,
    "key-exists operator on a nested object": key_exists_nested,
    "docs cookbook slow endpoint percentiles": slow_endpoints,
    "docs cookbook slow queries": slow_queries,
    "docs cookbook LLM cost per day and model": llm_cost_per_day,
    "docs cookbook cost alert, HAVING without GROUP BY": cost_alert,
    "HAVING without GROUP BY that filters the row out": having_filters_out,
    "typed JSON getters": typed_getters,
    "JSON path functions": json_path_functions,
    "arrow with a column as key": arrow_column_key,
    "unnest of a JSON array": unnest_json_array,
    "docs metrics in spans, one total": metrics_in_spans_total,
    "docs metrics in spans, unnested details": metrics_in_spans_details,
    "both percentile forms agree": percentile_forms,
    "docs COUNT() with no argument": count_no_argument,
    "docs time series with count()": time_series_count,
    "extract forms": extract_forms,
    "docs histogram template": histogram_template,
    "metric per-row functions agree with the columns": per_row_functions,
    "docs metric summary statistics": summary_statistics,
    "docs metric quantile over time": quantile_over_time,
    "metric quantiles of each kind": quantiles_of_each_kind,
    "metric increase and rate of counters": increase_and_rate,
    "metric merge": merged,
    "show columns": show_columns,
    "information_schema columns": information_schema,
    "DataFusion names of unaliased expressions": datafusion_names,
    "metric type and temporality spellings": spellings,
    "single-string tags on spans and logs": single_string_tags,
}


@pytest.mark.parametrize("name", list(SDK_EXPECTATIONS))
def test_corpus_query_on_sdk_telemetry(sent: Backend, name: str) -> None:
    SDK_EXPECTATIONS[name](sent, run(sent, corpus()[name]))
