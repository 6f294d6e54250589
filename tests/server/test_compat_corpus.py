"""Every query of shared/compat/queries.sql, sent unchanged, returns the answer computed from the dataset."""

from __future__ import annotations

import itertools
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from _backend import Backend
from _dataset import LEVELS, Dataset

# A copy of the project's compat corpus (shared/compat/queries.sql), kept byte for byte.
CORPUS = Path(__file__).parents[1] / "fixtures" / "compat" / "queries.sql"


def corpus() -> dict[str, str]:
    text = CORPUS.read_text()
    return {name.strip(): sql.strip() for name, sql in re.findall(r"-- name: (.*?)\n(.*?;)", text, re.S)}


Rows = list[dict[str, Any]]


def _run(backend: Backend, sql: str, now: datetime) -> Rows:
    with backend.client() as client:
        response = client.post(
            "/v2/query",
            json={"sql": sql, "min_timestamp": (now - timedelta(days=8)).isoformat(), "limit": 10_000},
        )
    assert response.status_code == 200, response.text
    data: Rows = response.json()["data"]
    return data


def _iso(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _attrs(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(r["attributes"])
    return out


def _is_sorted_desc(values: list[Any]) -> bool:
    return all(a >= b for a, b in itertools.pairwise(values))


def latest_records(ds: Dataset, rows: Rows) -> None:
    expected = sorted(ds.visible_records, key=lambda r: r["start_timestamp"], reverse=True)[:20]
    assert rows == [
        {
            "start_timestamp": _iso(r["start_timestamp"]),
            "span_name": r["span_name"],
            "message": r["message"],
            "level": r["level"],
            "duration": r["duration"],
        }
        for r in expected
    ]


def json_text_attribute(ds: Dataset, rows: Rows) -> None:
    expected = Counter(_attrs(r)["http.method"] for r in ds.visible_records if "http.method" in _attrs(r))
    assert {row["method"]: row["n"] for row in rows} == expected
    assert _is_sorted_desc([row["n"] for row in rows])


def chained_json(ds: Dataset, rows: Rows) -> None:
    systems = [
        _attrs(r)["gen_ai"]["system"] for r in ds.visible_records if isinstance(_attrs(r).get("gen_ai"), dict)
    ]
    assert len(systems) > 10
    assert len(rows) == 10
    assert {row["system"] for row in rows} <= {"openai", "anthropic"}


def json_cast(ds: Dataset, rows: Rows) -> None:
    codes = [
        int(_attrs(r)["http.response.status_code"])
        for r in ds.visible_records
        if "http.response.status_code" in _attrs(r)
    ]
    assert rows[0]["avg_status"] == pytest.approx(sum(codes) / len(codes))


def level_equals_name(ds: Dataset, rows: Rows) -> None:
    assert rows == [{"errors": sum(r["level"] == LEVELS["error"] for r in ds.visible_records)}]


def level_above_name(ds: Dataset, rows: Rows) -> None:
    expected = Counter(r["span_name"] for r in ds.visible_records if r["level"] > LEVELS["info"])
    assert {row["span_name"]: row["n"] for row in rows} == expected
    assert _is_sorted_desc([row["n"] for row in rows])


def level_name_num(ds: Dataset, rows: Rows) -> None:
    names = {v: k for k, v in LEVELS.items()}
    expected = Counter(names[r["level"]] for r in ds.visible_records if r["level"] >= LEVELS["debug"])
    assert rows == [{"lvl": name, "n": n} for name, n in sorted(expected.items())]
    assert "trace" not in {row["lvl"] for row in rows}


def tags(ds: Dataset, rows: Rows) -> None:
    assert rows == [{"n": sum("demo" in r["tags"] for r in ds.visible_records)}]


def time_bucket(ds: Dataset, rows: Rows) -> None:
    hours = Counter(
        r["start_timestamp"].replace(minute=0, second=0, microsecond=0) for r in ds.visible_records
    )
    assert rows == [{"bucket": _iso(h), "n": n} for h, n in sorted(hours.items())]


def date_trunc(ds: Dataset, rows: Rows) -> None:
    by_minute: dict[datetime, list[float]] = defaultdict(list)
    for r in ds.visible_records:
        if r["kind"] == "span":
            by_minute[r["start_timestamp"].replace(second=0, microsecond=0)].append(r["duration"])
    assert [row["minute"] for row in rows] == [_iso(m) for m in sorted(by_minute)]
    for row, m in zip(rows, sorted(by_minute), strict=True):
        assert row["avg_duration"] == pytest.approx(sum(by_minute[m]) / len(by_minute[m]))


def approx_percentile(ds: Dataset, rows: Rows) -> None:
    durations: dict[str, list[float]] = defaultdict(list)
    for r in ds.visible_records:
        if r["kind"] == "span":
            durations[r["span_name"]].append(r["duration"])
    assert {row["span_name"] for row in rows} == set(durations)
    assert _is_sorted_desc([row["p95"] for row in rows])
    for row in rows:
        values = sorted(durations[row["span_name"]])
        # An approximate 95th percentile: above most values, never above the largest.
        assert values[math.floor(0.8 * (len(values) - 1))] <= row["p95"] <= values[-1]


def relative_time(ds: Dataset, rows: Rows, *, before: datetime, after: datetime) -> None:
    def recent(at: datetime) -> int:
        return sum(r["start_timestamp"] > at - timedelta(minutes=5) for r in ds.visible_records)

    # The server's now() lies between the moments before and after the request.
    assert recent(after) <= rows[0]["recent"] <= recent(before)


def exceptions(ds: Dataset, rows: Rows) -> None:
    expected = Counter(
        (r["exception_type"], r["exception_message"]) for r in ds.visible_records if r["is_exception"]
    )
    assert {(row["exception_type"], row["exception_message"]): row["n"] for row in rows} == expected
    assert _is_sorted_desc([row["n"] for row in rows])


def epoch(ds: Dataset, rows: Rows) -> None:
    first = min(r["start_timestamp"] for r in ds.visible_records)
    assert rows == [{"epoch": pytest.approx(first.timestamp(), abs=1e-6)}]


def trace_tree(ds: Dataset, rows: Rows) -> None:
    latest = max(ds.visible_records, key=lambda r: r["start_timestamp"])
    spans = sorted(
        (r for r in ds.visible_records if r["trace_id"] == latest["trace_id"]),
        key=lambda r: r["start_timestamp"],
    )
    assert [(row["span_id"], row["parent_span_id"]) for row in rows] == [
        (r["span_id"], r["parent_span_id"]) for r in spans
    ]
    assert rows[0]["parent_span_id"] is None


def services(ds: Dataset, rows: Rows) -> None:
    expected = Counter((r["service_name"], r["deployment_environment"]) for r in ds.visible_records)
    assert {(row["service_name"], row["deployment_environment"]): row["n"] for row in rows} == expected
    assert None in {row["deployment_environment"] for row in rows}


def http_columns(ds: Dataset, rows: Rows) -> None:
    expected = Counter(
        (r["http_route"], r["http_method"], r["http_response_status_code"])
        for r in ds.visible_records
        if r["http_route"] is not None
    )
    got = {
        (row["http_route"], row["http_method"], row["http_response_status_code"]): row["n"] for row in rows
    }
    assert got == expected


def metrics_by_name(ds: Dataset, rows: Rows) -> None:
    expected = Counter((m["metric_name"], m["metric_type"], m["unit"]) for m in ds.metrics)
    assert rows == [
        {"metric_name": name, "metric_type": mtype, "unit": unit, "n": n}
        for (name, mtype, unit), n in sorted(expected.items())
    ]
    assert {row["metric_type"] for row in rows} == {"gauge", "sum", "histogram", "exponential_histogram"}


def metric_values(ds: Dataset, rows: Rows) -> None:
    sums: dict[tuple[str, str], list[float]] = defaultdict(list)
    for m in ds.metrics:
        if m["scalar_value"] is not None:
            at = m["recorded_timestamp"]
            bucket = at.replace(minute=at.minute - at.minute % 10, second=0, microsecond=0)
            sums[(_iso(bucket), m["metric_name"])].append(m["scalar_value"])
    got = {(row["bucket"], row["metric_name"]): row["v"] for row in rows}
    assert got == {k: pytest.approx(sum(v) / len(v)) for k, v in sums.items()}
    assert [row["bucket"] for row in rows] == sorted(row["bucket"] for row in rows)


EXPECTATIONS: dict[str, Callable[..., None]] = {
    "latest records": latest_records,
    "JSON text attribute with ->>": json_text_attribute,
    "chained JSON access": chained_json,
    "JSON value cast to a number": json_cast,
    "level compared by name": level_equals_name,
    "level ordered by name": level_above_name,
    "level_name and level_num": level_name_num,
    "tags": tags,
    "time_bucket": time_bucket,
    "date_trunc": date_trunc,
    "approximate percentile, ordered-set form": approx_percentile,
    "relative time": relative_time,
    "exceptions": exceptions,
    "epoch extraction": epoch,
    "one trace as a tree": trace_tree,
    "services": services,
    "HTTP columns": http_columns,
    "metrics by name": metrics_by_name,
    "metric values over time": metric_values,
}


def test_every_corpus_query_has_an_expectation() -> None:
    # The rest are checked on telemetry the official SDK sent (test_compat_sdk.py).
    from test_compat_sdk import SDK_EXPECTATIONS

    assert set(corpus()) == set(EXPECTATIONS) | set(SDK_EXPECTATIONS)
    assert not set(EXPECTATIONS) & set(SDK_EXPECTATIONS)


@pytest.mark.parametrize("name", list(EXPECTATIONS))
def test_corpus_query_returns_the_expected_rows(backend: Backend, name: str) -> None:
    assert backend.dataset is not None
    sql = corpus()[name]
    before = datetime.now(timezone.utc)
    rows = _run(backend, sql, backend.dataset.now)
    after = datetime.now(timezone.utc)
    check = EXPECTATIONS[name]
    if check is relative_time:
        relative_time(backend.dataset, rows, before=before, after=after)
    else:
        check(backend.dataset, rows)


def test_corpus_runs_with_a_time_zone_set(backend: Backend) -> None:
    assert backend.dataset is not None
    with backend.client() as client:
        for name, sql in corpus().items():
            body = {
                "sql": sql,
                "min_timestamp": (backend.dataset.now - timedelta(days=8)).isoformat(),
                "timezone": "America/New_York",
            }
            response = client.post("/v2/query", json=body)
            assert response.status_code == 200, (name, response.text)
