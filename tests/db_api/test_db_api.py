"""The PEP 249 module against a real local backend: what pandas, scripts and notebooks see."""

from __future__ import annotations

import datetime as dt
import json
import math
import warnings
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import logfire_notebook
from logfire_notebook import db_api
from logfire_notebook._exceptions import QueryError

UTC = dt.timezone.utc


@pytest.fixture(scope="module")
def conn(backend: Any) -> Iterator[db_api.Connection]:
    with logfire_notebook.connect(backend.token, backend.base_url, min_timestamp="30d") as connection:
        yield connection


def one(conn: db_api.Connection, sql: str, params: Any = None) -> Any:
    cur = conn.cursor()
    cur.execute(sql, params)
    return cur.fetchone()[0]  # type: ignore[index]


def test_module_globals_follow_pep_249() -> None:
    assert db_api.apilevel == "2.0"
    assert db_api.paramstyle == "pyformat"
    assert db_api.threadsafety in (0, 1, 2, 3)
    assert logfire_notebook.connect is db_api.connect
    for name in ("InterfaceError", "DatabaseError"):
        assert issubclass(getattr(db_api, name), db_api.Error)
    for name in (
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        assert issubclass(getattr(db_api, name), db_api.DatabaseError)
    assert issubclass(db_api.Error, Exception) and issubclass(db_api.Warning, Exception)
    assert issubclass(db_api.RowLimitWarning, UserWarning)


def test_fetch_methods_walk_through_one_result(conn: db_api.Connection) -> None:
    cur = conn.cursor()
    sql = "SELECT span_name, level FROM records WHERE kind = 'span' ORDER BY start_timestamp, span_id LIMIT 7"
    assert cur.execute(sql) is cur
    assert cur.rowcount == 7
    first = cur.fetchone()
    assert isinstance(first, tuple) and len(first) == 2 and isinstance(first[1], int)
    assert len(cur.fetchmany()) == 1  # arraysize defaults to 1
    cur.arraysize = 2
    assert len(cur.fetchmany()) == 2
    assert len(cur.fetchmany(10)) == 3
    assert cur.fetchall() == [] and cur.fetchone() is None
    cur.execute(sql)
    assert [row for row in cur] == cur.execute(sql).fetchall()


def test_description_names_columns_with_comparable_type_codes(conn: db_api.Connection) -> None:
    cur = conn.cursor()
    assert cur.description is None
    cur.execute("SELECT span_name, level, duration, start_timestamp, day, is_exception FROM records LIMIT 1")
    names = [d[0] for d in cur.description or []]
    codes = [d[1] for d in cur.description or []]
    assert names == ["span_name", "level", "duration", "start_timestamp", "day", "is_exception"]
    assert codes[0] == db_api.STRING and codes[0] != db_api.NUMBER
    assert codes[1] == db_api.NUMBER and codes[2] == db_api.NUMBER
    assert codes[3] == db_api.DATETIME and codes[4] == db_api.DATETIME
    assert codes[0] != db_api.BINARY and codes[0] != db_api.ROWID
    assert all(len(d) == 7 for d in cur.description or [])


def test_arrow_and_polars_fetches_return_the_unread_rows(conn: db_api.Connection) -> None:
    import polars as pl

    cur = conn.cursor()
    cur.execute("SELECT start_timestamp, tags FROM records ORDER BY start_timestamp LIMIT 5")
    cur.fetchone()
    table = cur.fetch_arrow_table()
    assert isinstance(table, pa.Table) and table.num_rows == 4
    assert table.schema.field("start_timestamp").type == pa.timestamp("us", tz="UTC")
    assert cur.fetchall() == []
    frame = cur.execute("SELECT start_timestamp, tags FROM records LIMIT 5").fetch_polars()
    assert frame.schema == pl.Schema(
        {"start_timestamp": pl.Datetime("us", "UTC"), "tags": pl.List(pl.String)}
    )


PARAMETER_VALUES: list[tuple[str, Any, Any]] = [
    ("none", None, None),
    ("true", True, True),
    ("false", False, False),
    ("int", 42, 42),
    ("negative int", -7, -7),
    ("int64 max", 2**63 - 1, 2**63 - 1),
    ("float", 0.1, 0.1),
    ("negative float", -2.5e-10, -2.5e-10),
    ("decimal", Decimal("12.50"), Decimal("12.50")),
    (
        "str",
        'it\'s a \\ % %s %(x)s "quoted" -- not a comment',
        'it\'s a \\ % %s %(x)s "quoted" -- not a comment',
    ),
    ("unicode", "é😀 ﬁ \u200b\n\t", "é😀 ﬁ \u200b\n\t"),
    ("nul", "a\x00b", "a\x00b"),
    (
        "aware datetime",
        dt.datetime(2024, 5, 1, 14, 0, 1, 5, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        dt.datetime(2024, 5, 1, 12, 0, 1, 5, tzinfo=UTC),
    ),
    ("naive datetime", dt.datetime(2024, 5, 1, 12, 0), dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)),
    ("date", dt.date(2024, 2, 29), dt.date(2024, 2, 29)),
    ("list", ["a", "b'c"], ["a", "b'c"]),
    ("int list", [1, 2, 3], [1, 2, 3]),
]


@pytest.mark.parametrize(
    ("value", "expected"), [p[1:] for p in PARAMETER_VALUES], ids=[p[0] for p in PARAMETER_VALUES]
)
def test_every_parameter_type_reads_back_from_the_backend(
    conn: db_api.Connection, value: Any, expected: Any
) -> None:
    assert one(conn, "SELECT %(v)s AS v", {"v": value}) == expected
    assert one(conn, "SELECT %s AS v", (value,)) == expected


def test_timedelta_parameter_is_an_interval(conn: db_api.Connection) -> None:
    step = dt.timedelta(hours=1, microseconds=5)
    assert one(conn, "SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00:00' + %s", (step,)) == dt.datetime(
        2024, 1, 1, 1, 0, 0, 5, tzinfo=UTC
    )
    assert one(conn, "SELECT TIMESTAMPTZ '2024-01-01 00:00:00+00:00' + %s", (-step,)) == dt.datetime(
        2023, 12, 31, 22, 59, 59, 999995, tzinfo=UTC
    )


def test_nan_and_infinity_parameters_are_doubles(conn: db_api.Connection) -> None:
    assert math.isnan(one(conn, "SELECT %s", (float("nan"),)))
    assert one(conn, "SELECT %s", (float("-inf"),)) == -math.inf


def test_tuple_parameter_filters_with_in(conn: db_api.Connection, backend: Any) -> None:
    services = ("api", "no-such-service")
    cur = conn.cursor()
    cur.execute("SELECT DISTINCT service_name FROM records WHERE service_name IN %(s)s", {"s": services})
    found = {row[0] for row in cur.fetchall()}
    expected = {r["service_name"] for r in backend.dataset.visible_records} & set(services)
    assert found == expected


def test_list_parameter_works_with_array_has(conn: db_api.Connection) -> None:
    assert one(conn, "SELECT array_has(%s, 'b')", (["a", "b"],)) is True


def test_percent_in_sql_without_parameters_is_left_alone(conn: db_api.Connection) -> None:
    # marimo and pandas pass `()` for "no parameters": the LIKE pattern must reach the server untouched.
    cur = conn.cursor()
    cur.execute("SELECT 'a%b' LIKE 'a%' AS hit", ())
    assert cur.fetchall() == [(True,)]
    cur.execute("SELECT 'a%%b' LIKE 'a%%' AND %s AS hit", (True,))
    assert cur.fetchall() == [(True,)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40))
def test_any_string_round_trips_unchanged_through_the_backend(conn: db_api.Connection, text: str) -> None:
    assert one(conn, "SELECT %(s)s AS s", {"s": text}) == text


@given(
    text=st.sampled_from(
        [
            "'",
            "''",
            "\\",
            "\\'",
            "%",
            "%%",
            "%s",
            "%(s)s",
            "'; DROP TABLE records; --",
            "$$",
            "*/",
            "/*",
            "->>",
            "attributes->>'k'",
            "level = 'error'",
            "now() - interval '5 minutes'",
            "E'\\x41'",
            "?",
            "$1",
            ":name",
        ]
    )
)
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_nasty_strings_never_change_the_query_shape(conn: db_api.Connection, text: str) -> None:
    cur = conn.cursor()
    cur.execute("SELECT %(s)s AS a, %(s)s AS b, 1 AS c", {"s": text})
    assert cur.fetchall() == [(text, text, 1)]


def test_result_at_the_row_limit_warns_with_a_way_out(backend: Any) -> None:
    with logfire_notebook.connect(backend.token, backend.base_url, min_timestamp="30d", limit=5) as small:
        cur = small.cursor()
        with pytest.warns(db_api.RowLimitWarning, match=r"5 rows.*more rows may exist.*query_all"):
            cur.execute("SELECT span_id FROM records")
        assert cur.rowcount == 5
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            cur.execute("SELECT span_id FROM records LIMIT 4")
        assert cur.rowcount == 4


def test_time_range_bounds_the_rows(backend: Any) -> None:
    now = dt.datetime.now(UTC)
    with logfire_notebook.connect(
        backend.token, backend.base_url, min_timestamp="2h", max_timestamp="now-1h"
    ) as c:
        cur = c.cursor()
        cur.execute("SELECT min(start_timestamp), max(start_timestamp), count(*) FROM records")
        low, high, count = cur.fetchone()  # type: ignore[misc]
    if count:
        assert now - dt.timedelta(hours=2, minutes=1) <= low and high <= now - dt.timedelta(minutes=59)
    expected = sum(
        1
        for r in backend.dataset.visible_records
        if now - dt.timedelta(hours=2) <= r["start_timestamp"] < now - dt.timedelta(hours=1)
    )
    assert abs(count - expected) <= 2  # the edges move with the clock between "now" here and in the query


def test_pandas_read_sql_returns_a_dataframe(conn: db_api.Connection) -> None:
    import pandas as pd

    # pandas warns for every DB-API connection that is not sqlite3 or SQLAlchemy; that one warning is expected.
    with pytest.warns(UserWarning, match="pandas only supports SQLAlchemy connectable"):
        frame = pd.read_sql(
            "SELECT span_name, level FROM records WHERE level >= %(level)s ORDER BY start_timestamp LIMIT 10",
            conn,
            params={"level": 17},
        )
    assert list(frame.columns) == ["span_name", "level"]
    assert len(frame) == 10 and (frame["level"] >= 17).all()


def test_failing_query_is_a_programming_error_with_the_server_detail(conn: db_api.Connection) -> None:
    with pytest.raises(db_api.ProgrammingError, match="no_such_column") as info:
        conn.cursor().execute("SELECT no_such_column FROM records")
    assert isinstance(info.value.__cause__, QueryError)
    assert info.value.detail and "no_such_column" in info.value.detail


def test_parameter_mistakes_are_programming_errors(conn: db_api.Connection) -> None:
    cur = conn.cursor()
    with pytest.raises(db_api.ProgrammingError, match="no parameter named 'b'"):
        cur.execute("SELECT %(a)s, %(b)s", {"a": 1})
    with pytest.raises(db_api.ProgrammingError, match="type bytes"):
        cur.execute("SELECT %s", (b"x",))
    with pytest.raises(db_api.ProgrammingError, match="limit=0"):
        logfire_notebook.connect("pylf_v1_local_x", "http://127.0.0.1:9", limit=0)
    with pytest.raises(db_api.ProgrammingError, match="Could not read 'yesterday'"):
        logfire_notebook.connect("pylf_v1_local_x", "http://127.0.0.1:9", min_timestamp="yesterday")


def test_rejected_token_is_an_operational_error_without_the_token(backend: Any) -> None:
    secret = "pylf_v1_local_" + "S3cretTokenValue" * 3
    with logfire_notebook.connect(secret, backend.base_url) as bad:
        with pytest.raises(db_api.OperationalError) as info:
            bad.cursor().execute("SELECT 1")
        text = f"{info.value} {info.value!r} {info.value.__cause__!r} {bad!r} {bad.client!r}"
    assert "S3cretTokenValue" not in text
    assert backend.token not in repr(logfire_notebook.connect(backend.token, backend.base_url))


def test_unreachable_server_is_an_operational_error() -> None:
    port = closed_port()
    c = logfire_notebook.connect("pylf_v1_local_x", f"http://127.0.0.1:{port}", max_retries=0)
    with c, pytest.raises(db_api.OperationalError, match=f"127.0.0.1:{port}"):
        c.cursor().execute("SELECT 1")


def closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mock_connect(handler: Any) -> db_api.Connection:
    return logfire_notebook.connect(
        "pylf_v1_local_" + "MockSecret" * 4,
        "http://logfire.test",
        transport=httpx.MockTransport(handler),
        max_retries=0,
    )


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (429, "Rate limit exceeded (minute)", db_api.OperationalError),
        (503, "upstream down", db_api.OperationalError),
        (422, json.dumps({"detail": "limit must be <= 10000"}), db_api.ProgrammingError),
        (200, "<html>not arrow</html>", db_api.InterfaceError),
    ],
)
def test_http_failures_map_onto_pep_249_classes(status: int, body: str, error: type[Exception]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/html" if body.startswith("<") else "text/plain"}
        return httpx.Response(status, text=body, headers=headers)

    with mock_connect(handler) as c, pytest.raises(error) as info:
        c.cursor().execute("SELECT 1")
    assert "MockSecret" not in f"{info.value} {info.value!r} {info.value.__cause__}"
    assert isinstance(info.value.__cause__, logfire_notebook.LogfireError)


def test_missing_token_is_an_interface_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("LOGFIRE_READ_TOKEN", raising=False)
    monkeypatch.delenv("LOGFIRE_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(db_api.InterfaceError, match="token"):
        logfire_notebook.connect(base_url="http://127.0.0.1:9")


def test_closed_connection_and_cursor_say_so(backend: Any) -> None:
    c = logfire_notebook.connect(backend.token, backend.base_url)
    cur = c.cursor()
    cur.close()
    with pytest.raises(db_api.InterfaceError, match="cursor is closed"):
        cur.execute("SELECT 1")
    c.close()
    assert c.closed and "closed" in repr(c)
    with pytest.raises(db_api.InterfaceError, match="connection is closed"):
        c.cursor()
    c.close()  # closing twice is fine


def test_commit_and_rollback_are_no_ops_and_fetch_before_execute_errors(conn: db_api.Connection) -> None:
    conn.commit()
    conn.rollback()
    with pytest.raises(db_api.ProgrammingError, match="call execute"):
        conn.cursor().fetchall()


def test_executemany_runs_each_parameter_set(conn: db_api.Connection) -> None:
    cur = conn.cursor()
    cur.executemany("SELECT %s AS v", [(1,), (2,), (3,)])
    assert cur.fetchall() == [(3,)]


def test_with_time_range_and_client_share_the_http_client(backend: Any) -> None:
    with logfire_notebook.connect(backend.token, backend.base_url, min_timestamp="1h") as base:
        week = base.with_time_range("7d", limit=3)
        assert "Last 7 days" in repr(week) and week.limit == 3 and base.limit == 10_000
        with pytest.warns(db_api.RowLimitWarning):
            assert week.cursor().execute("SELECT 1 FROM records").rowcount == 3
        week.close()
        assert base.cursor().execute("SELECT 1").fetchall() == [(1,)]
    assert week.closed  # closing the connection that owns the client closes the client for both
    with pytest.raises(db_api.InterfaceError, match="connection is closed"):
        week.cursor()
    with pytest.raises(db_api.ProgrammingError, match="either client= or"):
        logfire_notebook.connect(backend.token, client=base.client)


def test_failed_query_leaves_no_stale_result(conn: db_api.Connection) -> None:
    cur = conn.cursor()
    cur.execute("SELECT 1 AS one")
    with pytest.raises(db_api.ProgrammingError):
        cur.execute("SELECT no_such_column FROM records")
    assert cur.description is None and cur.rowcount == -1
    with pytest.raises(db_api.ProgrammingError, match="call execute"):
        cur.fetchall()
