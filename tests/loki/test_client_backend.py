"""LokiClient, LokiTable and %%logql against the local backend's Loki API over loopback (real HTTP)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import polars as pl
import pytest
from _loki import push_json

from logfire_notebook import LokiClient, LokiTable
from logfire_notebook._exceptions import QueryError
from logfire_notebook._loki.ops import PARQUET

MINUTE = 60 * 1_000_000_000


@pytest.fixture
def pushed(loki: httpx.Client) -> int:
    """120 entries over the last hour: two services, levels as a label on one and as metadata on the other.

    Gives the time they were pushed relative to: taken here, not when the module was collected, because a
    full run reaches these tests minutes later and windows such as `now-20m` would slide past the entries.
    """
    now_ns = time.time_ns()
    api = [
        [str(now_ns - (i + 1) * MINUTE // 4), f'{{"msg": "req {i}", "status": {200 + (i % 2) * 300}}}']
        for i in range(80)
    ]
    web = [[str(now_ns - (i + 1) * MINUTE), f"level=warn msg=slow{i}", {"trace": f"t{i}"}] for i in range(40)]
    response = push_json(
        loki,
        [
            {"stream": {"service_name": "api", "level": "info"}, "values": api},
            {"stream": {"service_name": "web"}, "values": web},
        ],
    )
    assert response.status_code == 204, response.text
    return now_ns


@pytest.fixture
def client(loki_backend: Any, tenant: str) -> Iterator[LokiClient]:
    with LokiClient(loki_backend.base_url, org_id=tenant) as c:
        yield c


def test_log_query_rows_labels_and_levels(client: LokiClient, pushed: int) -> None:
    df = client.query_range('{service_name=~"api|web"}', since="2h", limit=500)
    assert df.height == 120
    stamps = df["timestamp"].cast(pl.Int64).to_list()
    assert stamps == sorted(stamps, reverse=True)
    levels = dict(df.group_by("level").len().iter_rows())
    assert levels.get("info") == 80  # a stream label


def test_filters_and_parsers_run_on_the_server(client: LokiClient, pushed: int) -> None:
    df = client.query_range('{service_name="api"} | json | status >= 500', since="2h", limit=500)
    assert df.height == 40 and all('"status": 500' in line for line in df["line"].to_list())


def test_metric_query_gives_points(client: LokiClient, pushed: int) -> None:
    df = client.query_range(
        'sum by (service_name) (count_over_time({service_name=~".+"}[10m]))', since="1h", step="10m"
    )
    assert set(df.columns) == {"timestamp", "value", "labels"}
    assert df["value"].sum() > 0


def test_labels_values_and_paging(client: LokiClient, pushed: int) -> None:
    assert "service_name" in client.labels(since="2h")
    assert client.label_values("service_name", since="2h") == ["api", "web"]
    everything = client.query_all('{service_name="api"}', since="2h", batch=15)
    assert everything.height == 80 and everything["line"].n_unique() == 80


def test_a_parse_error_is_lokis_message_with_its_position(client: LokiClient) -> None:
    with pytest.raises(QueryError) as info:
        client.query_range("{service_name=api}", since="1h")
    assert info.value.position is not None and "parse error" in str(info.value)


def test_a_vector_match_loki_refuses_is_a_query_error_asked_once(
    loki_backend: Any, tenant: str, pushed: int
) -> None:
    # Loki answers this with 500 (its engine's error): still the query's fault, so no retries.
    sent: list[httpx.Request] = []
    query = (  # two statuses on the left for one service on the right
        'sum by (service_name, status) (count_over_time({service_name="api"} | json [1h])) '
        '/ on(service_name) sum by (service_name) (count_over_time({service_name="api"}[1h]))'
    )
    with (
        LokiClient(loki_backend.base_url, org_id=tenant, event_hooks={"request": [sent.append]}) as client,
        pytest.raises(QueryError) as info,
    ):
        client.query(query)
    assert "many-to-one matching must be explicit" in str(info.value)
    assert len(sent) == 1


def test_table_shows_rows_counts_the_timeline_and_narrows(
    loki_backend: Any, tenant: str, pushed: int
) -> None:
    table = LokiTable('{service_name=~"api|web"}', since="2h", addr=loki_backend.base_url, org_id=tenant)
    try:
        assert table.df.height == 120 and table.status["state"] == "ready"
        assert sum(table.timeline["histogram"]["counts"]) == 120  # counted by Loki, over the whole range
        table.narrow("service_name", "web")
        assert table.query == '{service_name="web", service_name=~"api|web"}'
        assert table.df.height == 40
        table.min_timestamp = "now-20m"
        assert 15 <= table.df.height <= 21
        # What a chip click in the browser sets: the kernel narrows and re-runs.
        table.chip_click = {"label": "level", "value": "none", "click": 1}
        assert table.query.startswith('{level="none", service_name="web"')
        assert table.df.height == 0
    finally:
        table.close()


def test_the_tables_timeline_is_split_by_level_and_adds_up_to_every_entry(
    loki_backend: Any, tenant: str, pushed: int
) -> None:
    # The api stream's level is a label; half of web's entries carry a detected_level in their metadata.
    extra = [[str(pushed - (i + 1) * MINUTE), f"oops {i}", {"detected_level": "error"}] for i in range(10)]
    response = httpx.post(
        f"{loki_backend.base_url}/loki/api/v1/push",
        json={"streams": [{"stream": {"service_name": "web"}, "values": extra}]},
        headers={"X-Scope-OrgID": tenant},
    )
    assert response.status_code == 204, response.text
    table = LokiTable('{service_name=~"api|web"}', since="2h", addr=loki_backend.base_url, org_id=tenant)
    try:
        histogram = table.timeline["histogram"]
        levels = histogram["levels"]
        # web's other lines say level=warn in logfmt: the backend detects it, as Loki 3 does.
        assert {name: sum(counts) for name, counts in levels.items()} == {
            "info": 80,
            "error": 10,
            "warn": 40,
        }
        # Each bar's levels stack up to its count.
        assert [sum(col) for col in zip(*levels.values(), strict=True)] == histogram["counts"]
    finally:
        table.close()


def test_a_metric_query_opens_on_its_chart_and_its_timeline_counts_its_points(
    loki_backend: Any, tenant: str, pushed: int
) -> None:
    logql = 'sum by (service_name) (count_over_time({service_name=~"api|web"} [10m]))'
    table = LokiTable(logql, since="2h", addr=loki_backend.base_url, org_id=tenant)
    try:
        assert table.view_as == "chart" and table.status["state"] == "ready"
        points = table.df.height
        assert points > 0 and set(table.df.columns) == {"timestamp", "value", "labels"}
        histogram = table.timeline["histogram"]
        assert sum(histogram["counts"]) == points
        assert (
            table.timeline["note"] == "The bars count the series' points; the Chart view draws their values."
        )
    finally:
        table.close()
    logs = LokiTable('{service_name="api"}', since="2h", addr=loki_backend.base_url, org_id=tenant)
    logs.close()
    assert logs.view_as == "table"


def test_parquet_answer_has_lokis_columns_and_the_same_entries_as_json(
    loki: httpx.Client, pushed: int
) -> None:
    import io

    import pyarrow.parquet as pq

    params = {"query": '{service_name=~"api|web"}', "start": str(pushed - 2 * 60 * MINUTE), "limit": "500"}
    answer = loki.get("/loki/api/v1/query_range", params=params, headers={"accept": PARQUET})
    assert answer.headers["content-type"] == PARQUET
    table = pq.read_table(io.BytesIO(answer.content))
    assert table.column_names == ["timestamp", "labels", "line"]
    assert str(table.schema.field("timestamp").type) == "timestamp[ns, tz=UTC]"
    folded = loki.get("/loki/api/v1/query_range", params=params).json()["data"]["result"]
    as_json = sorted(
        (int(ts), line, tuple(sorted(s["stream"].items()))) for s in folded for ts, line in s["values"]
    )
    as_parquet = sorted(
        (ts.value, line, tuple(sorted(labels)))
        for ts, line, labels in zip(
            table.column("timestamp"),
            table.column("line").to_pylist(),
            table.column("labels").to_pylist(),
            strict=True,
        )
    )
    assert len(as_parquet) == 120 and as_parquet == as_json


def test_parquet_for_a_metric_query_gives_millisecond_points(loki: httpx.Client, pushed: int) -> None:
    import io

    import pyarrow.parquet as pq

    params = {
        "query": 'sum by (service_name) (count_over_time({service_name=~".+"}[10m]))',
        "start": str(pushed - 60 * MINUTE),
        "step": "600",
    }
    table = pq.read_table(
        io.BytesIO(loki.get("/loki/api/v1/query_range", params=params, headers={"accept": PARQUET}).content)
    )
    assert table.column_names == ["timestamp", "labels", "value"]
    assert str(table.schema.field("timestamp").type) == "timestamp[ms, tz=UTC]"
    assert sum(table.column("value").to_pylist()) == 120


def test_client_reads_a_parquet_answer_like_the_json_one(loki_backend: Any, tenant: str, pushed: int) -> None:
    seen: list[str] = []
    hooks = {"response": [lambda r: seen.append(r.headers.get("content-type", ""))]}
    with (
        LokiClient(loki_backend.base_url, org_id=tenant, parquet=True, event_hooks=hooks) as fast,
        LokiClient(loki_backend.base_url, org_id=tenant) as plain,
    ):
        got = fast.query_range('{service_name="web"} |= "slow1"', since="2h", limit=500, direction="forward")
        want = plain.query_range(
            '{service_name="web"} |= "slow1"', since="2h", limit=500, direction="forward"
        )
    assert seen == [PARQUET]
    assert got.height == want.height == 11
    assert got["timestamp"].to_list() == want["timestamp"].to_list()
    assert got["line"].to_list() == want["line"].to_list()
    assert got["level"].to_list() == want["level"].to_list()
    # Loki's Parquet folds the metadata into the labels: the same values, in one map.
    assert got["labels"].to_list() == [
        {**labels, **metadata}
        for labels, metadata in zip(
            want["labels"].to_list(), want["structured_metadata"].to_list(), strict=True
        )
    ]
