"""Reading entries for a log query: the stream selector and leading line filters become SQL over
`store.loki_entries`, and so does the rest of the pipeline where `sqlpipe.py` can follow it (as a filter:
the Python pipeline (`pipeline.py`) still runs on what comes back and makes the labels).

Log queries read newest-first (or oldest-first) in growing batches and stop once `limit` entries passed the
pipeline, so `| json | status >= 500` over a day touches only the lines it needs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.deadline import Deadline, LokiCancelled, LokiTimeout
from logfire_notebook.server.loki.pipeline import Entry, compile_stages, pattern_regex
from logfire_notebook.server.loki.sqlpipe import compile_pipeline
from logfire_notebook.server.loki.storage import LokiStore, sql_string

__all__ = [
    "Deadline",
    "LokiCancelled",
    "LokiEvalError",
    "LokiQueryError",
    "LokiTimeout",
    "QueryStats",
    "Selected",
    "pushdown",
    "read_entries",
    "select_logs",
]


class LokiQueryError(ValueError):
    """A query that cannot run as asked (HTTP 400); `str()` is the message."""


class LokiEvalError(Exception):
    """A query refused while it is evaluated, such as a vector match that is not one-to-one. Loki's engine
    raises these as plain errors, which its HTTP layer answers with 500 and the message; so do we."""


@dataclass
class QueryStats:
    lines: int = 0
    bytes: int = 0
    returned: int = 0
    streams: int = 0
    post_filter: int = 0  # entries that passed the whole pipeline (a metric query returns none of them)
    started: float = field(default_factory=time.perf_counter)


# Stages that change the line: a line filter after one of these must see the new line, so it runs in Python.
_LINE_CHANGERS = (s.LineFormat, s.Decolorize, s.UnpackParser)


def pushdown(stages: Sequence[s.Stage]) -> tuple[list[s.LineFilter], list[s.Stage]]:
    """Split off the line filters SQL can apply: those before any stage that rewrites the line. Filters
    commute with parsers and label stages, so the others keep their order in the rest."""
    pushed: list[s.LineFilter] = []
    rest: list[s.Stage] = []
    changed = False
    for stage in stages:
        changed = changed or isinstance(stage, _LINE_CHANGERS)
        if isinstance(stage, s.LineFilter) and not changed and not stage.has_ip:
            pushed.append(stage)
        else:
            rest.append(stage)
    return pushed, rest


def _re2(pattern: str) -> str:
    # Python's `(?P<name>` is also RE2's; Loki's `(?<name>` is not RE2 in DuckDB's version, so rename it.
    return pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!")


def filter_sql(stage: s.LineFilter) -> str:
    values = [v for v in stage.values if isinstance(v, str)]  # `pushdown` keeps ip() filters in Python
    if stage.op in ("|=", "!="):
        parts = [f"contains(line, {sql_string(v)})" for v in values]
    elif stage.op in ("|~", "!~"):
        parts = [f"regexp_matches(line, {sql_string(_re2(v))})" for v in values]
    else:
        parts = [f"regexp_matches(line, {sql_string(pattern_regex(v).pattern)})" for v in values]
    either = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
    return either if stage.op in ("|=", "|~", "|>") else f"NOT {either}"


def where_sql(tenant: str, stream_ids: Sequence[int], filters: Sequence[s.LineFilter]) -> str:
    ids = ", ".join(str(int(i)) for i in stream_ids)
    conds = [f"tenant = {sql_string(tenant)}", f"stream_id IN ({ids})", *(filter_sql(f) for f in filters)]
    return " AND ".join(conds)


def narrowed(
    loki: LokiStore, tenant: str, rest: Sequence[s.Stage], streams: dict[int, dict[str, str]]
) -> Callable[[str], str]:
    """A SELECT of `(ts, stream_id, line, metadata)` for the entries a WHERE picks, keeping only those the
    rest of the pipeline may keep: the pipeline in SQL, plus the lines only Python can judge. The Python
    pipeline still runs on what comes back (it makes the labels), so the SQL side only has to let every kept
    entry through."""
    plan = compile_pipeline(rest, streams, loki.any_metadata(tenant, streams)) if rest else None
    columns = "ts, stream_id, line, metadata"
    if plan is None:
        return lambda where: f"SELECT {columns} FROM store.loki_entries WHERE {where}"
    return lambda where: (
        f"SELECT {columns} FROM ({plan.frame(f'SELECT {columns}, json_plain FROM store.loki_entries WHERE {where}')}) "
        f"WHERE {plan.unsure} OR {plan.keep}"
    )


@dataclass
class Selected:
    """One entry a log query returns, with where each of its labels came from."""

    ts: int
    line: str
    labels: dict[str, str]
    stream: dict[str, str]
    metadata: dict[str, str] | None
    parsed: dict[str, str] | None
    plain: bool = False  # no pipeline stage ran: `labels` is exactly `{**stream, **metadata}`


_decode_metadata = msgspec.json.Decoder().decode


def _metadata(text: str | None) -> dict[str, str] | None:
    # The store writes metadata as a JSON object of strings (storage.py); msgspec reads one in a third of
    # json.loads' time, which counts at 5,000 entries an answer.
    if not text:
        return None
    decoded: dict[str, str] = _decode_metadata(text)
    return decoded


def _selected(ts: int, line: str, stream: dict[str, str], metadata: dict[str, str] | None) -> Selected:
    """An entry no pipeline stage touched: its labels are its stream's (the same dict, read-only from
    here on), with its structured metadata over them."""
    return Selected(
        ts, line, {**stream, **metadata} if metadata else stream, stream, metadata, None, plain=True
    )


def select_logs(
    loki: LokiStore,
    tenant: str,
    query: s.LogQuery,
    start_ns: int,
    end_ns: int,
    limit: int,
    forward: bool,
    stats: QueryStats,
    deadline: Deadline,
) -> list[Selected]:
    """The first `limit` entries in [start, end) in the direction asked that pass the whole pipeline."""
    streams = loki.streams(tenant, [query.matchers], start_ns, end_ns)
    stats.streams = len(streams)
    if not streams or limit <= 0:
        return []
    pushed, rest = pushdown(query.stages)
    stages = compile_stages(rest)
    where = where_sql(tenant, list(streams), pushed)
    narrow = narrowed(loki, tenant, rest, streams)
    cur = loki.store.cursor()
    out: list[Selected] = []
    for rows in _batches(
        cur, where, narrow, start_ns, end_ns, limit, forward, pipelined=bool(stages), deadline=deadline
    ):
        if not stages:  # SQL kept exactly the answer (at most `limit` rows): no Entry to run through
            stats.lines += len(rows)
            stats.bytes += sum(len(row[2]) for row in rows)
            out.extend(_selected(ts, line, streams[sid], _metadata(md)) for ts, sid, line, md in rows)
            continue
        for ts, sid, line, metadata in rows:
            stats.lines += 1
            stats.bytes += len(line)
            md = _metadata(metadata)
            entry = Entry(ts, line, streams[sid], md)
            if all(stage(entry) for stage in stages):
                out.append(Selected(ts, entry.line, entry.labels, entry.stream, md, entry.parsed))
                if len(out) >= limit:
                    break
        if len(out) >= limit:
            break
    stats.returned = len(out)
    return out


# A pipeline query reads time slices from the end it starts at: the first is this share of the range, each
# next one twice the last. Slices let DuckDB skip row groups by timestamp instead of sorting the whole range.
_FIRST_SLICE = 1 / 64


def _batches(
    cur: Any,
    where: str,
    narrow: Callable[[str], str],
    start_ns: int,
    end_ns: int,
    limit: int,
    forward: bool,
    *,
    pipelined: bool,
    deadline: Deadline,
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows `(ts, stream_id, line, metadata)` in [start, end) in the direction asked, in batches."""
    order = "ASC" if forward else "DESC"
    width = max(1, int((end_ns - start_ns) * _FIRST_SLICE))
    lo, hi = (start_ns, min(end_ns, start_ns + width)) if forward else (max(start_ns, end_ns - width), end_ns)
    wanted = limit
    while True:
        sql = f"{narrow(f'{where} AND ts >= {lo} AND ts < {hi}')} ORDER BY ts {order}"
        if not pipelined:
            # Every row SQL keeps is an answer: a top-N of what is still wanted from this slice.
            with deadline.watching(cur):
                rows = cur.execute(f"{sql} LIMIT {int(wanted)}").fetchall()
            wanted -= len(rows)
            yield rows
            if wanted <= 0:
                return
        else:
            with deadline.watching(cur):
                cur.execute(sql)
                batch = cur.fetchmany(20_000)
            while batch:
                yield batch
                with deadline.watching(cur):
                    batch = cur.fetchmany(20_000)
        if (forward and hi >= end_ns) or (not forward and lo <= start_ns):
            return
        width *= 2
        lo, hi = (hi, min(end_ns, hi + width)) if forward else (max(start_ns, lo - width), lo)


def read_entries(
    loki: LokiStore,
    tenant: str,
    query: s.LogQuery,
    after_ns: int,
    until_ns: int,
    stats: QueryStats,
    deadline: Deadline,
) -> Iterator[tuple[Any, ...]]:
    """Rows `(ts, stream_id, line, metadata)` with after < ts <= until (a metric query's whole span), the
    pushable line filters applied in SQL, oldest first."""
    streams = loki.streams(tenant, [query.matchers], after_ns + 1, until_ns + 1)
    stats.streams = len(streams)
    if not streams:
        return
    pushed, rest = pushdown(query.stages)
    where = where_sql(tenant, list(streams), pushed) + f" AND ts > {int(after_ns)} AND ts <= {int(until_ns)}"
    source = narrowed(loki, tenant, rest, streams)(where)
    cur = loki.store.cursor()
    with deadline.watching(cur):
        cur.execute(f"{source} ORDER BY ts")
    while True:
        with deadline.watching(cur):
            rows = cur.fetchmany(50_000)
        if not rows:
            return
        yield from rows


def max_rowid(loki: LokiStore) -> int:
    row = loki.store.cursor().execute("SELECT coalesce(max(rowid), -1) FROM store.loki_entries").fetchone()
    return int(row[0]) if row else -1


def select_appended(
    loki: LokiStore, tenant: str, query: s.LogQuery, after_rowid: int, batch: int
) -> tuple[list[Selected], int, bool]:
    """Entries stored after row `after_rowid` that pass the query, in commit order, at most `batch` rows
    read; the row id to continue after; and whether that caught up with the table. Rows are appended in
    commit order, so following the row id sees each new entry exactly once (for `tail`)."""
    newest = max_rowid(loki)
    if newest <= after_rowid:
        return [], after_rowid, True
    streams = loki.streams(tenant, [query.matchers], -(2**62), 2**62)
    if not streams:
        return [], newest, True
    pushed, rest = pushdown(query.stages)
    stages = compile_stages(rest)
    where = (
        where_sql(tenant, list(streams), pushed) + f" AND rowid > {int(after_rowid)} AND rowid <= {newest}"
    )
    rows = (
        loki.store.cursor()
        .execute(
            f"SELECT rowid, ts, stream_id, line, metadata FROM store.loki_entries WHERE {where} "
            f"ORDER BY rowid LIMIT {int(batch)}"
        )
        .fetchall()
    )
    out = []
    for _rowid, ts, sid, line, metadata in rows:
        md = _metadata(metadata)
        entry = Entry(ts, line, streams[sid], md)
        if all(stage(entry) for stage in stages):
            out.append(Selected(ts, entry.line, entry.labels, entry.stream, md, entry.parsed))
    if len(rows) < batch:
        return out, newest, True
    return out, int(rows[-1][0]), False
