"""Running one user query: sandbox checks, the time window, the dialect, the row limit, the time limit.

Each query runs on its calling thread's own DuckDB connection. Before it runs, that connection gets TEMP
views named `records` and `metrics` that show only the requested time window and environments (and, for
`records`, no pending spans), so the user's SQL sees nothing else. The database is opened with external
access and extension loading off (`store.SANDBOX_CONFIG`), and only a single SELECT statement is accepted,
so a query can neither write nor read the host's files or the network.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from logfire_notebook._schema import TABLES
from logfire_notebook.server import dialect

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from logfire_notebook.server.store import Store

__all__ = ["MAX_LIMIT", "Engine", "QueryError", "QueryRequest", "QueryResult", "RequestError"]

MAX_LIMIT = 10_000


class QueryError(Exception):
    """The query itself failed (HTTP 400); the message is what the engine said."""


class RequestError(Exception):
    """The request is malformed (HTTP 422); `field` names the bad part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class QueryRequest:
    sql: str
    limit: int
    min_timestamp: datetime | None = None
    max_timestamp: datetime | None = None
    timezone: str | None = None
    environments: list[str] | None = None


@dataclass
class QueryResult:
    table: pa.Table
    """Normalised by `formats.normalize`: plain utf8, timestamp[us, UTC], list items named `item`."""
    nullable: list[bool] = field(default_factory=list)


class Interrupter:
    """Lets another thread stop a running query (time limit, client gone)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cursor: duckdb.DuckDBPyConnection | None = None
        self.reason: str | None = None

    def attach(self, cursor: duckdb.DuckDBPyConnection | None) -> None:
        with self._lock:
            self._cursor = cursor

    def interrupt(self, reason: str) -> None:
        with self._lock:
            if self._cursor is not None and self.reason is None:
                self.reason = reason
                self._cursor.interrupt()


def _ts_literal(value: datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return "TIMESTAMPTZ '" + value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f") + "+00'"


def _str_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _window(column: str, req: QueryRequest) -> list[str]:
    conds = []
    if req.min_timestamp is not None:
        conds.append(f"{column} >= {_ts_literal(req.min_timestamp)}")
    if req.max_timestamp is not None:
        conds.append(f"{column} < {_ts_literal(req.max_timestamp)}")
    if req.environments is not None:
        named = [e for e in req.environments if e != ""]
        parts = []
        if named:
            parts.append(f"deployment_environment IN ({', '.join(_str_literal(e) for e in named)})")
        # The official SDK documents '' as "rows with no environment".
        if "" in req.environments:
            parts.append("coalesce(deployment_environment, '') = ''")
        conds.append("(" + " OR ".join(parts) + ")" if parts else "false")
    return conds


def _view_sql(req: QueryRequest) -> list[str]:
    records = ["kind <> 'pending_span'", *_window("start_timestamp", req)]
    metrics = ["true", *_window("recorded_timestamp", req)]
    return [
        f"CREATE OR REPLACE TEMP VIEW records AS SELECT * FROM store.records WHERE {' AND '.join(records)}",
        f"CREATE OR REPLACE TEMP VIEW metrics AS SELECT * FROM store.metrics WHERE {' AND '.join(metrics)}",
    ]


def _first_line(message: str) -> str:
    # DuckDB appends a caret drawing of the position after a blank line; the first part says it all.
    return message.split("\n\n", 1)[0].strip()


class Engine:
    def __init__(self, store: Store, query_timeout: float = 30.0) -> None:
        self.store = store
        self.query_timeout = query_timeout
        self._prepared: set[int] = set()
        self._lock = threading.Lock()

    def _cursor(self) -> duckdb.DuckDBPyConnection:
        cur = self.store.cursor()
        if id(cur) not in self._prepared:
            for macro in dialect.MACROS:
                cur.execute(macro)
            with self._lock:
                self._prepared.add(id(cur))
        return cur

    def check(self, cur: duckdb.DuckDBPyConnection, sql: str) -> str:
        """The one SELECT statement of `sql`, without its trailing semicolon; else QueryError."""
        import duckdb

        try:
            statements = cur.extract_statements(sql)
        except duckdb.Error as exc:
            raise QueryError(_first_line(str(exc))) from None
        if len(statements) != 1:
            raise QueryError(
                f"Only a single SELECT statement can be run per query; got {len(statements)} statements."
            )
        stmt = statements[0]
        if stmt.type != duckdb.StatementType.SELECT:
            # Name it as the user wrote it (DuckDB files INSTALL under LOAD, for one).
            first = str(stmt.query).strip().split(None, 1)[0].upper() if str(stmt.query).strip() else ""
            kind = first if first.isalpha() and first != "WITH" else stmt.type.name.replace("_", " ")
            raise QueryError(
                f"Only SELECT queries can run here; this is {'an' if kind[:1] in 'AEIOU' else 'a'} {kind} "
                "statement. Queries are read-only."
            )
        return str(stmt.query).strip().rstrip(";").rstrip()

    def run(self, req: QueryRequest, interrupter: Interrupter | None = None) -> QueryResult:
        import duckdb

        from logfire_notebook.server import formats

        if not req.sql.strip():
            raise RequestError("sql", "The `sql` field is empty; send a SELECT query.")
        cur = self._cursor()
        select = self.check(cur, dialect.rewrite(req.sql))
        try:
            cur.execute(f"SET TimeZone = {_str_literal(req.timezone or 'UTC')}")
        except duckdb.Error:
            cur.execute("SET TimeZone = 'UTC'")
            raise RequestError(
                "timezone", f"Unknown `timezone` {req.timezone!r}; use an IANA name such as 'Europe/Paris'."
            ) from None
        for view in _view_sql(req):
            cur.execute(view)
        wrapped = f"SELECT * FROM (\n{select}\n) AS _logfire_query LIMIT {int(req.limit)}"
        interrupter = interrupter or Interrupter()
        interrupter.attach(cur)
        timer = threading.Timer(
            self.query_timeout, interrupter.interrupt, args=(f"ran longer than {self.query_timeout:g} s",)
        )
        timer.daemon = True
        timer.start()
        try:
            table = cur.sql(wrapped).to_arrow_table()
        except duckdb.InterruptException:
            reason = interrupter.reason or "was interrupted"
            raise QueryError(
                f"The query was stopped because it {reason}; narrow the time range or simplify the query."
            ) from None
        except duckdb.Error as exc:
            raise QueryError(_first_line(str(exc))) from None
        finally:
            timer.cancel()
            interrupter.attach(None)
        nullable = _nullability(cur, select, table.column_names)
        return QueryResult(formats.normalize(table, nullable), nullable)


def _nullability(cur: duckdb.DuckDBPyConnection, select: str, names: list[str]) -> list[bool]:
    """Which output columns may hold NULL, as DataFusion would say it (DuckDB does not track this).

    A plain reference to a NOT NULL column of `records`/`metrics` and a count are not nullable; anything
    else is. The parse tree of the query tells which output column is which.
    """
    nullable = [True] * len(names)
    try:
        row = cur.execute("SELECT json_serialize_sql($1)", [select]).fetchone()
        node: dict[str, Any] = json.loads(row[0])["statements"][0]["node"] if row else {}
    except Exception:
        return nullable
    if node.get("type") != "SELECT_NODE":
        return nullable
    source = node.get("from_table") or {}
    table = source.get("table_name") if source.get("type") == "BASE_TABLE" else None
    required = _not_null_columns(table)
    exprs = node.get("select_list") or []
    if len(exprs) != len(names) or any(e.get("class") == "STAR" for e in exprs):
        star_ok = len(exprs) == 1 and exprs[0].get("class") == "STAR" and table in TABLES
        return [n not in required for n in names] if star_ok else nullable
    for i, expr in enumerate(exprs):
        if expr.get("class") == "COLUMN_REF":
            nullable[i] = expr["column_names"][-1] not in required
        elif expr.get("class") in ("FUNCTION", "AGGREGATE") and expr.get("function_name") in (
            "count",
            "count_star",
        ):
            nullable[i] = False
    return nullable


def _not_null_columns(table: str | None) -> set[str]:
    # From a join or a subquery a column may come out NULL even if its source is NOT NULL: claim nothing.
    if table in TABLES:
        return {c.name for c in TABLES[table] if not c.nullable}
    return set()
