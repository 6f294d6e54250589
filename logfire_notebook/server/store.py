"""Storage of the local backend: one DuckDB database file in the data dir.

The base tables live in the `store` schema and hold every row, pending spans included; queries never see
them directly but through per-query views made by `engine.py`. Appends take Arrow tables with any subset of
the columns and are committed (DuckDB syncs its write-ahead log on commit) before they return.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from logfire_notebook._schema import METRICS, RECORDS, TABLES, Column

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

__all__ = ["DB_FILE", "LOCAL_PROJECT_ID", "WIDE_COUNTS", "Store", "duckdb_type", "store_config"]

DB_FILE = "logfire.duckdb"
LOCAL_PROJECT_ID = "00000000-0000-4000-8000-00000000a11c"

_PG_TO_DUCKDB = {
    "TEXT": "VARCHAR",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "DATE": "DATE",
    "DOUBLE PRECISION": "DOUBLE",
    "INTEGER": "INTEGER",
    "BOOLEAN": "BOOLEAN",
}

# The columns a row's `day` is derived from when the writer does not give it, first non-null wins.
_DAY_SOURCES = {"records": ("start_timestamp",), "metrics": ("recorded_timestamp", "start_timestamp")}

# Settings that make the engine unable to touch the host's files, the network or extensions: the sandbox
# for user queries. They are fixed when the database opens and cannot be changed by a query afterwards.
SANDBOX_CONFIG = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# DuckDB would take 80% of the machine's memory for its buffers; the local backend keeps to a budget and
# spills big sorts to the data dir instead. LOGFIRE_NOTEBOOK_MEMORY_LIMIT (e.g. "2GB") changes it.
DEFAULT_MEMORY_LIMIT = "512MB"


def store_config() -> dict[str, Any]:
    """The DuckDB settings the backend opens its database with."""
    return {
        **SANDBOX_CONFIG,
        "memory_limit": os.environ.get("LOGFIRE_NOTEBOOK_MEMORY_LIMIT", DEFAULT_MEMORY_LIMIT),
    }


# Counts that Logfire's schema calls INTEGER but a long-running service takes past 2**31: stored as BIGINT.
WIDE_COUNTS = frozenset(
    {
        "histogram_count",
        "histogram_bucket_counts",
        "exp_histogram_zero_count",
        "exp_histogram_positive_bucket_counts",
        "exp_histogram_negative_bucket_counts",
    }
)


def duckdb_type(column: Column) -> str:
    base = column.pg_type.removesuffix("[]")
    name = "BIGINT" if column.name in WIDE_COUNTS else _PG_TO_DUCKDB[base]
    return name + ("[]" if column.is_list else "")


def _create_table_sql(name: str, columns: tuple[Column, ...]) -> str:
    defs = []
    for c in columns:
        d = f"{c.name} {duckdb_type(c)}"
        if c.name == "project_id":
            d += f" NOT NULL DEFAULT '{LOCAL_PROJECT_ID}'"
        elif c.name == "created_at":
            d += " NOT NULL DEFAULT now()"
        elif not c.nullable:
            d += " NOT NULL"
        defs.append(d)
    return f"CREATE TABLE IF NOT EXISTS store.{name} ({', '.join(defs)})"


class Store:
    """The `records` and `metrics` tables of one data dir.

    Only one process may open a data dir at a time (DuckDB locks the file). Threads share the one database;
    each thread gets its own connection from `cursor()`.
    """

    def __init__(self, data_dir: Path) -> None:
        import duckdb

        self.data_dir = Path(data_dir)
        # Telemetry holds what services logged, secrets included at times: owner-only, like ~/.ssh.
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        try:
            self._db = duckdb.connect(str(self.path), config=store_config())
        except duckdb.IOException as exc:
            pid = re.search(r"PID (\d+)", str(exc))
            holder = f" (process {pid.group(1)})" if pid else ""
            raise RuntimeError(
                f"the data dir {self.data_dir} is in use by another process{holder}; stop it first, or pass "
                "another --data-dir (is another logfire-notebook server using this data dir?)"
            ) from exc
        os.chmod(self.path, 0o600)
        # json is built in; loading it up front is needed because autoloading is off.
        self._db.execute("LOAD json")
        self._db.execute("CREATE SCHEMA IF NOT EXISTS store")
        for name, columns in TABLES.items():
            self._db.execute(_create_table_sql(name, columns))
        self._widen_counts()
        self._local = threading.local()
        self._write_lock = threading.Lock()

    def _widen_counts(self) -> None:
        """A data dir made before counts were 64-bit gets its count columns widened in place."""
        for c in METRICS:
            if c.name in WIDE_COUNTS:
                rows = self._db.execute(
                    "SELECT data_type FROM information_schema.columns WHERE table_schema = 'store' "
                    "AND table_name = 'metrics' AND column_name = ?",
                    [c.name],
                ).fetchall()
                if rows and rows[0][0] != duckdb_type(c):
                    self._db.execute(f"ALTER TABLE store.metrics ALTER {c.name} TYPE {duckdb_type(c)}")

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the database; the caller keeps it (and whatever it sets up on it)."""
        cur = self._db.cursor()
        # Naive timestamps written or rendered by us are UTC; a query may SET another zone later.
        cur.execute("SET TimeZone = 'UTC'")
        return cur

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """This thread's own connection to the database (created on first use, then reused)."""
        cur: duckdb.DuckDBPyConnection | None = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self.connect()
        return cur

    def append_records(self, table: pa.Table) -> int:
        return self._append("records", RECORDS, table)

    def append_metrics(self, table: pa.Table) -> int:
        return self._append("metrics", METRICS, table)

    def _append(self, name: str, columns: tuple[Column, ...], table: pa.Table) -> int:
        if table.num_rows == 0:
            return 0
        known = {c.name: c for c in columns}
        unknown = [n for n in table.column_names if n not in known]
        if unknown:
            raise ValueError(f"unknown {name} columns: {', '.join(unknown)}")
        given = [known[n] for n in table.column_names if n != "day"]
        targets = [c.name for c in given] + ["day"]
        selects = [f'CAST(incoming."{c.name}" AS {duckdb_type(c)})' for c in given]
        selects.append(self._day_expr(name, table.column_names))
        sql = f"INSERT INTO store.{name} ({', '.join(targets)}) SELECT {', '.join(selects)} FROM incoming"
        cur = self.cursor()
        # One writer at a time keeps appends from conflicting; queries do not take this lock.
        with self._write_lock:
            cur.register("incoming", table)
            try:
                cur.execute(sql)
            finally:
                cur.unregister("incoming")
        return int(table.num_rows)

    @staticmethod
    def _day_expr(name: str, given: list[str]) -> str:
        if "day" in given:
            return 'CAST(incoming."day" AS DATE)'
        sources = [c for c in _DAY_SOURCES[name] if c in given]
        if not sources:
            raise ValueError(f"{name} rows need one of: {', '.join(_DAY_SOURCES[name])}")
        ts = ", ".join(f"CAST(incoming.{c} AS TIMESTAMPTZ)" for c in sources)
        # `day` is the UTC date of the row, whatever the session's time zone.
        return f"CAST(timezone('UTC', coalesce({ts})) AS DATE)"

    def count(self, name: str, where: str = "true") -> int:
        rows = self.cursor().execute(f"SELECT count(*) FROM store.{name} WHERE {where}").fetchall()
        return int(rows[0][0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
