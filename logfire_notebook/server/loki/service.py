"""What each Loki endpoint computes, apart from HTTP: parse, evaluate, shape the answer body."""

from __future__ import annotations

import functools
from typing import Any

from logfire_notebook.server.loki import answers
from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.metrics import Context, Scalar, evaluate
from logfire_notebook.server.loki.params import RangeParams, default_step, steps
from logfire_notebook.server.loki.parser import LogQLSyntaxError, parse
from logfire_notebook.server.loki.pipeline import PipelineError
from logfire_notebook.server.loki.select import Deadline, LokiQueryError, QueryStats, select_logs, where_sql
from logfire_notebook.server.loki.storage import LokiStore

__all__ = [
    "QUERY_TIMEOUT",
    "index_stats",
    "instant_query",
    "label_names",
    "label_values",
    "range_query",
    "series",
    "volume",
]

QUERY_TIMEOUT = 30.0
INSTANT_LOG_QUERY = (
    "log queries are not supported as an instant query type, please change your query to a range query type"
)


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> s.Expr:
    # Dashboards and notebooks send the same queries again and again, and a parsed query is immutable
    # (frozen dataclasses all the way down), so one parse serves them all; errors are not cached.
    try:
        return parse(text)
    except LogQLSyntaxError as exc:
        raise LokiQueryError(str(exc)) from None


def _success(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data}


def range_query(
    loki: LokiStore, tenant: str, p: RangeParams, *, categorize: bool, deadline: Deadline | None = None
) -> dict[str, Any]:
    expr = _parse(p.query)
    stats = QueryStats()
    deadline = deadline or Deadline(QUERY_TIMEOUT)
    try:
        if isinstance(expr, s.LogQuery):
            entries = select_logs(
                loki, tenant, expr, p.start_ns, p.end_ns, p.limit, p.forward, stats, deadline
            )
            data: dict[str, Any] = {"resultType": "streams"}
            if categorize:
                data["encodingFlags"] = [answers.CATEGORIZE]
            data["result"] = answers.streams(entries, forward=p.forward, categorize=categorize)
            data["stats"] = answers.stats(stats)
            return _success(data)
        step = p.step_ns or default_step(p.start_ns, p.end_ns)
        at = steps(p.start_ns, p.end_ns, step)
        result = evaluate(Context(loki, tenant, at, stats, deadline), expr)
    except PipelineError as exc:
        raise LokiQueryError(str(exc)) from None
    stats.returned = 0
    return _success(
        {"resultType": "matrix", "result": answers.matrix(result, at), "stats": answers.stats(stats)}
    )


def instant_query(
    loki: LokiStore, tenant: str, query: str, at_ns: int, *, deadline: Deadline | None = None
) -> dict[str, Any]:
    expr = _parse(query)
    if isinstance(expr, s.LogQuery):
        raise LokiQueryError(INSTANT_LOG_QUERY)
    stats = QueryStats()
    try:
        result = evaluate(Context(loki, tenant, [at_ns], stats, deadline or Deadline(QUERY_TIMEOUT)), expr)
    except PipelineError as exc:
        raise LokiQueryError(str(exc)) from None
    if isinstance(result, Scalar):
        return _success(
            {"resultType": "scalar", "result": answers.scalar(result, at_ns), "stats": answers.stats(stats)}
        )
    vector = answers.vector(result, at_ns, by_labels=not _sorts_by_value(expr))
    return _success({"resultType": "vector", "result": vector, "stats": answers.stats(stats)})


def _sorts_by_value(expr: s.Expr) -> bool:
    """Whether sort() or sort_desc() is anywhere in the query (Loki then keeps an instant answer's order)."""
    if isinstance(expr, s.VectorAggregation):
        return expr.op in ("sort", "sort_desc") or _sorts_by_value(expr.expr)
    if isinstance(expr, s.Binary):
        return _sorts_by_value(expr.left) or _sorts_by_value(expr.right)
    if isinstance(expr, s.LabelReplace):
        return _sorts_by_value(expr.expr)
    return False


def _matcher_sets(queries: list[str]) -> list[tuple[s.Matcher, ...]] | None:
    if not queries:
        return None
    sets = []
    for text in queries:
        expr = _parse(text)
        if not isinstance(expr, s.LogQuery):
            raise LokiQueryError(f'{text!r} is not a stream selector; send one like {{app="x"}}')
        sets.append(expr.matchers)
    return sets


def _labelled(data: list[Any]) -> dict[str, Any]:
    # Loki leaves `data` out of an empty label answer.
    return _success(data) if data else {"status": "success"}


def label_names(loki: LokiStore, tenant: str, start: int, end: int, query: str | None) -> dict[str, Any]:
    streams = loki.streams(tenant, _matcher_sets([query] if query else []), start, end)
    return _labelled(sorted({name for labels in streams.values() for name in labels}))


def label_values(
    loki: LokiStore, tenant: str, name: str, start: int, end: int, query: str | None
) -> dict[str, Any]:
    streams = loki.streams(tenant, _matcher_sets([query] if query else []), start, end)
    return _labelled(sorted({labels[name] for labels in streams.values() if name in labels}))


def series(loki: LokiStore, tenant: str, matches: list[str], start: int, end: int) -> dict[str, Any]:
    streams = loki.streams(tenant, _matcher_sets(matches), start, end)
    ordered = sorted(streams.values(), key=lambda labels: sorted(labels.items()))
    return _success(ordered)


def index_stats(
    loki: LokiStore, tenant: str, query: str, start: int, end: int, *, deadline: Deadline | None = None
) -> dict[str, Any]:
    streams = loki.streams(tenant, _matcher_sets([query]), start, end)
    if not streams:
        return {"streams": 0, "chunks": 0, "bytes": 0, "entries": 0}
    where = where_sql(tenant, list(streams), []) + f" AND ts >= {start} AND ts < {end}"
    cur = loki.store.cursor()
    with (deadline or Deadline(QUERY_TIMEOUT)).watching(cur):
        row = cur.execute(
            "SELECT count(DISTINCT stream_id), count(*), coalesce(sum(strlen(line)), 0) "
            f"FROM store.loki_entries WHERE {where}"
        ).fetchone()
    assert row is not None
    return {"streams": int(row[0]), "chunks": int(row[0]), "bytes": int(row[2]), "entries": int(row[1])}


def volume(
    loki: LokiStore,
    tenant: str,
    query: str,
    start: int,
    end: int,
    limit: int,
    target_labels: list[str],
    by_labels: bool,
    step_ns: int | None,
    *,
    deadline: Deadline | None = None,
) -> dict[str, Any]:
    """Bytes per label set in [start, end) (`volume`), or per step too (`volume_range`). Series are named by
    the selector's labels, or by `targetLabels`; with `aggregateBy=labels` there is one series per label
    name, `{"<name>": ""}`, holding the bytes of every stream that has the label (as Loki answers it).
    Largest first, ties by name."""
    sets = _matcher_sets([query])
    assert sets is not None
    names = target_labels or sorted({m.name for m in sets[0]})
    streams = loki.streams(tenant, sets, start, end)
    stats = QueryStats()
    result_type = "matrix" if step_ns else "vector"
    if not streams:
        return _success({"resultType": result_type, "result": [], "stats": answers.stats(stats)})
    where = where_sql(tenant, list(streams), []) + f" AND ts >= {start} AND ts < {end}"
    bucket = f"({end} - 1 - ts) // {step_ns}" if step_ns else "0"
    cur = loki.store.cursor()
    with (deadline or Deadline(QUERY_TIMEOUT)).watching(cur):
        rows = cur.execute(
            f"SELECT stream_id, {bucket} AS b, sum(strlen(line)) FROM store.loki_entries "
            f"WHERE {where} GROUP BY ALL"
        ).fetchall()
    totals: dict[tuple[tuple[str, str], ...], dict[int, int]] = {}
    for sid, b, nbytes in rows:
        labels = streams[sid]
        keys = (
            [((name, ""),) for name in names if name in labels]
            if by_labels
            else [tuple((n, labels[n]) for n in names if n in labels)]
        )
        for key in keys:
            points = totals.setdefault(key, {})
            points[int(b)] = points.get(int(b), 0) + int(nbytes)
    ranked = sorted(
        totals.items(), key=lambda item: (-sum(item[1].values()), answers.selector_text(dict(item[0])))
    )[:limit]
    result: list[dict[str, Any]]
    if step_ns:
        count = (end - start + step_ns - 1) // step_ns
        result = [
            {
                "metric": dict(key),
                "values": [
                    [answers.seconds(end - b * step_ns), str(points[b])]
                    for b in sorted(points, reverse=True)
                    if b < count
                ],
            }
            for key, points in ranked
        ]
    else:
        result = [
            {"metric": dict(key), "value": [answers.seconds(end), str(sum(points.values()))]}
            for key, points in ranked
        ]
    return _success({"resultType": result_type, "result": result, "stats": answers.stats(stats)})
