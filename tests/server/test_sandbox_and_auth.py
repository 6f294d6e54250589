"""Read tokens, and the sandbox: queries read only `records`/`metrics`, never the host, and stop in time."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest
from _backend import Backend

BODY = {"sql": "SELECT count(*) AS n FROM records", "min_timestamp": "2020-01-01T00:00:00Z"}


# ---- auth ----


@pytest.mark.parametrize("scheme", ["", "Bearer ", "bearer "])
def test_token_is_accepted_bare_or_as_bearer(backend: Backend, scheme: str) -> None:
    response = httpx.post(
        f"{backend.base_url}/v2/query", json=BODY, headers={"Authorization": scheme + backend.token}
    )
    assert response.status_code == 200
    assert response.json()["data"][0]["n"] > 0


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "pylf_v1_local_not-a-real-token"},
        {"Authorization": "Bearer pylf_v1_us_something"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
    ],
)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/query"),
        ("GET", "/v1/query?sql=SELECT%201"),
        ("GET", "/v1/schemas"),
        ("GET", "/v1/read-token-info"),
    ],
)
def test_missing_or_unknown_token_is_401(
    backend: Backend, headers: dict[str, str], method: str, path: str
) -> None:
    response = httpx.request(method, backend.base_url + path, json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token"}


def test_token_created_while_the_server_runs_is_accepted_and_only_its_hash_is_stored(
    backend: Backend,
) -> None:
    import subprocess
    import sys

    token = subprocess.run(
        [
            sys.executable,
            "-m",
            "logfire_notebook.cli",
            "token",
            "create",
            "--data-dir",
            str(backend.data_dir),
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    ).stdout.strip()
    assert token.startswith("pylf_v1_local_") and token != backend.token
    response = httpx.get(
        f"{backend.base_url}/v1/read-token-info", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    stored = "".join(p.read_text(errors="ignore") for p in backend.data_dir.iterdir() if p.suffix == ".json")
    assert token not in stored and backend.token not in stored


# ---- sandbox ----


def _query(backend: Backend, sql: str) -> httpx.Response:
    with backend.client() as client:
        return client.post("/v2/query", json={"sql": sql, "min_timestamp": "2020-01-01T00:00:00Z"})


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM '/etc/passwd'",
        "SELECT * FROM read_csv_auto('/etc/passwd', header=false)",
        "SELECT * FROM glob('/etc/*')",
        "SELECT * FROM read_json('https://example.com/data.json')",
        "SELECT * FROM 'https://example.com/data.csv'",
        "SELECT * FROM read_blob('{data_dir}/logfire.duckdb')",
        "SELECT * FROM read_text('{data_dir}/logfire.duckdb.wal')",
        "SELECT * FROM glob('{data_dir}/*')",
        "SELECT * FROM (SELECT 1) a, query('SELECT * FROM read_blob(''/etc/passwd'')') b",
        "SELECT * FROM query_table('store.records')",
    ],
)
def test_reading_host_files_or_urls_is_refused(backend: Backend, sql: str) -> None:
    response = _query(backend, sql.replace("{data_dir}", str(backend.data_dir)))
    assert response.status_code == 400
    assert "root:" not in response.text
    assert response.json()["detail"]


def test_copy_is_refused_and_writes_no_file(backend: Backend, tmp_path: Path) -> None:
    target = tmp_path / "stolen.csv"
    for sql in (
        f"COPY (SELECT * FROM records) TO '{target}'",
        f"COPY records TO '{target}' (FORMAT csv)",
        f"SELECT 1; COPY (SELECT 1) TO '{target}'",
    ):
        response = _query(backend, sql)
        assert response.status_code == 400, sql
    assert not target.exists()


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("INSTALL httpfs", "INSTALL"),
        ("LOAD httpfs", "LOAD"),
        ("SET threads = 1", "SET"),
        ("PRAGMA enable_external_access", "PRAGMA"),
        ("DELETE FROM store.records", "DELETE"),
        ("DROP TABLE store.records", "DROP"),
        ("INSERT INTO store.records (kind) VALUES ('x')", "INSERT"),
        ("CREATE TABLE t AS SELECT 1", "CREATE"),
        ("SELECT 1; SELECT 2", "single"),
    ],
)
def test_statements_other_than_one_select_are_refused(backend: Backend, sql: str, words: str) -> None:
    response = _query(backend, sql)
    assert response.status_code == 400
    assert words.lower() in response.json()["detail"].lower()
    # Nothing changed: the data is all still there.
    assert backend.dataset is not None
    assert _query(backend, "SELECT count(*) AS n FROM records").json()["data"] == [
        {"n": len(backend.dataset.visible_records)}
    ]


def test_slow_query_is_stopped_with_a_clear_400_and_the_server_stays_usable(make_backend) -> None:  # type: ignore[no-untyped-def]
    import _dataset

    server: Backend = make_backend(_dataset.fill, query_timeout=0.5)
    slow = _query(server, "SELECT sum(hash(i)) FROM range(1000000000000) t(i)")
    assert slow.status_code == 400
    detail = slow.json()["detail"]
    assert "stopped" in detail and "0.5 s" in detail
    assert _query(server, "SELECT count(*) AS n FROM records").status_code == 200


def test_query_abandoned_by_the_client_stops_on_the_server(make_backend) -> None:  # type: ignore[no-untyped-def]
    import json
    import socket
    import time

    server: Backend = make_backend(query_timeout=600)

    def cpu_seconds() -> float:
        fields = Path(f"/proc/{server.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def wait_for(condition, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + 120
        while not condition():
            assert time.monotonic() < deadline, what

    body = json.dumps(
        {"sql": "SELECT sum(hash(i)) FROM range(1000000000000) t(i)", "min_timestamp": "2020-01-01T00:00:00Z"}
    ).encode()
    host, port = server.base_url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(
        b"POST /v2/query HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (host.encode(), server.token.encode(), len(body), body)
    )
    # The query is running: the server spends CPU time on it (an idle server spends almost none).
    started = cpu_seconds()
    wait_for(lambda: cpu_seconds() - started > 0.5, "the query never started on the server")
    client.close()

    def idle_for_a_second() -> bool:
        before = cpu_seconds()
        time.sleep(1)
        # A statement still running gets far more than this, even on a loaded machine.
        return cpu_seconds() - before < 0.05

    wait_for(idle_for_a_second, "the server kept running the query after its client went away")
    assert _query(server, "SELECT 1 AS x").json()["data"] == [{"x": 1}]


def test_a_slow_query_does_not_hold_up_other_queries(make_backend) -> None:  # type: ignore[no-untyped-def]
    import threading

    import _dataset

    server: Backend = make_backend(_dataset.fill, query_timeout=6)
    slow_result: list[httpx.Response] = []
    slow = threading.Thread(
        target=lambda: slow_result.append(
            _query(server, "SELECT sum(hash(i)) FROM range(1000000000000) t(i)")
        )
    )
    slow.start()
    try:
        for _ in range(5):
            assert _query(server, "SELECT count(*) AS n FROM records").status_code == 200
        # All five answers came while the slow query was still running.
        assert slow.is_alive()
    finally:
        slow.join()
    assert slow_result[0].status_code == 400


# ---- no query changes what the next one sees; only records and metrics are visible ----

STATE_CHANGING = [
    "SELECT * FROM enable_logging(level := 'info', storage := 'file', storage_path := '/nonexistent')",
    "SELECT * FROM enable_logging()",
    "SELECT * FROM enable_profiling(save_location := '/nonexistent/profile.json')",
    "SELECT * FROM json_execute_serialized_sql(json_serialize_sql('SELECT * FROM store.records'))",
    "SELECT json_serialize_plan('SELECT * FROM enable_logging()')",
    "SELECT setseed(0.5)",
    "SELECT * FROM checkpoint()",
    "SELECT * FROM truncate_duckdb_logs()",
    "SELECT write_log('x')",
    "SELECT nextval('s')",
    "SELECT * FROM duckdb_logs",
]


@pytest.mark.parametrize("sql", STATE_CHANGING)
def test_a_query_that_would_change_the_engine_is_refused_and_the_next_ones_still_work(
    backend: Backend, sql: str
) -> None:
    refused = _query(backend, sql)
    assert refused.status_code == 400
    assert "not available" in refused.json()["detail"]
    # Queries and ingest both still work, and answer as before.
    assert backend.dataset is not None
    assert _query(backend, "SELECT count(*) AS n FROM records").json()["data"] == [
        {"n": len(backend.dataset.visible_records)}
    ]
    ingest = httpx.post(
        f"{backend.base_url}/v1/traces",
        content=b"",
        headers={"Content-Type": "application/x-protobuf"},
        timeout=60,  # the first ingest starts the decoding worker processes
    )
    assert ingest.status_code == 200


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT count(*) FROM store.records",
        "SELECT count(*) FROM store.metrics",
        "SELECT count(*) FROM logfire.store.records",
        "SELECT count(*) FROM main.records",
        "SELECT * FROM duckdb_tables()",
        "SELECT * FROM duckdb_databases()",
        "SELECT * FROM duckdb_settings()",
        "SELECT * FROM duckdb_temporary_files()",
        "SELECT * FROM pragma_database_list",
        "SELECT current_setting('temp_directory')",
        "SELECT current_setting('memory_limit')",
        "SELECT getvariable('x')",
        "SELECT * FROM duckdb_extensions()",
        "SELECT * FROM information_schema.schemata",
        "SELECT * FROM _logfire_keyed",
        "SHOW TABLES",
        "SHOW ALL TABLES",
        "DESCRIBE store.records",
    ],
)
def test_only_records_and_metrics_are_visible_and_no_answer_names_the_data_dir(
    backend: Backend, sql: str
) -> None:
    response = _query(backend, sql)
    assert response.status_code == 400, response.text
    assert str(backend.data_dir) not in response.text
    assert "records" in response.json()["detail"]


@pytest.mark.parametrize(
    "sql",
    [
        # A CTE's name used where it does not name the CTE reaches DuckDB's catalog views: the data dir's
        # path, the settings. (Any CTE name anywhere in the query used to be admitted everywhere.)
        "SELECT * FROM (WITH duckdb_databases AS (SELECT 1) SELECT 1) a, duckdb_databases",
        "SELECT * FROM records WHERE EXISTS (WITH pg_settings AS (SELECT 1) SELECT 1) "
        "AND EXISTS (SELECT * FROM pg_settings)",
        "WITH pg_settings AS (SELECT name FROM pg_settings) SELECT * FROM pg_settings",
        "WITH a AS (SELECT * FROM duckdb_tables), duckdb_tables AS (SELECT 1) SELECT * FROM a",
        "WITH RECURSIVE sqlite_master(name) AS (SELECT name FROM sqlite_master UNION ALL "
        "SELECT name FROM sqlite_master WHERE false) SELECT * FROM sqlite_master",
    ],
)
def test_a_cte_name_reaches_only_its_cte_never_the_catalog(backend: Backend, sql: str) -> None:
    response = _query(backend, sql)
    assert response.status_code == 400, response.text
    assert "is not available" in response.json()["detail"]
    assert str(backend.data_dir) not in response.text


def test_information_schema_describes_only_records_and_metrics(backend: Backend) -> None:
    # DataFusion's information_schema as Logfire users query it: a stand-in over the two tables only.
    for sql in ("SELECT * FROM information_schema.tables", "SELECT * FROM information_schema.columns"):
        response = _query(backend, sql)
        assert response.status_code == 200, response.text
        assert {row["table_name"] for row in response.json()["data"]} == {"records", "metrics"}
        assert str(backend.data_dir) not in response.text


def test_store_tables_by_name_cannot_skip_the_time_window(backend: Backend) -> None:
    with backend.client() as client:
        narrow = {"min_timestamp": "2000-01-01T00:00:00Z", "max_timestamp": "2000-01-02T00:00:00Z"}
        assert client.post("/v2/query", json={"sql": "SELECT count(*) AS n FROM records", **narrow}).json()[
            "data"
        ] == [{"n": 0}]
        assert (
            client.post("/v2/query", json={"sql": "SELECT * FROM store.records", **narrow}).status_code == 400
        )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT upper(message), length(span_name), now() > start_timestamp AS past, random() < 2 AS r "
        "FROM records LIMIT 1",
        "WITH x AS (SELECT level FROM records) SELECT level_name(max(level)) AS l FROM x",
        "SELECT * FROM range(3) t(i) JOIN (SELECT unnest([1, 2]) AS j) u ON i = j",
        "SELECT list_sum([1, 2]) AS s, if(true, 1, 2) AS i, date_trunc('hour', now()) AS h, "
        "time_bucket(INTERVAL '1 hour', start_timestamp) AS b FROM records LIMIT 1",
        "DESCRIBE records",
        "SELECT count(*) AS n FROM metrics WHERE metric_name IN (SELECT metric_name FROM metrics)",
        # CTEs in their own scope (a CTE's name is admitted only there)
        "WITH a AS (SELECT level FROM records), b AS (SELECT * FROM a) SELECT count(*) AS n FROM b, a",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT sum(n) AS s FROM r",
        "WITH a AS (SELECT 1 AS x) SELECT (WITH b AS (SELECT * FROM a) SELECT max(x) FROM b) AS m",
        "WITH records AS (SELECT * FROM records WHERE level > 0) SELECT count(*) AS n FROM records",
    ],
)
def test_ordinary_queries_pass_the_sandbox(backend: Backend, sql: str) -> None:
    response = _query(backend, sql)
    assert response.status_code == 200, response.text
    assert response.json()["data"]


def test_an_unknown_function_is_named_as_unknown(backend: Backend) -> None:
    response = _query(backend, "SELECT metric_wobble(level) AS r FROM records GROUP BY span_name")
    assert response.status_code == 400
    assert response.json()["detail"].startswith("metric_wobble() is not a function this server knows")
