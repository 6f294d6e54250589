"""Running one user query: sandbox checks, the time window, the dialect, the row limit, the time limit.

Each query runs on its calling thread's own DuckDB connection, held with the state set up on it (the
dialect's macros, the views of the last window) in one `_Session` that lives and dies with the thread, so a
new thread never finds state meant for another connection. Before a query runs, its connection gets TEMP
views named `records` and `metrics` that show only the requested time window and environments (and, for
`records`, no pending spans). The database is opened with external access and extension loading off
(`store.SANDBOX_CONFIG`), only a single SELECT statement is accepted, and `sandbox.py` checks the parse tree
against an allowlist of tables and functions, so a query can neither read nor change anything but its own
answer. The shared watchdog thread (`watchdog.py`) interrupts a query that runs past the time limit; the app
interrupts one whose client has gone.

The row limit wraps the query (`SELECT * FROM (<sql>) LIMIT n`). Plain "latest N rows" queries take a
faster path that reads only the top rows (see the end of this module). Output columns get DataFusion's
nullability from the parse tree, since DuckDB reports every column as nullable.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from logfire_notebook._schema import TABLES
from logfire_notebook.server import column_names, dialect, sandbox, sql_metrics
from logfire_notebook.server.watchdog import WATCHDOG

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from logfire_notebook.server.store import Store

__all__ = ["MAX_LIMIT", "Engine", "QueryError", "QueryRequest", "QueryResult", "RequestError"]

MAX_LIMIT = 10_000
MAX_ANSWER_BYTES = 128 * 1024 * 1024
"""An answer larger than this (as Arrow, before rendering) is refused with a 400 that says to narrow it."""
MEMORY_BOUND_BYTES = 2 * 1024 * 1024 * 1024
"""When the server process holds more than this, running queries are stopped (see `_MemoryWatch`)."""
_BATCH_ROWS = 256
_T = TypeVar("_T")


class QueryError(Exception):
    """The query itself failed (HTTP 400); the message is what the engine said.

    `drawing` is DuckDB's picture of where in the SQL it stopped ("LINE 2: ...", then a caret), if any;
    `located(sql)` turns it into DataFusion's "at Line: L, Column: C" for the SQL the user wrote."""

    def __init__(self, message: str, drawing: str = "") -> None:
        super().__init__(message)
        self.drawing = drawing

    def located(self, sql: str) -> QueryError:
        position = _position(self.drawing, sql)
        if position is None:
            return self
        return QueryError(f"{self} at Line: {position[0]}, Column: {position[1]}")


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
    explain: bool = False


@dataclass
class QueryResult:
    table: pa.Table
    """Normalised by `formats.normalize`: plain utf8, timestamp[us, UTC], list items named `item`."""
    nullable: list[bool] = field(default_factory=list)
    plans: dict[str, str] | None = None
    """With `explain`: `logical_plan`, `physical_plan` and `physical_plan_with_metrics` (DuckDB's)."""


class _MemoryWatch:
    """Stops running queries when the process holds more memory than `MEMORY_BOUND_BYTES`.

    DuckDB keeps its buffers under its `memory_limit`, but the strings, lists and aggregate states a query
    builds are not counted there; this is the bound for those. Reads the resident size from /proc
    (Linux); elsewhere it does nothing.
    """

    def __init__(self, bound: int) -> None:
        self.bound = bound
        self._lock = threading.Lock()
        self._running: set[Interrupter] = set()
        self._thread: threading.Thread | None = None

    def watch(self, interrupter: Interrupter) -> None:
        with self._lock:
            self._running.add(interrupter)
            if self._thread is None and _resident_bytes() is not None:
                self._thread = threading.Thread(target=self._loop, name="query-memory-watch", daemon=True)
                self._thread.start()

    def unwatch(self, interrupter: Interrupter) -> None:
        with self._lock:
            self._running.discard(interrupter)

    def _loop(self) -> None:
        while True:
            time.sleep(0.1)
            with self._lock:
                running = list(self._running)
            if running and (_resident_bytes() or 0) > self.bound:
                for interrupter in running:
                    interrupter.interrupt(f"needed more than {self.bound // 2**20} MiB of memory")


def _resident_bytes() -> int | None:
    import os

    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


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


@dataclass(eq=False)
class _TimeLimit:
    """The watchdog's alarm for one statement: at `at`, interrupt it as past the time limit."""

    at: float
    interrupter: Interrupter
    seconds: float

    def fire(self) -> None:
        self.interrupter.interrupt(f"ran longer than {self.seconds:g} s")


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
    range_start = _ts_literal(req.min_timestamp) if req.min_timestamp is not None else None
    metrics_select = sql_metrics.view_select(
        "store.metrics",
        " AND ".join(metrics),
        range_start=range_start,
        increase=sql_metrics.needs_increase(req.sql),
    )
    return [
        f"CREATE OR REPLACE TEMP VIEW records AS SELECT * FROM store.records WHERE {' AND '.join(records)}",
        f"CREATE OR REPLACE TEMP VIEW metrics AS {metrics_select}",
    ]


def _without_trailing_semicolons(sql: str) -> str:
    """The statement without the `;` (and any comment after it) that end it, so it can be wrapped."""
    import duckdb

    tokens = duckdb.tokenize(sql)
    while tokens and (
        tokens[-1][1] == duckdb.token_type.comment or sql[tokens[-1][0] :].strip().startswith(";")
    ):
        tokens.pop()
    if not tokens:
        return sql.strip()
    last_start = tokens[-1][0]
    # The last token runs up to the next token (a `;` or a comment) or the end of the text.
    rest = sql[last_start:]
    for i, ch in enumerate(rest):
        if (ch == ";" or rest.startswith(("--", "/*"), i)) and _outside_quotes(rest[:i]):
            rest = rest[:i]
            break
    return (sql[:last_start] + rest).rstrip()


def _outside_quotes(text: str) -> bool:
    return text.count("'") % 2 == 0 and text.count('"') % 2 == 0


def _first_line(message: str) -> str:
    # DuckDB appends a caret drawing of the position after a blank line; the first part says it all.
    return message.split("\n\n", 1)[0].strip()


def _engine_error(message: str) -> QueryError:
    """QueryError for a DuckDB message: its first part, and the caret drawing kept for `located`."""
    first, _, rest = message.partition("\n\n")
    return QueryError(first.strip(), rest)


def _position(drawing: str, sql: str) -> tuple[int, int] | None:
    """(line, column) in `sql` of the caret in DuckDB's drawing, found by the text the drawing shows
    (DuckDB saw the rewritten, wrapped query; the user's SQL is what the numbers must refer to)."""
    import re

    match = re.search(r"^LINE \d+: (.*)\n( *)\^", drawing, re.M)
    if not match:
        return None
    snippet, caret = match.group(1), len(match.group(2)) - len(match.group(0).split(": ", 1)[0]) - 2
    prefix = "..." if snippet.startswith("...") else ""
    shown = snippet.removeprefix("...").removesuffix("...")
    caret -= len(prefix)
    at = sql.find(shown) if shown.strip() else -1
    if at < 0 or sql.find(shown, at + 1) >= 0 or not 0 <= caret <= len(shown):
        return (
            None  # not in the user's text (a rewritten line) or not once: better no position than a wrong one
        )
    offset = at + caret
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


class _Session:
    """One thread's connection and the state set up on it; both go when the thread goes."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor
        for macro in (*dialect.MACROS, *sandbox.BOUNDED_MACROS):
            cursor.execute(macro)
        self.views: list[str] | None = None
        """The view statements last run on this connection: the window its `records`/`metrics` show."""


class Engine:
    def __init__(self, store: Store, query_timeout: float = 30.0) -> None:
        self.store = store
        self.query_timeout = query_timeout
        self._local = threading.local()
        self._memory = _MemoryWatch(MEMORY_BOUND_BYTES)

    def _session(self) -> _Session:
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session(self.store.connect())
        return session

    def check(self, cur: duckdb.DuckDBPyConnection, sql: str) -> str:
        """The one SELECT statement of `sql`, without its trailing semicolon; else QueryError."""
        import duckdb

        try:
            statements = cur.extract_statements(sql)
        except duckdb.Error as exc:
            raise _engine_error(str(exc)) from None
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
        return _without_trailing_semicolons(str(stmt.query))

    def run(self, req: QueryRequest, interrupter: Interrupter | None = None) -> QueryResult:
        """The answer to `req`; QueryError (400) for anything the query itself gets wrong, wherever the
        engine finds it (parsing, planning, running), with the line and column of the user's SQL where
        DuckDB drew them; RequestError (422) for a bad field."""
        import duckdb

        try:
            return self._run(req, interrupter or Interrupter())
        except QueryError as exc:
            raise exc.located(req.sql) from None
        except duckdb.Error as exc:
            raise _engine_error(str(exc)).located(req.sql) from None
        except RecursionError:
            raise QueryError("This query nests too deeply to run; simplify it.") from None

    def _run(self, req: QueryRequest, interrupter: Interrupter) -> QueryResult:
        import duckdb

        from logfire_notebook.server import formats

        if not req.sql.strip():
            raise RequestError("sql", "The `sql` field is empty; send a SELECT query.")
        session = self._session()
        cur = session.cursor
        select = self.check(cur, dialect.rewrite(req.sql))
        try:
            cur.execute(f"SET TimeZone = {_str_literal(req.timezone or 'UTC')}")
        except duckdb.Error:
            cur.execute("SET TimeZone = 'UTC'")
            raise RequestError(
                "timezone", f"Unknown `timezone` {req.timezone!r}; use an IANA name such as 'Europe/Paris'."
            ) from None
        views = _view_sql(req)
        # A widget or a notebook re-running over the same range finds its views already in place.
        if session.views != views:
            session.views = None  # if a statement below fails, the next query sets them all again
            for view in views:
                cur.execute(view)
            session.views = views
        node = _parse(cur, select)
        try:
            sandbox.check_tree(node, sandbox.pure_functions(cur))
        except sandbox.SandboxError as exc:
            raise QueryError(str(exc)) from None
        table = None
        try:
            fast = _top_rows_sql(cur, node, req)
        except duckdb.Error:
            fast = None  # the plain plan below reports the user's own error, if any
        if fast is not None:
            try:
                table = self._execute(cur, fast, req.limit, interrupter)
            except QueryError:
                if interrupter.reason is not None:
                    raise
                table = None  # the plain plan below reports the user's own error, if any
        if table is None:
            table = self._execute(cur, select, req.limit, interrupter)
        names = column_names.datafusion_names(node, table.column_names)
        if names != table.column_names:
            table = table.rename_columns(names)
        nullable = _nullability(node, table.column_names)
        plans = self._explain(cur, select, req.limit, interrupter) if req.explain else None
        return QueryResult(formats.normalize(table, nullable), nullable, plans)

    def _explain(
        self, cur: duckdb.DuckDBPyConnection, select: str, limit: int, interrupter: Interrupter
    ) -> dict[str, str]:
        """The plans of the query as it ran: optimised logical, physical, and physical with the counts and
        times of one more run (EXPLAIN ANALYZE)."""
        wrapped = _wrapped(select, limit)
        cur.execute("SET explain_output = 'all'")
        try:
            plans = dict(self._timed(cur, interrupter, lambda: cur.execute(f"EXPLAIN {wrapped}").fetchall()))
        finally:
            cur.execute("RESET explain_output")
        analyzed = self._timed(cur, interrupter, lambda: cur.execute(f"EXPLAIN ANALYZE {wrapped}").fetchall())
        return {
            "logical_plan": str(plans.get("logical_opt") or plans.get("logical_plan") or ""),
            "physical_plan": str(plans.get("physical_plan") or ""),
            "physical_plan_with_metrics": str(analyzed[0][1]) if analyzed else "",
        }

    def _execute(
        self, cur: duckdb.DuckDBPyConnection, select: str, limit: int, interrupter: Interrupter
    ) -> pa.Table:
        """Runs `select` under the row limit, the answer-size cap, the time limit and the memory bound."""
        wrapped = _wrapped(select, limit)

        def fetch() -> pa.Table:
            return _fetch_capped(cur.sql(wrapped))

        return self._timed(cur, interrupter, fetch)

    def _timed(self, cur: duckdb.DuckDBPyConnection, interrupter: Interrupter, work: Callable[[], _T]) -> _T:
        """Runs `work` on `cur` under the time limit and the memory bound; engine errors become QueryError."""
        import duckdb

        interrupter.attach(cur)
        self._memory.watch(interrupter)
        alarm = _TimeLimit(time.monotonic() + self.query_timeout, interrupter, self.query_timeout)
        WATCHDOG.watch(alarm)
        try:
            return work()
        except (duckdb.Error, OSError) as exc:
            # OSError: an engine error met while Arrow reads the answer's batches (out of memory, say).
            if interrupter.reason is not None or isinstance(exc, duckdb.InterruptException):
                raise QueryError(
                    f"The query was stopped because it {interrupter.reason or 'was interrupted'}; narrow the "
                    "time range or simplify the query."
                ) from None
            error = _engine_error(str(exc))
            if str(error).startswith("Out of Memory Error"):
                raise QueryError(
                    f"{error}: the query needs more memory than the local backend allows; narrow the time "
                    "range or simplify the query."
                ) from None
            raise error from None
        finally:
            WATCHDOG.unwatch(alarm)
            self._memory.unwatch(interrupter)
            interrupter.attach(None)


def _fetch_capped(relation: duckdb.DuckDBPyRelation) -> pa.Table:
    """The relation's rows as one Arrow table, fetched in batches so an answer over MAX_ANSWER_BYTES is
    refused before it is all in memory."""
    import pyarrow as pa

    # DuckDB 1.x calls it fetch_record_batch(); 2.x to_arrow_reader().
    open_reader = getattr(relation, "to_arrow_reader", None) or relation.fetch_record_batch
    reader = open_reader(_BATCH_ROWS)
    batches = []
    size = 0
    try:
        for batch in reader:
            size += batch.nbytes
            if size > MAX_ANSWER_BYTES:
                raise QueryError(
                    f"The answer is larger than {MAX_ANSWER_BYTES // 2**20} MiB; narrow the query: fewer "
                    "columns, a shorter time range or a lower limit."
                )
            batches.append(batch)
        return pa.Table.from_batches(batches, schema=reader.schema)
    finally:
        reader.close()


def _wrapped(select: str, limit: int) -> str:
    return f"SELECT * FROM (\n{select}\n) AS _logfire_query LIMIT {int(limit)}"


def _parse(cur: duckdb.DuckDBPyConnection, select: str) -> dict[str, Any]:
    """DuckDB's parse tree of the statement (json_serialize_sql); QueryError if it cannot give one, since
    the sandbox checks the query on this tree."""
    try:
        rows = cur.execute("SELECT json_serialize_sql($1)", [select]).fetchall()
        tree = json.loads(rows[0][0]) if rows else {}
        node: dict[str, Any] = tree["statements"][0]["node"]
    except (RecursionError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise QueryError(
            "This query is nested too deeply to check; simplify it."
            if isinstance(exc, RecursionError)
            else "This form of query cannot run here; write it as a plain SELECT (PIVOT, for one, works inside "
            "a SELECT's FROM only when DuckDB can describe it)."
        ) from None
    except Exception as exc:  # a duckdb.Error: the parser's own message
        raise _engine_error(str(exc)) from None
    return node


def _nullability(node: dict[str, Any], names: list[str]) -> list[bool]:
    """Which output columns may hold NULL, as DataFusion would say it (DuckDB does not track this).

    A plain reference to a NOT NULL column of `records`/`metrics` and a count are not nullable; anything
    else is. The parse tree of the query tells which output column is which.
    """
    nullable = [True] * len(names)
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
        elif expr.get("class") == "CONSTANT":
            literal = expr.get("literal") or {}
            nullable[i] = str(literal.get("kind", "NULL")).upper().startswith("NULL")
    return nullable


def _not_null_columns(table: str | None) -> set[str]:
    # From a join or a subquery a column may come out NULL even if its source is NOT NULL: claim nothing.
    if table in TABLES:
        return {c.name for c in TABLES[table] if not c.nullable}
    return set()


# ---- latest-N fast path ----
#
# `SELECT ... FROM records WHERE ... ORDER BY start_timestamp DESC` with a row limit of thousands is what
# tables and widgets ask for all the time. DuckDB sorts whole rows for it (it keeps its top-N with late
# materialisation for limits of at most 50), which at a million wide rows takes seconds and most of a
# gigabyte. For such plain queries we first find the row ids of the top N rows (sorting only the ORDER BY
# keys), then run the user's query on just those rows. Anything not plainly of that shape takes the
# ordinary path.

_FAST_MIN_LIMIT = 51
_aggregate_names: set[str] = set()


def _aggregates(cur: duckdb.DuckDBPyConnection) -> set[str]:
    if not _aggregate_names:
        rows = cur.execute(
            "SELECT DISTINCT function_name FROM duckdb_functions() WHERE function_type = 'aggregate'"
        )
        _aggregate_names.update(r[0] for r in rows.fetchall())
    return _aggregate_names


def _has_aggregate_or_window(value: Any, aggregates: set[str]) -> bool:
    if isinstance(value, dict):
        cls = value.get("class")
        if cls == "SUBQUERY":
            return False  # a subquery's aggregates do not make the outer query an aggregation
        if cls == "WINDOW" or (cls in ("FUNCTION", "AGGREGATE") and value.get("function_name") in aggregates):
            return True
        return any(_has_aggregate_or_window(v, aggregates) for v in value.values())
    if isinstance(value, list):
        return any(_has_aggregate_or_window(v, aggregates) for v in value)
    return False


def _top_rows_sql(cur: duckdb.DuckDBPyConnection, node: dict[str, Any], req: QueryRequest) -> str | None:
    """The user's query rewritten to read only its top rows by row id, or None if it is not that shape."""
    source = node.get("from_table") or {}
    table = source.get("table_name")
    modifiers = node.get("modifiers") or []
    kinds = [m.get("type") for m in modifiers]
    if (
        node.get("type") != "SELECT_NODE"
        or source.get("type") != "BASE_TABLE"
        or table not in TABLES
        or source.get("schema_name")
        or source.get("catalog_name")
        or (node.get("cte_map") or {}).get("map")
        or node.get("group_expressions")
        or node.get("group_sets")
        or str(node.get("aggregate_handling", "STANDARD_HANDLING")) != "STANDARD_HANDLING"
        or node.get("having")
        or node.get("qualify")
        or node.get("sample")
        or "ORDER_MODIFIER" not in kinds
        or any(k not in ("ORDER_MODIFIER", "LIMIT_MODIFIER") for k in kinds)
    ):
        return None
    limit = req.limit
    for m in modifiers:
        if m.get("type") == "LIMIT_MODIFIER":
            given = (m.get("limit") or {}).get("literal") or {}
            if (
                m.get("offset")
                or m.get("limit_type") != "ROW_COUNT"
                or given.get("kind") not in ("INTEGER", "BIGINT")
            ):
                return None
            limit = min(limit, int(given["text"]))
    if limit < _FAST_MIN_LIMIT:
        return None
    if _has_aggregate_or_window(
        [node.get("select_list"), modifiers, node.get("where_clause")], _aggregates(cur)
    ):
        return None

    def with_source(name: str, extra: list[dict[str, Any]] | None = None) -> str | None:
        changed = json.loads(json.dumps(node))
        changed["from_table"]["table_name"] = name
        changed["from_table"]["qualified_name"] = {"path": [name]}
        # Keep the name the query knows the table by: `records.level` still binds.
        changed["from_table"]["alias"] = alias
        if extra:
            changed["select_list"].extend(extra)
        # The LIMIT as DuckDB itself serialises it.
        limit_mod = next(
            m for m in _parse(cur, f"SELECT 1 LIMIT {limit}")["modifiers"] if m["type"] == "LIMIT_MODIFIER"
        )
        changed["modifiers"] = [m for m in changed["modifiers"] if m.get("type") != "LIMIT_MODIFIER"] + [
            limit_mod
        ]
        row = cur.execute(
            "SELECT json_deserialize_sql($1)",
            [json.dumps({"error": False, "statements": [{"node": changed}]})],
        ).fetchall()
        return str(row[0][0]) if row else None

    alias = source.get("alias") or table
    key_ref = {
        "class": "COLUMN_REF",
        "type": "COLUMN_REF",
        "alias": "_logfire_key",
        "column_names": [alias, "_logfire_rowid"],
    }
    try:
        key_sql = with_source("_logfire_keyed", [key_ref])
        final_sql = with_source("_logfire_top")
    except Exception:
        return None
    if not key_sql or not final_sql:
        return None
    window = _window("start_timestamp" if table == "records" else "recorded_timestamp", req)
    if table == "records":
        window.insert(0, "kind <> 'pending_span'")
    where = " AND ".join(window) or "true"
    if table == "metrics":
        # The same columns as the `metrics` view, `value` included (its increase is never needed here:
        # a query with metric_rate or the like is an aggregation, which does not take this path).
        keyed = sql_metrics.view_select(
            "(SELECT rowid AS _logfire_rowid, * FROM store.metrics)", where, range_start=None, increase=False
        )
        top = sql_metrics.view_select(
            "store.metrics",
            f"rowid IN (SELECT _logfire_key FROM ({key_sql}))",
            range_start=None,
            increase=False,
        )
    else:
        keyed = f"SELECT rowid AS _logfire_rowid, * FROM store.{table} WHERE {where}"
        top = f"SELECT * FROM store.{table} WHERE rowid IN (SELECT _logfire_key FROM ({key_sql}))"
    try:
        cur.execute(f"CREATE OR REPLACE TEMP VIEW _logfire_keyed AS {keyed}")
        cur.execute(f"CREATE OR REPLACE TEMP VIEW _logfire_top AS {top}")
    except Exception:
        return None  # a shape this path does not cover: the plain path runs the query (or says what is wrong)
    return final_sql
