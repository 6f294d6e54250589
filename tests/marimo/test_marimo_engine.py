"""marimo with `logfire_notebook.connect()` as its SQL engine, through marimo's own engine classes."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl
import pytest

import logfire_notebook
from logfire_notebook import db_api
from logfire_notebook._schema import METRICS, RECORDS

EXAMPLE = Path(__file__).parents[2] / "examples" / "marimo_quickstart.py"

# What marimo's panel shows per Postgres type of /v1/schemas (lists have no marimo type of their own).
MARIMO_TYPES = {
    "TEXT": "string",
    "INTEGER": "integer",
    "DOUBLE PRECISION": "number",
    "BOOLEAN": "boolean",
    "DATE": "date",
    "TIMESTAMP WITH TIME ZONE": "datetime",
}


class Requests:
    """Paths of every HTTP request a connection sends (an httpx event hook, no mocking)."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    def __call__(self, request: Any) -> None:
        self.paths.append(request.url.path)


@pytest.fixture
def requests() -> Requests:
    return Requests()


@pytest.fixture
def conn(backend: Any, requests: Requests) -> Iterator[db_api.Connection]:
    with logfire_notebook.connect(
        backend.token, backend.base_url, min_timestamp="30d", event_hooks={"request": [requests]}
    ) as connection:
        yield connection


def marimo_engine(conn: db_api.Connection) -> Any:
    from marimo._sql.engines.adbc import AdbcDBAPIEngine
    from marimo._sql.get_engines import get_engines_from_variables

    engines = get_engines_from_variables([("conn", conn)])  # type: ignore[list-item]
    assert len(engines) == 1
    engine = engines[0][1]
    assert isinstance(engine, AdbcDBAPIEngine)
    return engine


def test_marimo_detects_an_arrow_engine_without_sending_a_request(
    conn: db_api.Connection, requests: Requests
) -> None:
    engine = marimo_engine(conn)
    assert engine.source == "adbc"
    assert engine.dialect == "postgresql"
    assert engine.get_default_database() == "logfire" and engine.get_default_schema() == "public"
    assert requests.paths == []


def test_data_sources_panel_lists_both_tables_from_one_schemas_request(
    conn: db_api.Connection, requests: Requests
) -> None:
    from marimo._sql.get_engines import engine_to_data_source_connection

    engine = marimo_engine(conn)
    connection = engine_to_data_source_connection("conn", engine)  # what the panel receives
    assert connection.default_database == "logfire" and connection.default_schema == "public"
    [database] = connection.databases
    [schema] = database.schemas
    assert (database.name, schema.name) == ("logfire", "public")
    assert [t.name for t in schema.tables] == ["records", "metrics"]

    # Expanding a table in the panel asks for its details.
    for table, columns in (("records", RECORDS), ("metrics", METRICS)):
        details = engine.get_table_details(table_name=table, schema_name="public", database_name="logfire")
        assert details is not None and details.num_columns == len(columns)
        assert [c.name for c in details.columns] == [c.name for c in columns]
        for shown, column in zip(details.columns, columns, strict=True):
            assert shown.type == MARIMO_TYPES.get(column.pg_type, "unknown"), column
    timestamps = {c.name: c.external_type for c in details.columns}
    assert timestamps["recorded_timestamp"] == "timestamp[us, tz=UTC]"
    assert requests.paths == ["/v1/schemas"]


def test_panel_table_list_for_a_schema(conn: db_api.Connection) -> None:
    engine = marimo_engine(conn)
    tables = engine.get_tables_in_schema(schema="public", database="logfire", include_table_details=False)
    assert sorted(t.name for t in tables) == ["metrics", "records"]
    assert engine.get_tables_in_schema(schema="other", database="logfire", include_table_details=False) == []


def test_adbc_get_objects_filters_like_adbc(conn: db_api.Connection) -> None:
    def tables(**filters: Any) -> list[str]:
        [catalog] = conn.adbc_get_objects(depth="tables", **filters).read_all().to_pylist()
        return [t["table_name"] for s in catalog["catalog_db_schemas"] for t in s["db_schema_tables"]]

    assert tables() == ["records", "metrics"]
    assert tables(table_name_filter="rec%") == ["records"]
    assert tables(table_types_filter=["VIEW"]) == []
    [catalog] = conn.adbc_get_objects(depth="columns", column_name_filter="span\\_%").read_all().to_pylist()
    records = catalog["catalog_db_schemas"][0]["db_schema_tables"][0]
    assert [c["column_name"] for c in records["table_columns"]] == ["span_id", "span_name"]
    assert conn.adbc_get_objects(catalog_filter="nope").read_all().num_rows == 0
    with pytest.raises(db_api.ProgrammingError, match="no table 'spans'"):
        conn.adbc_get_table_schema("spans")


def test_sql_cell_returns_polars_from_arrow_without_row_conversion(
    conn: db_api.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    import marimo as mo

    def no_rows(*args: Any) -> Any:
        raise AssertionError("marimo converted the result row by row")

    monkeypatch.setattr(db_api.Cursor, "_fetch", no_rows)
    frame = mo.sql(
        "SELECT start_timestamp, span_name, level, duration, tags, is_exception, day FROM records "
        "WHERE message LIKE '%' LIMIT 50",
        engine=conn,  # type: ignore[arg-type]
        output=False,
    )
    assert isinstance(frame, pl.DataFrame) and frame.height == 50
    assert frame.schema == pl.Schema(
        {
            "start_timestamp": pl.Datetime("us", "UTC"),
            "span_name": pl.String,
            "level": pl.Int32,
            "duration": pl.Float64,
            "tags": pl.List(pl.String),
            "is_exception": pl.Boolean,
            "day": pl.Date,
        }
    )


def test_sql_cell_query_error_names_the_problem(conn: db_api.Connection) -> None:
    import marimo as mo

    with pytest.raises(Exception, match="no_such_column"):
        mo.sql("SELECT no_such_column FROM records", engine=conn, output=False)  # type: ignore[arg-type]


def test_quickstart_notebook_runs_headlessly_on_the_local_backend(
    backend: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import datetime as dt

    monkeypatch.setenv("LOGFIRE_READ_TOKEN", backend.token)
    monkeypatch.setenv("LOGFIRE_BASE_URL", backend.base_url)
    spec = importlib.util.spec_from_file_location("marimo_quickstart", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    outputs, defs = module.app.run()
    defs["client"].close()

    assert defs["time_range"].value == ("7d", "6 hours")
    now = dt.datetime.now(dt.timezone.utc)
    in_range = [
        r for r in backend.dataset.visible_records if r["start_timestamp"] >= now - dt.timedelta(days=7)
    ]

    activity = defs["activity"]
    assert activity.schema == pl.Schema(
        {"bucket": pl.Datetime("us", "UTC"), "level": pl.String, "records": pl.Int64}
    )
    assert abs(activity["records"].sum() - len(in_range)) <= 2  # rows at the range's moving edge
    assert set(activity["level"]) <= {"trace", "debug", "info", "notice", "warn", "error", "fatal"}

    slowest = defs["slowest"]
    assert slowest.columns == ["service_name", "span_name", "spans", "avg_ms", "max_ms"]
    assert 0 < slowest.height <= 20 and slowest["avg_ms"].is_sorted(descending=True)

    errors = defs["errors"]
    assert errors.height == min(100, sum(1 for r in in_range if r["level"] >= 17))
    assert errors["start_timestamp"].dtype == pl.Datetime("us", "UTC")

    metric_names = defs["metric_names"]
    assert set(metric_names["metric_name"]) == {m["metric_name"] for m in backend.dataset.metrics}
    assert outputs  # the cells rendered something (the dropdown, the chart, the tables)

    # The LogfireTable cell, and the chart cell that reads the rows of its range.
    table = defs["table"].widget
    assert table.time_range.label() == "Last 1 day"
    last_day = [
        r for r in backend.dataset.visible_records if r["start_timestamp"] >= now - dt.timedelta(days=1)
    ]
    assert abs(defs["picked"].height - min(5000, len(last_day))) <= 2
    assert defs["picked"].height == table.df.height
    assert defs["per_service"]["records"].sum() == defs["picked"].height
    table.close()


def test_connections_on_one_client_share_one_schemas_request(backend: Any, requests: Requests) -> None:
    from marimo._sql.get_engines import engine_to_data_source_connection

    with logfire_notebook.LogfireClient(
        backend.token, backend.base_url, event_hooks={"request": [requests]}
    ) as client:
        for since in ("1h", "7d"):  # what a time range control in a notebook does
            conn = logfire_notebook.connect(client=client, min_timestamp=since)
            connection = engine_to_data_source_connection("conn", marimo_engine(conn))
            assert [t.name for t in connection.databases[0].schemas[0].tables] == ["records", "metrics"]
            conn.close()
            assert not client.client.is_closed  # the notebook's client outlives its connections
    assert requests.paths == ["/v1/schemas"]
