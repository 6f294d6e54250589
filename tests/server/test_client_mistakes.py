"""Client mistakes on the query API are 4xx with one sentence (never 500, which clients retry), and the
connection and the server stay usable after them."""

from __future__ import annotations

import json

import httpx
import pytest
from _backend import Backend

WINDOW = {"min_timestamp": "2020-01-01T00:00:00Z"}


def _post(client: httpx.Client, body: bytes) -> httpx.Response:
    return client.post("/v2/query", content=body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        (
            json.dumps({"sql": "SELECT 1", "min_timestamp": "9999-12-31T23:59:59-14:00"}).encode(),
            422,
            "out of range",
        ),
        (
            json.dumps({"sql": "SELECT 1", "min_timestamp": "0001-01-01T00:00:00+14:00"}).encode(),
            422,
            "out of range",
        ),
        (b'{"sql": "SELECT \'\\ud800\' AS x", "min_timestamp": "2020-01-01T00:00:00Z"}', 422, "surrogate"),
        (b'{"sql": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 422, "nests too deeply"),
        (
            json.dumps(
                {
                    "sql": "SELECT level, span_name FROM records GROUP BY level ORDER BY level",
                    "limit": 100,
                    **WINDOW,
                }
            ).encode(),
            400,
            "GROUP BY",
        ),
        (
            json.dumps({"sql": "SELECT " + "(" * 5000 + "1" + ")" * 5000 + " AS x", **WINDOW}).encode(),
            400,
            "",
        ),
        (
            json.dumps({"sql": "SELECT 1 AS x", "padding": "x" * (2 * 1024 * 1024), **WINDOW}).encode(),
            413,
            "larger than",
        ),
    ],
)
def test_a_client_mistake_is_a_4xx_sentence_and_the_connection_stays_usable(
    backend: Backend, body: bytes, status: int, words: str
) -> None:
    with backend.client() as client:
        response = _post(client, body)
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str) and words in detail and "Traceback" not in detail
        # The same connection answers the next query.
        again = client.post("/v2/query", json={"sql": "SELECT 1 AS one", **WINDOW})
        assert again.json()["data"] == [{"one": 1}]


def test_an_unknown_function_in_a_group_by_query_is_a_400_like_anywhere_else(backend: Backend) -> None:
    with backend.client() as client:
        for sql in (
            "SELECT span_name, no_such_rate(level) AS r FROM records GROUP BY span_name ORDER BY span_name",
            "SELECT no_such_rate(level) AS r FROM records",
        ):
            response = client.post("/v2/query", json={"sql": sql, "limit": 100, **WINDOW})
            assert response.status_code == 400, response.text
            assert "no_such_rate" in response.json()["detail"]


@pytest.mark.parametrize(
    "accept", ["application/json", "application/x-ndjson", "text/csv", "application/vnd.apache.arrow.stream"]
)
def test_a_date_past_python_s_years_is_answered_in_every_format(backend: Backend, accept: str) -> None:
    # DuckDB's infinite dates made the JSON renderer raise OverflowError: a 500 "bug of the server".
    sql = "SELECT '-infinity'::DATE AS d, 'infinity'::DATE AS e, DATE '2024-01-02' AS f"
    with backend.client() as client:
        response = client.post("/v2/query", json={"sql": sql, **WINDOW}, headers={"Accept": accept})
    assert response.status_code == 200, response.text
    if accept == "application/json":
        row = response.json()["data"][0]
        assert row["f"] == "2024-01-02"
        assert "out of range" in row["d"]
