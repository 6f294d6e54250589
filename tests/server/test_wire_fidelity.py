"""What Logfire's query API does beyond the rows: explain plans, gzip, errors with their position, the
official SDK's client reading our answers."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from _backend import Backend, start_backend

from logfire_notebook import LogfireClient, QueryError

AGGREGATE = "SELECT span_name, count(*) AS n FROM records GROUP BY span_name ORDER BY n DESC, span_name"


def _since(backend: Backend) -> str:
    assert backend.dataset is not None
    return (backend.dataset.now - timedelta(days=8)).isoformat()


def _post(backend: Backend, body: dict[str, Any], **headers: str) -> httpx.Response:
    with backend.client() as client:
        return client.post("/v2/query", json=body, headers=headers)


# ---- explain ----


def test_explain_adds_the_plans_to_the_json_answer(backend: Backend) -> None:
    plain = _post(backend, {"sql": AGGREGATE, "min_timestamp": _since(backend)}).json()
    explained = _post(backend, {"sql": AGGREGATE, "min_timestamp": _since(backend), "explain": True}).json()
    assert set(plain) == {"schema", "data"}
    assert set(explained) == {"schema", "data", "logical_plan", "physical_plan", "physical_plan_with_metrics"}
    assert explained["data"] == plain["data"]
    assert "AGGREGATE" in explained["physical_plan"].upper()
    assert (
        "records" in explained["physical_plan_with_metrics"]
        or "Scan" in explained["physical_plan_with_metrics"]
    )
    # The plan with metrics counts the rows it read: as many as the window holds.
    assert backend.dataset is not None
    assert str(len(backend.dataset.visible_records)) in explained["physical_plan_with_metrics"].replace(
        ",", ""
    )


def test_explain_in_ndjson_is_an_explain_message_and_the_end_carries_the_metrics(backend: Backend) -> None:
    body = {"sql": AGGREGATE, "min_timestamp": _since(backend), "explain": True}
    response = _post(backend, body, Accept="application/x-ndjson")
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["type"] for line in lines] == ["schema", "explain", "data", "end"]
    assert set(lines[1]) == {"type", "logical_plan", "physical_plan"}
    assert lines[3]["row_count"] == len(lines[2]["rows"]) and lines[3]["physical_plan_with_metrics"]


def test_explain_must_be_a_boolean(backend: Backend) -> None:
    response = _post(backend, {"sql": "SELECT 1", "min_timestamp": _since(backend), "explain": "yes"})
    assert response.status_code == 422 and "explain" in response.json()["detail"]


# ---- gzip ----


@pytest.fixture(scope="module")
def gzip_always(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[Backend]:
    """A second server over a copy of the standard data, told to gzip for every client."""
    import shutil

    data_dir = tmp_path_factory.mktemp("gzip") / "data"
    shutil.copytree(backend.data_dir, data_dir, ignore=shutil.ignore_patterns("*.wal"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LOGFIRE_NOTEBOOK_GZIP", "always")
        server = start_backend(Path(data_dir))
    server.dataset = backend.dataset
    yield server
    server.stop()


def _raw(backend: Backend, body: dict[str, Any], encoding: str) -> httpx.Response:
    # No automatic decoding: the test looks at the bytes on the wire.
    with httpx.Client(base_url=backend.base_url, timeout=60) as client:
        request = client.build_request(
            "POST",
            "/v2/query",
            json=body,
            headers={"Authorization": backend.token, "Accept-Encoding": encoding},
        )
        return client.send(request, stream=False)


def test_loopback_answers_are_not_gzipped_where_it_does_not_pay(backend: Backend) -> None:
    body = {"sql": "SELECT * FROM records", "min_timestamp": _since(backend), "limit": 2000}
    response = _raw(backend, body, "gzip")
    assert "content-encoding" not in response.headers
    assert len(response.json()["data"]) == 2000


def test_gzip_when_asked_for_is_smaller_and_decodes_to_the_same_answer(
    backend: Backend, gzip_always: Backend
) -> None:
    body = {"sql": "SELECT * FROM records ORDER BY span_id", "min_timestamp": _since(backend), "limit": 2000}
    plain = _raw(backend, body, "identity").content
    with (
        httpx.Client(base_url=gzip_always.base_url, timeout=60) as client,
        client.stream(
            "POST",
            "/v2/query",
            json=body,
            headers={"Authorization": gzip_always.token, "Accept-Encoding": "gzip"},
        ) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        wire = b"".join(response.iter_raw())
    assert len(wire) * 4 < len(plain)
    assert gzip.decompress(wire) == plain
    # Without Accept-Encoding: gzip the same server answers plain bytes.
    assert "content-encoding" not in _raw(gzip_always, body, "identity").headers


# ---- errors ----


def test_failing_query_names_line_and_column_of_the_users_sql(backend: Backend) -> None:
    sql = "SELECT span_name,\n       count(*) AS n\nFROM records\nWHERE level >\nGROUP BY span_name"
    response = _post(backend, {"sql": sql, "min_timestamp": _since(backend)})
    assert response.status_code == 400
    assert response.json()["detail"] == 'Parser Error: syntax error at or near "GROUP" at Line: 5, Column: 1'


def test_position_refers_to_the_users_text_even_after_a_dialect_rewrite(backend: Backend) -> None:
    # Line 1 is rewritten (the ? operator); the error is on line 2, whose column must still be right.
    sql = "SELECT count(*) FROM records WHERE attributes ? 'http.route'\n  AND duration > > 1"
    detail = _post(backend, {"sql": sql, "min_timestamp": _since(backend)}).json()["detail"]
    assert detail == 'Parser Error: syntax error at or near ">" at Line: 2, Column: 18'
    # A line the dialect rewrote gets no position rather than a wrong one.
    sql = "SELECT count(*) FROM records\nWHERE attributes ? 'http.route' AND duration > > 1"
    detail = _post(backend, {"sql": sql, "min_timestamp": _since(backend)}).json()["detail"]
    assert detail == 'Parser Error: syntax error at or near ">"'


def test_client_shows_the_position_of_a_failing_query(backend: Backend) -> None:
    with LogfireClient(backend.token, backend.base_url) as client, pytest.raises(QueryError) as caught:
        client.query_json_rows("SELECT 1 +\nFROM records", since="1d")
    assert caught.value.position == (2, 1)
    assert "(line 2, column 1)" in str(caught.value)


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT span_name, nosuch(duration) FROM records GROUP BY span_name",
        "SELECT span_name, sum(nosuch(duration)) FROM records GROUP BY span_name ORDER BY 2 DESC",
        "SELECT metric_quantile(2, value) FROM metrics GROUP BY metric_name ORDER BY 1",
        "SELECT json_get_str() FROM records",
        "SHOW COLUMNS FROM nowhere",
        "SELECT * FROM records WHERE attributes ? ",
    ],
)
@pytest.mark.parametrize("accept", ["application/json", "text/csv", "application/x-ndjson"])
def test_a_failing_query_is_400_with_detail_in_every_format(backend: Backend, sql: str, accept: str) -> None:
    response = _post(backend, {"sql": sql, "min_timestamp": _since(backend), "limit": 200}, Accept=accept)
    assert response.status_code == 400, response.text
    assert response.json()["detail"] and "Traceback" not in response.text


# ---- the official SDK's client ----


def test_official_query_client_reads_new_dialect_answers(backend: Backend) -> None:
    from logfire.query_client import LogfireQueryClient

    assert backend.dataset is not None
    with LogfireQueryClient(read_token=backend.token, base_url=backend.base_url) as client:
        rows = client.query_json_rows(
            "SELECT count(*) FROM records WHERE attributes ? 'http.method'",
            min_timestamp=backend.dataset.now - timedelta(days=8),
        )
    expected = sum("http.method" in json.loads(r["attributes"]) for r in backend.dataset.visible_records)
    assert rows["rows"] == [{"count(*)": expected}]
