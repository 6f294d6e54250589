"""Polars results have the types a user expects, whatever Arrow types the engine sends."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import polars as pl
import pyarrow as pa
import pytest

from logfire_notebook import LogfireClient, LogfireError

ARROW = "application/vnd.apache.arrow.stream"


def _serving(table: pa.Table) -> LogfireClient:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    body = bytes(sink.getvalue())
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"content-type": ARROW})
    )
    return LogfireClient("pylf_v1_us_polarsTest", "http://engine", transport=transport)


def test_timestamps_become_microsecond_utc_and_dictionaries_plain_strings() -> None:
    instant = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=timezone.utc)
    micros = int(instant.timestamp() * 1_000_000)
    table = pa.table(
        {
            "ns": pa.array([micros * 1000], pa.timestamp("ns", tz="UTC")),
            "naive": pa.array([micros], pa.timestamp("us")),
            "paris": pa.array([micros], pa.timestamp("us", tz="Europe/Paris")),
            "service_name": pa.array(["web"]).dictionary_encode(),
        }
    )
    with _serving(table) as client:
        frame = client.query_polars("SELECT ...")
    assert frame.schema == pl.Schema(
        {
            "ns": pl.Datetime("us", "UTC"),
            "naive": pl.Datetime("us", "UTC"),
            "paris": pl.Datetime("us", "UTC"),
            "service_name": pl.String,
        }
    )
    assert frame.row(0) == (instant, instant, instant, "web")  # the same instant, only relabelled


def test_json_columns_become_structs_keeping_keys_that_appear_late() -> None:
    rows = ['{"a": 1}'] * 150 + ['{"a": 2, "late": {"b": "x"}}', None]
    with _serving(pa.table({"attributes": rows, "other": ["{}"] * len(rows)})) as client:
        frame = client.query_polars("SELECT ...", json_columns=["attributes"])
    assert isinstance(frame.schema["attributes"], pl.Struct)
    assert frame.schema["other"] == pl.String  # not asked for: stays text
    assert frame["attributes"][150] == {"a": 2, "late": {"b": "x"}}
    assert frame["attributes"][151] is None


def test_unknown_json_column_is_one_clear_sentence() -> None:
    with _serving(pa.table({"message": ["hi"]})) as client, pytest.raises(LogfireError) as info:
        client.query_polars("SELECT ...", json_columns=["attributes"])
    assert str(info.value) == (
        "json_columns names 'attributes', which the query did not return: select the column or drop it "
        "from json_columns (the result has message)."
    )
