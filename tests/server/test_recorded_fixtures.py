"""Replays every request recorded against the real Logfire (tests/fixtures/logfire-api, copied from the project's fixtures)
on a local backend holding the same rows, and compares the answers with the recorded ones."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pytest
import yaml
from _backend import Backend
from _dataset import arrow_type

from logfire_notebook._schema import RECORDS

CASSETTES = Path(__file__).parents[1] / "fixtures" / "logfire-api"


def _interactions() -> list[tuple[str, int, dict[str, Any]]]:
    out = []
    for path in sorted(CASSETTES.glob("*/*.yaml")):
        for i, interaction in enumerate(yaml.safe_load(path.read_text())["interactions"]):
            out.append((f"{path.parent.name}/{path.stem}", i, interaction))
    return out


def _recorded_rows(store: Any) -> None:
    """The rows the recordings were made on: 37 logs without an exception (one of them 'about to raise an
    error', the others 'aha 0'.. with tags), and one with an exception."""
    at = datetime(2026, 5, 27, 20, 16, tzinfo=timezone.utc)
    rows: list[dict[str, Any]] = []
    messages = ["about to raise an error"] + [f"aha {i}" for i in range(36)]
    for i, message in enumerate(messages):
        rows.append(
            {
                "kind": "log",
                "message": message,
                "span_name": message,
                "is_exception": False,
                "tags": [] if i == 0 else ["tag1", "tag2"],
            }
        )
    rows.append({"kind": "span", "message": "error", "span_name": "error", "is_exception": True, "tags": []})
    for i, row in enumerate(rows):
        row.update(
            start_timestamp=at + timedelta(seconds=i),
            end_timestamp=at + timedelta(seconds=i),
            level=17 if row["is_exception"] else 9,
            service_name="cassettes",
            trace_id=f"{i:032x}",
            span_id=f"{i:016x}",
        )
    types = {c.name: arrow_type(c) for c in RECORDS}
    store.append_records(pa.Table.from_pylist(rows, schema=pa.schema([(n, types[n]) for n in rows[0]])))


@pytest.fixture(scope="module")
def recorded_backend(make_backend: Any) -> Backend:
    server: Backend = make_backend(_recorded_rows)
    return server


def _body(response: dict[str, Any]) -> bytes:
    raw = response["body"]["string"]
    data = raw.encode() if isinstance(raw, str) else raw
    headers = {k.lower(): v for k, v in response["headers"].items()}
    if headers.get("content-encoding") == ["gzip"]:
        data = gzip.decompress(data)
    return data


def _v1_without_nullable(body: Any) -> Any:
    # The v1 recordings predate Logfire marking `message` NOT NULL; nullability is compared on v2 only.
    for column in body["columns"]:
        column.pop("nullable")
    return body


@pytest.mark.parametrize(("cassette", "index", "interaction"), _interactions(), ids=lambda v: str(v)[:40])
def test_recorded_request_gets_the_recorded_answer(
    recorded_backend: Backend, cassette: str, index: int, interaction: dict[str, Any]
) -> None:
    request = interaction["request"]
    url = httpx.URL(request["uri"])
    headers = {k.lower(): v[0] for k, v in request["headers"].items() if k.lower() == "accept"}
    headers["authorization"] = recorded_backend.token
    response = httpx.request(
        request["method"],
        recorded_backend.base_url + url.raw_path.decode(),
        content=request["body"] or None,
        headers={**headers, "content-type": "application/json"},
    )
    recorded = interaction["response"]
    assert response.status_code == recorded["status"]["code"]
    expected = _body(recorded)
    accept = headers.get("accept", "*/*")

    if url.path == "/v1/read-token-info":
        assert set(json.loads(expected)) <= set(response.json()) | {"organization_subscription_plan"}
    elif accept == "application/vnd.apache.arrow.stream":
        got = pa.ipc.open_stream(response.content).read_all()
        want = pa.ipc.open_stream(expected).read_all()
        if cassette.startswith("v1"):
            assert got.to_pylist() == want.to_pylist() and got.schema.names == want.schema.names
        else:
            assert got.schema == want.schema
            assert got.equals(want)
    elif accept == "application/json" and cassette.startswith("v1"):
        assert _v1_without_nullable(response.json()) == _v1_without_nullable(json.loads(expected))
    else:
        assert response.content == expected
