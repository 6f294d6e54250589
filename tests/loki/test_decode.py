"""Loki's golden answers (tests/fixtures/loki-api, from Loki's own tests) read into Arrow, column by column."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
import pytest

from logfire_notebook._exceptions import ResponseError
from logfire_notebook._loki.decode import decode_answer, decode_legacy, decode_values, parse_selector

FIXTURES = Path(__file__).parent.parent / "fixtures" / "loki-api"


def answer(name: str, direction: str = "backward") -> pl.DataFrame:
    return pl.from_arrow(decode_answer((FIXTURES / name).read_bytes(), direction).table)  # type: ignore[return-value]


def test_log_query_gives_one_row_per_entry_newest_first() -> None:
    df = answer("query_range_streams.json")
    assert df.columns == ["timestamp", "line", "labels", "structured_metadata", "parsed", "level"]
    assert df.schema["timestamp"] == pl.Datetime("ns", "UTC")
    assert df["line"].to_list() == ["super line with labels", "super line"]
    # Nanoseconds survive exactly (123456789012346 ns is not representable as a float64 of seconds).
    assert df["timestamp"].cast(pl.Int64).to_list() == [123456789012346, 123456789012345]
    assert df["labels"].to_list() == [{"test": "test"}, {"test": "test"}]


def test_forward_direction_sorts_oldest_first_across_streams() -> None:
    df = answer("query_range_streams_metadata_categorized.json", "forward")
    stamps = df["timestamp"].cast(pl.Int64).to_list()
    assert stamps == sorted(stamps)


def test_categorized_answer_keeps_metadata_and_parsed_labels_apart() -> None:
    df = answer("query_range_streams_categorize_labels.json", "forward")
    assert df["line"].to_list() == [
        "super line",
        "super line with labels",
        "super line with labels msg=text",
    ]
    assert df["structured_metadata"].to_list() == [None, {"foo": "a", "bar": "b"}, {"foo": "a", "bar": "b"}]
    assert df["parsed"].to_list() == [None, None, {"msg": "text"}]
    assert df["labels"].to_list() == [{"test": "test"}] * 3


def test_level_comes_from_label_then_metadata_then_parsed() -> None:
    body = (
        b'{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":['
        b'{"stream":{"level":"warn"},"values":[["3","a",{}]]},'
        b'{"stream":{"job":"x"},"values":[["2","b",{"structuredMetadata":{"detected_level":"error"}}],'
        b'["1","c",{"parsed":{"level":"debug"}}],["0","d",{}]]}]}}'
    )
    df = pl.from_arrow(decode_answer(body).table)
    assert df["level"].to_list() == ["warn", "error", "debug", None]  # type: ignore[index]


def test_matrix_keeps_points_values_and_labels() -> None:
    df = answer("query_range_matrix.json")
    assert df.columns == ["timestamp", "value", "labels"]
    assert df["value"].to_list() == [0.013333333333333334, 3.45, 4.45]
    assert df["timestamp"][0] == datetime(2019, 9, 13, 19, 52, 11, 324000, tzinfo=timezone.utc)
    assert df["labels"][2] == {"filename": "/var/hostlog/syslog", "job": "varlogs"}


def test_nan_and_infinities_are_kept() -> None:
    table = decode_values("matrix", b'[{"metric":{},"values":[[1,"NaN"],[2,"+Inf"],[3,"-Inf"]]}]')
    values = table.column("value").to_pylist()
    assert math.isnan(values[0]) and values[1:] == [math.inf, -math.inf]


def test_vector_and_scalar() -> None:
    vector = answer("query_vector.json")
    assert vector["value"].to_list() == [0.013333333333333334, 3.45]
    scalar = pl.from_arrow(decode_values("scalar", b'[1568404331.324,"2"]'))
    assert scalar.columns == ["timestamp", "value"] and scalar["value"].to_list() == [2.0]  # type: ignore[union-attr]


def test_older_api_answer_reads_as_the_same_table() -> None:
    df = pl.from_arrow(decode_legacy((FIXTURES / "legacy_query_streams.json").read_bytes()).table)
    assert df["line"].to_list() == ["super line with labels", "super line"]  # type: ignore[index]
    assert df["timestamp"][1] == datetime(2019, 9, 13, 18, 32, 22, 380001, tzinfo=timezone.utc)  # type: ignore[index]
    assert df["timestamp"].cast(pl.Int64)[1] == 1568399542380001319  # type: ignore[index]
    assert df["labels"][0] == {"test": "test"}  # type: ignore[index]


def test_selector_text_with_escapes_is_read() -> None:
    assert parse_selector(r'{a="x", b="say \"hi\"\n"}') == {"a": "x", "b": 'say "hi"\n'}


def test_empty_result_still_has_the_columns() -> None:
    df = pl.from_arrow(
        decode_answer(b'{"status":"success","data":{"resultType":"streams","result":[]}}').table
    )
    assert df.height == 0 and df.columns[:2] == ["timestamp", "line"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "body",
    [
        b"<html>proxy error</html>",
        b'{"status":"success"}',
        b'{"data":{"resultType":"streams","result":[["x"]]}}',
    ],
)
def test_unreadable_answer_is_one_clear_error(body: bytes) -> None:
    with pytest.raises(ResponseError, match="check that the address is a Loki API"):
        decode_answer(body)


def test_interleaved_streams_keep_each_entrys_own_labels_and_metadata() -> None:
    body = (
        b'{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":['
        b'{"stream":{"pod":"a","level":"info"},"values":[["5","a5",{}],["3","a3",{"structuredMetadata":{"k":"3"}}],'
        b'["1","a1",{}]]},'
        b'{"stream":{"pod":"b","level":"warn"},"values":[["4","b4",{"parsed":{"k":"4"}}],["2","b2",{}]]}]}}'
    )
    df = pl.from_arrow(decode_answer(body, "forward").table)
    rows = df.select("line", pl.col("labels").map.get("pod"), "level", "structured_metadata", "parsed").rows()  # type: ignore[union-attr]
    assert rows == [
        ("a1", "a", "info", None, None),
        ("b2", "b", "warn", None, None),
        ("a3", "a", "info", {"k": "3"}, None),
        ("b4", "b", "warn", None, {"k": "4"}),
        ("a5", "a", "info", None, None),
    ]


def _streams_body(*streams: bytes) -> bytes:
    return (
        b'{"status":"success","data":{"resultType":"streams","encodingFlags":["categorize-labels"],"result":['
        + b",".join(streams)
        + b"]}}"
    )


def test_entries_with_no_empty_or_full_metadata_read_side_by_side() -> None:
    # A 2-tuple (no metadata object), `{}`, an empty structuredMetadata and a full one in one stream.
    body = _streams_body(
        b'{"stream":{"job":"x"},"values":[["4","no object"],["3","empty object",{}],'
        b'["2","empty metadata",{"structuredMetadata":{}}],'
        b'["1","both",{"structuredMetadata":{"k":"v"},"parsed":{"level":"warn"}}]]}'
    )
    df = pl.from_arrow(decode_answer(body).table)
    rows = df.select("line", "structured_metadata", "parsed", "level").rows()  # type: ignore[union-attr]
    assert rows == [
        ("no object", None, None, None),
        ("empty object", None, None, None),
        ("empty metadata", {}, None, None),
        ("both", {"k": "v"}, {"level": "warn"}, "warn"),
    ]


def test_unicode_escapes_and_huge_lines_arrive_as_written() -> None:
    huge = "x" * 3_000_000
    lines = ["caf\u00e9 \u2603 \U0001f600", 'tab\tquote" backslash\\ newline\n', "\u0000nul", huge]
    values = ",".join(f'["{9 - i}",{json.dumps(line)},{{}}]' for i, line in enumerate(lines))
    body = _streams_body(f'{{"stream":{{"job":"x"}},"values":[{values}]}}'.encode())
    df = pl.from_arrow(decode_answer(body).table)
    assert df["line"].to_list() == lines  # type: ignore[index]


def test_a_timestamp_that_is_not_nanoseconds_is_one_clear_error() -> None:
    body = _streams_body(b'{"stream":{},"values":[["2024-01-01T00:00:00Z","a",{}]]}')
    with pytest.raises(
        ResponseError, match=r"timestamp is not nanoseconds.*check that the address is a Loki API"
    ):
        decode_answer(body)


def test_an_answer_without_categorize_labels_has_null_metadata_and_parsed() -> None:
    body = b'{"status":"success","data":{"resultType":"streams","result":[{"stream":{"level":"info"},"values":[["2","b"],["1","a"]]}]}}'
    df = pl.from_arrow(decode_answer(body, "forward").table)
    assert df.select("line", "structured_metadata", "parsed", "level").rows() == [  # type: ignore[union-attr]
        ("a", None, None, "info"),
        ("b", None, None, "info"),
    ]


def test_a_metadata_object_of_another_shape_is_an_error_not_dropped() -> None:
    body = _streams_body(b'{"stream":{"job":"x"},"values":[["1","a",{"trace_id":"abc"}]]}')
    with pytest.raises(
        ResponseError, match=r"unknown field `trace_id`.*check that the address is a Loki API"
    ):
        decode_answer(body)
