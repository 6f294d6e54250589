"""Metric queries: range aggregations over log ranges, then vector aggregations and arithmetic, evaluated
at every step from start to end (both included). A window at step T is (T - offset - range, T - offset].

`count_over_time`, `rate`, `bytes_over_time` and `bytes_rate` whose pipeline has only line filters, string
label filters, `keep` and `drop` are counted by DuckDB (grouped by stream, metadata and step). With parsers,
numeric filters or `unwrap`, and series named by `by (...)`, the pipeline runs in DuckDB too (`sqlpipe.py`):
counts per series and step, or unwrapped samples, come from SQL, and only the lines SQL is unsure of take the
Python pipeline. Everything else extracts samples through the Python pipeline and aggregates them here.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from logfire_notebook.server.loki import syntax as s
from logfire_notebook.server.loki.pipeline import ERROR, ERROR_DETAILS, Entry, StageFn, compile_stages
from logfire_notebook.server.loki.select import (
    Deadline,
    LokiEvalError,
    LokiQueryError,
    QueryStats,
    pushdown,
    read_entries,
    where_sql,
)
from logfire_notebook.server.loki.sqlpipe import compile_pipeline
from logfire_notebook.server.loki.storage import LokiStore, sql_string

__all__ = ["MAX_SERIES", "Scalar", "SeriesSet", "evaluate"]

MAX_SERIES = 500
"""Loki's default `max_query_series`: more series than this in one result is a 400."""

Labels = tuple[tuple[str, str], ...]


def too_many_series() -> str:
    return (
        f"maximum number of series ({MAX_SERIES}) reached for a single query; consider reducing query "
        "cardinality by adding more filters or aggregating with sum by (...)"
    )


def _key(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


@dataclass
class Scalar:
    value: float


class SeriesSet:
    """Series by label set, each a map of step index → value; `order` keeps sort()/sort_desc() order."""

    def __init__(self) -> None:
        self.series: dict[Labels, dict[int, float]] = {}

    def add(self, labels: Labels, k: int, value: float) -> None:
        self.series.setdefault(labels, {})[k] = value

    def check_size(self) -> None:
        if len(self.series) > MAX_SERIES:
            raise LokiQueryError(too_many_series())


Value = Scalar | SeriesSet


@dataclass
class Context:
    loki: LokiStore
    tenant: str
    steps: list[int]  # step timestamps in ns
    stats: QueryStats
    deadline: Deadline


# Summing these over series by some labels equals computing them per group of those labels directly, so a
# `sum by (...)` right around one groups its samples early (as Loki does): a parser's many labels then never
# make one series per distinct line.
_SUMMABLE = {"count_over_time", "rate", "bytes_over_time", "bytes_rate", "sum_over_time"}
INNER_SERIES_CAP = 20_000
"""Series an inner expression may make on the way to an answer of at most `MAX_SERIES`."""


def evaluate(ctx: Context, expr: s.Expr) -> Value:
    """The value of a metric expression at every step; the answer holds at most `MAX_SERIES` series."""
    result = _evaluate(ctx, expr)
    if isinstance(result, SeriesSet):
        result.check_size()
    return result


def _evaluate(ctx: Context, expr: s.Expr) -> Value:
    if isinstance(expr, s.Number):
        return Scalar(expr.value)
    if isinstance(expr, s.VectorLiteral):
        out = SeriesSet()
        for k in range(len(ctx.steps)):
            out.add((), k, expr.value)
        return out
    if isinstance(expr, s.RangeAggregation):
        return _range_aggregation(ctx, expr)
    if isinstance(expr, s.VectorAggregation):
        inner = expr.expr
        if (
            expr.op == "sum"
            and expr.grouping is not None
            and isinstance(inner, s.RangeAggregation)
            and inner.op in _SUMMABLE
            and inner.grouping is None
        ):
            # Grouped by these very labels already, one series per group: the sum is made.
            return _range_aggregation(ctx, inner, project=expr.grouping)
        value = _evaluate(ctx, inner)
        return _vector_aggregation(expr, value, len(ctx.steps))
    if isinstance(expr, s.Binary):
        return _binary(expr, _evaluate(ctx, expr.left), _evaluate(ctx, expr.right), len(ctx.steps))
    if isinstance(expr, s.LabelReplace):
        return _label_replace(expr, _vector(_evaluate(ctx, expr.expr), len(ctx.steps)))
    raise LokiQueryError("log queries are not supported as part of a metric query")


def _vector(value: Value, steps: int) -> SeriesSet:
    if isinstance(value, SeriesSet):
        return value
    out = SeriesSet()
    for k in range(steps):
        out.add((), k, value.value)
    return out


# ---- range aggregations ----

_COUNTING = {"count_over_time", "rate", "bytes_over_time", "bytes_rate"}


def _fast_path_stages(stages: Sequence[s.Stage]) -> bool:
    for stage in stages:
        if isinstance(stage, s.LineFilter) and not stage.has_ip:  # SQL can apply it
            continue
        if isinstance(stage, (s.Keep, s.Drop)):
            continue
        if isinstance(stage, s.LabelFilter) and _only_strings(stage.expr):
            continue
        return False
    return True


def _only_strings(expr: s.LfExpr) -> bool:
    if isinstance(expr, (s.LfAnd, s.LfOr)):
        return _only_strings(expr.left) and _only_strings(expr.right)
    return isinstance(expr, (s.LfString, s.LfIp))


def _range_aggregation(ctx: Context, agg: s.RangeAggregation, project: s.Grouping | None = None) -> SeriesSet:
    """`project`: group the samples by these labels first (for a `sum by` right around)."""
    query = agg.range.query
    if agg.op in _COUNTING and query.unwrap is None and _fast_path_stages(query.stages):
        return _counted_in_sql(ctx, agg, project)
    in_sql = _pipeline_in_sql(ctx, agg, agg.grouping or project)
    if in_sql is not None:
        return in_sql
    samples = _samples(ctx, agg, project)
    if agg.op == "absent_over_time":
        return _absent(ctx, agg, samples)
    return _windows(ctx, agg, samples)


def _step_bounds(ctx: Context, agg: s.RangeAggregation) -> tuple[int, int]:
    """(after, until): every sample any window can hold has after < ts <= until."""
    off, rng = agg.range.offset_ns, agg.range.range_ns
    return ctx.steps[0] - off - rng, ctx.steps[-1] - off


def step_sql(steps_at: Sequence[int], rng: int, offset: int) -> tuple[str, str]:
    """(the step index k of each entry's windows as SQL over `ts`, a WHERE keeping k within the steps or "").
    An entry in several windows gets one row per window (`unnest`)."""
    steps = len(steps_at)
    first = steps_at[0] - offset
    outer = f"WHERE k >= 0 AND k < {steps}"
    if steps == 1:
        step_expr, outer = "0", ""
    else:
        step = steps_at[1] - steps_at[0]
        if rng == step:
            # Each entry is in exactly one window: k = ceil((ts - first) / step), and the time bounds of the
            # WHERE already keep k within the steps.
            step_expr, outer = f"(ts - {first - step + 1}) // {step}", ""
        else:
            shift = step * (rng // step + 2)  # keeps the divisions below on positive numbers
            k_lo = f"((ts - {first} + {shift} + {step} - 1) // {step} - {shift // step})"
            k_hi = f"((ts + {rng} - {first} + {shift} + {step} - 1) // {step} - {shift // step} - 1)"
            step_expr = f"unnest(range(greatest({k_lo}, 0), least({k_hi}, {steps - 1}) + 1))"
    return step_expr, outer


@dataclass(frozen=True)
class _Picked:
    """Only the metadata a `sum by (...)` keeps, read in SQL as a list of values (NULL where an entry has no
    such key), so that entries group by those and not by their whole metadata: OTLP-fed entries each have
    their own trace id, and a group per entry costs a JSON parse and an Entry each in Python."""

    names: tuple[str, ...]
    sql: str

    def decode(self, values: Sequence[str | None] | None) -> dict[str, str] | None:
        kept = {n: v for n, v in zip(self.names, values or (), strict=False) if v is not None}
        return kept or None


def _picked_metadata(project: s.Grouping | None) -> _Picked | None:
    """With no stage left to read other labels, a `by` grouping needs only its own names from metadata."""
    if project is None or project.without:
        return None
    if not project.labels:
        return _Picked((), "NULL::VARCHAR[]")
    paths = ", ".join(
        f"json_extract_string(metadata, {sql_string('$.' + json.dumps(n))})" for n in project.labels
    )
    return _Picked(project.labels, f"[{paths}]")


def _counted_in_sql(ctx: Context, agg: s.RangeAggregation, project: s.Grouping | None) -> SeriesSet:
    query = agg.range.query
    after, until = _step_bounds(ctx, agg)
    streams = ctx.loki.streams(ctx.tenant, [query.matchers], after + 1, until + 1)
    ctx.stats.streams = len(streams)
    out = SeriesSet()
    if not streams:
        return out
    pushed, rest = pushdown(query.stages)
    stages = compile_stages(rest)
    where = where_sql(ctx.tenant, list(streams), pushed) + f" AND ts > {after} AND ts <= {until}"
    step_expr, outer = step_sql(ctx.steps, agg.range.range_ns, agg.range.offset_ns)
    rng = agg.range.range_ns
    # Counting reads no line at all; only the byte ops need the lines' lengths.
    # Only what the answer needs is read and grouped: no lines unless bytes are counted, no metadata for
    # streams that never had any.
    nbytes = "sum(strlen(line))" if agg.op in ("bytes_over_time", "bytes_rate") else "0"
    metadata = "metadata" if ctx.loki.any_metadata(ctx.tenant, streams) else "NULL::VARCHAR"
    picked = _picked_metadata(project) if metadata == "metadata" and not stages else None
    if picked is not None:
        metadata = picked.sql
    if outer:
        sql = (
            f"SELECT stream_id, metadata, k, count(*), sum(b) FROM (SELECT stream_id, {metadata} AS metadata, "
            f"{nbytes.replace('sum(', '(')} AS b, {step_expr} AS k FROM store.loki_entries WHERE {where}) {outer} "
            "GROUP BY ALL"
        )
    else:
        group = "stream_id, k" if metadata == "NULL::VARCHAR" else "stream_id, m_, k"
        sql = (
            f"SELECT stream_id, {metadata} AS m_, {step_expr} AS k, count(*), {nbytes} FROM store.loki_entries "
            f"WHERE {where} GROUP BY {group}"
        )
    cur = ctx.loki.store.cursor()
    with ctx.deadline.watching(cur):
        rows = cur.execute(sql).fetchall()
    seconds = rng / 1e9
    totals: dict[Labels, dict[int, float]] = {}
    label_cache: dict[tuple[int, Any], Labels | None] = {}
    for sid, metadata, k, count, nbytes in rows:
        ctx.stats.lines += count
        ctx.stats.bytes += int(nbytes or 0)
        cache_key = (sid, tuple(metadata or ()) if picked is not None else metadata)
        if cache_key not in label_cache:
            given = picked.decode(cache_key[1]) if picked is not None else _metadata(metadata)
            entry = Entry(0, "", streams[sid], given)
            kept = all(st(entry) for st in stages)
            labels_of = _grouped(entry.labels, project) if project is not None else entry.labels
            label_cache[cache_key] = _key(labels_of) if kept else None
        labels = label_cache[cache_key]
        if labels is None:
            continue
        ctx.stats.post_filter += count
        value = float(count) if agg.op in ("count_over_time", "rate") else float(nbytes or 0)
        points = totals.setdefault(labels, {})
        points[int(k)] = points.get(int(k), 0.0) + value
    per_second = agg.op in ("rate", "bytes_rate")
    for labels, points in totals.items():  # whole series at once: this runs once per point
        out.series[labels] = {k: v / seconds for k, v in points.items()} if per_second else points
    return out


def _pipeline_in_sql(ctx: Context, agg: s.RangeAggregation, grouping: s.Grouping | None) -> SeriesSet | None:
    """A range aggregation whose pipeline runs in DuckDB (`sqlpipe.py`): counts grouped by series and step,
    or unwrapped samples, from SQL; the few lines SQL is unsure of take the Python pipeline. None when SQL
    cannot follow the pipeline, or the series are every label (no `by`): `_samples` does it all then."""
    query = agg.range.query
    counting = agg.op in _COUNTING and query.unwrap is None
    if grouping is None or grouping.without or not (counting or query.unwrap is not None):
        return None
    after, until = _step_bounds(ctx, agg)
    streams = ctx.loki.streams(ctx.tenant, [query.matchers], after + 1, until + 1)
    if not streams:
        return None
    pushed, rest = pushdown(query.stages)
    stages = compile_stages(rest)  # a bad template is reported as the Python path reports it
    names = list(dict.fromkeys(grouping.labels))
    has_metadata = ctx.loki.any_metadata(ctx.tenant, streams)
    plan = compile_pipeline(rest, streams, has_metadata, names)
    if plan is None or (not counting and plan.value is None):
        return None
    ctx.stats.streams = len(streams)
    where = where_sql(ctx.tenant, list(streams), pushed) + f" AND ts > {after} AND ts <= {until}"
    groups = "".join(f"{plan.labels[n]} AS g{i}, " for i, n in enumerate(names))
    keys = "".join(f"g{i}, " for i in range(len(names)))
    # Streams that never had metadata: the column is not read at all.
    metadata_column = "metadata" if has_metadata else "NULL::VARCHAR AS metadata"
    source = plan.frame(
        f"SELECT ts, stream_id, line, {metadata_column}, json_plain FROM store.loki_entries WHERE {where}"
    )
    # One pass: the rows the pipeline keeps, and the rows only Python can judge (flagged u_, step -1). The
    # checks that matter only for kept rows run after the WHERE, on those rows alone.
    flagged = f"({plan.unsure} OR ({plan.keep} AND {plan.unsure_kept}))"
    tagged = (
        f"SELECT ts, stream_id, line, metadata, {groups}{plan.error} AS err_, {plan.value or 'NULL::DOUBLE'} AS v_, "
        f"{flagged} AS u_ FROM ({source}) WHERE {plan.keep} OR {plan.unsure}"
    )
    if counting:
        step_expr, outer = step_sql(ctx.steps, agg.range.range_ns, agg.range.offset_ns)
        if step_expr.startswith("unnest("):
            k_expr = f"unnest(CASE WHEN u_ THEN [-1] ELSE {step_expr[len('unnest(') : -1]} END)"
        else:
            k_expr = f"CASE WHEN u_ THEN -1 ELSE {step_expr} END"
        where_k = f"WHERE k = -1 OR ({outer.removeprefix('WHERE ')})" if outer else ""
        sql = (
            f"SELECT {keys}k, count(*), sum(strlen(line)), min(ts) FILTER (WHERE err_ IS NOT NULL), "
            "list((ts, stream_id, line, metadata)) FILTER (WHERE u_) "
            f"FROM (SELECT *, {k_expr} AS k FROM ({tagged})) {where_k} GROUP BY ALL"
        )
    else:
        sql = (
            f"SELECT {keys}ts, v_, err_, u_, stream_id, CASE WHEN u_ THEN line END, "
            f"CASE WHEN u_ THEN metadata END FROM ({tagged}) ORDER BY ts"
        )
    cur = ctx.loki.store.cursor()
    with ctx.deadline.watching(cur):
        fetched = cur.execute(sql).fetchall()
    width = len(names)
    rows: list[tuple[Any, ...]] = []
    unsure: list[tuple[int, int, str, str | None]] = []
    for row in fetched:
        if counting and row[width] == -1:
            unsure += [tuple(item.values()) if isinstance(item, dict) else tuple(item) for item in row[-1]]
        elif not counting and row[width + 3]:
            unsure.append((row[width], row[width + 4], row[width + 5], row[width + 6]))
        else:
            rows.append(row[: width + 4] if counting else row[: width + 3])
    unsure.sort(key=lambda r: r[0])
    first_error: int | None = None
    by_bytes = agg.op in ("bytes_over_time", "bytes_rate")
    totals: dict[Labels, dict[int, float]] = {}
    samples: dict[Labels, tuple[list[int], list[float]]] = {}
    for row in rows:
        labels = tuple((n, v) for n, v in zip(names, row[:width], strict=True) if v is not None)
        labels = tuple(sorted(labels))
        if counting:
            k, count, nbytes, err_at = row[width:]
            if err_at is not None and (first_error is None or err_at < first_error):
                first_error = err_at
            ctx.stats.lines += count
            ctx.stats.bytes += int(nbytes)
            ctx.stats.post_filter += count
            points = totals.setdefault(labels, {})
            points[int(k)] = points.get(int(k), 0.0) + float(nbytes if by_bytes else count)
        else:
            ts, value, err = row[width:]
            if err is not None and (first_error is None or ts < first_error):
                first_error = ts
            ctx.stats.lines += 1
            ctx.stats.post_filter += 1
            series = samples.setdefault(labels, ([], []))
            series[0].append(ts)
            series[1].append(value)
    # The lines SQL left to Python: the whole pipeline, as `_samples` runs it.
    offsets = [step - agg.range.offset_ns for step in ctx.steps]
    python_error: tuple[int, str] | None = None
    for ts, sid, line, metadata in unsure:
        ctx.stats.lines += 1
        ctx.stats.bytes += len(line)
        entry = Entry(ts, line, streams[sid], json.loads(metadata) if metadata else None)
        if not all(stage(entry) for stage in stages):
            continue
        if ERROR in entry.labels:
            python_error = python_error or (ts, _pipeline_error(entry.labels))
            continue
        ctx.stats.post_filter += 1
        labels = _key(_grouped(entry.labels, grouping))
        if counting:
            points = totals.setdefault(labels, {})
            weight = float(len(line.encode())) if by_bytes else 1.0
            for k in range(
                bisect.bisect_left(offsets, ts), bisect.bisect_left(offsets, ts + agg.range.range_ns)
            ):
                points[k] = points.get(k, 0.0) + weight
        else:
            series = samples.setdefault(labels, ([], []))
            series[0].append(ts)
            series[1].append(entry.value)
    if first_error is not None and (python_error is None or first_error < python_error[0]):
        raise LokiQueryError(_error_at(ctx, streams, stages, where, first_error))
    if python_error is not None:
        raise LokiQueryError(python_error[1])
    if len(totals) + len(samples) > INNER_SERIES_CAP:
        raise LokiQueryError(too_many_series())
    if not counting:
        if unsure:
            for stamps, values in samples.values():
                ordered = sorted(zip(stamps, values, strict=True), key=lambda p: p[0])
                stamps[:], values[:] = [p[0] for p in ordered], [p[1] for p in ordered]
        return _windows(ctx, agg, samples)
    out = SeriesSet()
    seconds = agg.range.range_ns / 1e9
    for labels, points in totals.items():
        for k, value in points.items():
            out.add(labels, k, value / seconds if agg.op in ("rate", "bytes_rate") else value)
    return out


def _error_at(
    ctx: Context, streams: dict[int, dict[str, str]], stages: list[StageFn], where: str, ts: int
) -> str:
    """Loki's pipeline error for the first entry at `ts` that ends with `__error__` (its labels name it)."""
    rows = (
        ctx.loki.store.cursor()
        .execute(
            f"SELECT ts, stream_id, line, metadata FROM store.loki_entries WHERE {where} AND ts = {int(ts)}"
        )
        .fetchall()
    )
    for ts_, sid, line, metadata in rows:
        entry = Entry(ts_, line, streams[sid], json.loads(metadata) if metadata else None)
        if all(stage(entry) for stage in stages) and ERROR in entry.labels:
            return _pipeline_error(entry.labels)
    return 'pipeline error: an entry failed to parse; add a label filter such as | __error__=""'


def _samples(
    ctx: Context, agg: s.RangeAggregation, project: s.Grouping | None = None
) -> dict[Labels, tuple[list[int], list[float]]]:
    """Samples per series (timestamps ascending) after the whole pipeline; the range aggregation's own
    grouping is applied here, as Loki groups samples before aggregating over time."""
    query = agg.range.query
    after, until = _step_bounds(ctx, agg)
    _, rest = pushdown(query.stages)
    stages = compile_stages(rest)
    loki_streams = ctx.loki.streams(ctx.tenant, [query.matchers], after + 1, until + 1)
    by_bytes = agg.op in ("bytes_over_time", "bytes_rate")
    unwrapped = query.unwrap is not None
    out: dict[Labels, tuple[list[int], list[float]]] = {}
    n = 0
    for ts, sid, line, metadata in read_entries(
        ctx.loki, ctx.tenant, query, after, until, ctx.stats, ctx.deadline
    ):
        n += 1
        if n % 20_000 == 0:
            ctx.deadline.check()
        ctx.stats.lines += 1
        ctx.stats.bytes += len(line)
        entry = Entry(ts, line, loki_streams[sid], json.loads(metadata) if metadata else None)
        if not all(stage(entry) for stage in stages):
            continue
        if ERROR in entry.labels:
            raise LokiQueryError(_pipeline_error(entry.labels))
        ctx.stats.post_filter += 1
        labels = entry.labels
        grouping = agg.grouping or project
        if grouping is not None:
            labels = _grouped(labels, grouping)
        value = entry.value if unwrapped else float(len(line.encode()) if by_bytes else 1.0)
        series = out.get(key := _key(labels))
        if series is None:
            series = out[key] = ([], [])
            if len(out) > INNER_SERIES_CAP:
                raise LokiQueryError(too_many_series())
        series[0].append(ts)
        series[1].append(value)
    return out


def _pipeline_error(labels: dict[str, str]) -> str:
    kind = labels[ERROR]
    shown = {k: v for k, v in labels.items() if k != ERROR_DETAILS}
    selector = "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(shown.items())) + "}"
    return (
        f"pipeline error: '{kind}' for series: '{selector}'.\nUse a label filter to intentionally skip this "
        f'error. (e.g | __error__!="{kind}").\nTo skip all potential errors you can match empty errors.'
        '(e.g __error__="")\nThe label filter can also be specified after unwrap. (e.g | unwrap latency | '
        '__error__="" )\n'
    )


def _window_values(
    op: str, values: list[float], timestamps: list[int], rng_s: float, param: float | None
) -> float:
    if op in ("count_over_time",):
        return float(len(values))
    # Plain running sums, as Loki adds samples one after another (fsum would round differently).
    if op in ("sum_over_time", "bytes_over_time"):
        return sum(values)
    if op in ("rate", "bytes_rate"):
        return sum(values) / rng_s
    if op == "avg_over_time":
        return sum(values) / len(values)
    if op == "min_over_time":
        return min(values)
    if op == "max_over_time":
        return max(values)
    if op == "stddev_over_time":
        return statistics.pstdev(values)
    if op == "stdvar_over_time":
        return statistics.pvariance(values)
    if op == "quantile_over_time":
        return _quantile(param if param is not None else 0.5, values)
    if op == "first_over_time":
        return values[0]
    if op == "last_over_time":
        return values[-1]
    if op == "rate_counter":
        return _counter_rate(values, rng_s)
    raise LokiQueryError(f"unsupported range aggregation {op}")


def _counter_rate(values: list[float], rng_s: float) -> float:
    if len(values) < 2:
        return 0.0
    increase, prev = 0.0, values[0]
    for v in values[1:]:
        increase += v - prev if v >= prev else v
        prev = v
    return increase / rng_s


def _quantile(q: float, values: list[float]) -> float:
    """Prometheus' quantile: linear interpolation between closest ranks."""
    if math.isnan(q) or not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = math.floor(rank)
    upper = min(lower + 1, len(ordered) - 1)
    weight = rank - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def _windows(
    ctx: Context, agg: s.RangeAggregation, samples: dict[Labels, tuple[list[int], list[float]]]
) -> SeriesSet:
    out = SeriesSet()
    rng, off = agg.range.range_ns, agg.range.offset_ns
    rng_s = rng / 1e9
    for labels, (stamps, values) in samples.items():
        for k, step in enumerate(ctx.steps):
            hi = bisect.bisect_right(stamps, step - off)
            lo = bisect.bisect_right(stamps, step - off - rng)
            if hi > lo:
                out.add(labels, k, _window_values(agg.op, values[lo:hi], stamps[lo:hi], rng_s, agg.param))
    return out


def _absent(
    ctx: Context, agg: s.RangeAggregation, samples: dict[Labels, tuple[list[int], list[float]]]
) -> SeriesSet:
    """1 at every step whose window holds no sample at all, labelled by the selector's equality matchers."""
    labels = _key({m.name: m.value for m in agg.range.query.matchers if m.op == "="})
    stamps = sorted(ts for series in samples.values() for ts in series[0])
    out = SeriesSet()
    rng, off = agg.range.range_ns, agg.range.offset_ns
    for k, step in enumerate(ctx.steps):
        if bisect.bisect_right(stamps, step - off) == bisect.bisect_right(stamps, step - off - rng):
            out.add(labels, k, 1.0)
    return out


# ---- vector aggregations ----


def _grouped(labels: dict[str, str] | Labels, grouping: s.Grouping | None) -> dict[str, str]:
    items = dict(labels)
    if grouping is None:
        return {}
    if grouping.without:
        return {k: v for k, v in items.items() if k not in grouping.labels}
    return {k: items[k] for k in grouping.labels if k in items}


_AGGREGATE: dict[str, Callable[[list[float]], float]] = {
    "sum": sum,
    "avg": lambda v: sum(v) / len(v),
    "min": min,
    "max": max,
    "count": lambda v: float(len(v)),
    "stddev": statistics.pstdev,
    "stdvar": statistics.pvariance,
}


def _vector_aggregation(agg: s.VectorAggregation, value: Value, steps: int) -> SeriesSet:
    inner = _vector(value, steps)
    out = SeriesSet()
    if agg.op in ("sort", "sort_desc"):
        last = {labels: points[max(points)] for labels, points in inner.series.items() if points}
        for labels in sorted(last, key=lambda lb: last[lb], reverse=agg.op == "sort_desc"):
            out.series[labels] = inner.series[labels]
        return out
    groups: dict[Labels, list[Labels]] = {}
    for labels in inner.series:
        groups.setdefault(_key(_grouped(labels, agg.grouping)), []).append(labels)
    if agg.op in ("topk", "bottomk"):
        n = int(agg.param or 0)
        for members in groups.values():
            for k in range(steps):
                present = [(inner.series[m][k], m) for m in members if k in inner.series[m]]
                present.sort(key=lambda p: (math.isnan(p[0]), -p[0] if agg.op == "topk" else p[0]))
                for v, m in present[:n]:
                    out.add(m, k, v)
        return out
    fold = _AGGREGATE[agg.op]
    for group, members in groups.items():
        for k in range(steps):
            values = [inner.series[m][k] for m in members if k in inner.series[m]]
            if values:
                out.add(group, k, fold(values))
    return out


def _label_replace(expr: s.LabelReplace, inner: SeriesSet) -> SeriesSet:
    # Python's re here for Match.expand; it only sees a few label values, never log lines.
    regex = re.compile(f"(?:{expr.regex})\\Z")
    template = re.sub(r"\$\{?(\w+)\}?", lambda m: f"\\g<{m.group(1)}>", expr.replacement)
    out = SeriesSet()
    for labels, points in inner.series.items():
        items = dict(labels)
        m = regex.match(items.get(expr.source, ""))
        if m is not None:
            value = m.expand(template)
            if value:
                items[expr.destination] = value
            else:
                items.pop(expr.destination, None)
        out.series[_key(items)] = points
    return out


# ---- binary operations ----

_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: (
        a / b
        if b != 0
        else (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b))
    ),
    "%": lambda a, b: math.fmod(a, b) if b != 0 else math.nan,
    "^": lambda a, b: math.pow(a, b),
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _apply(op: str, a: float, b: float) -> float:
    try:
        return _ARITH[op](a, b)
    except (OverflowError, ValueError):
        return math.nan


def _binary(expr: s.Binary, left: Value, right: Value, steps: int) -> Value:
    op = expr.op
    if isinstance(left, Scalar) and isinstance(right, Scalar):
        if op in _COMPARE:
            if not expr.return_bool:
                raise LokiQueryError("comparisons between scalars must use the bool modifier")
            return Scalar(float(_COMPARE[op](left.value, right.value)))
        return Scalar(_apply(op, left.value, right.value))
    if op in ("and", "or", "unless"):
        return _set_operation(expr, _vector(left, steps), _vector(right, steps))
    if isinstance(left, Scalar) or isinstance(right, Scalar):
        return _with_scalar(expr, left, right)
    assert isinstance(left, SeriesSet) and isinstance(right, SeriesSet)
    return _vector_vector(expr, left, right)


def _with_scalar(expr: s.Binary, left: Value, right: Value) -> SeriesSet:
    vector = left if isinstance(left, SeriesSet) else right
    assert isinstance(vector, SeriesSet)
    scalar = right.value if isinstance(right, Scalar) else left.value  # type: ignore[union-attr]
    out = SeriesSet()
    for labels, points in vector.series.items():
        for k, v in points.items():
            a, b = (v, scalar) if vector is left else (scalar, v)
            _add_binary(out, expr, labels, k, a, b, kept=v)
    return out


def _add_binary(
    out: SeriesSet, expr: s.Binary, labels: Labels, k: int, a: float, b: float, kept: float
) -> None:
    """One point of `a <op> b`: arithmetic adds its value; a comparison filters (keeping `kept`, the vector's
    own value) or, with `bool`, adds 1 or 0."""
    if expr.op in _COMPARE:
        holds = _COMPARE[expr.op](a, b)
        if expr.return_bool:
            out.add(labels, k, float(holds))
        elif holds:
            out.add(labels, k, kept)
    else:
        out.add(labels, k, _apply(expr.op, a, b))


def _signature(labels: Labels, expr: s.Binary) -> Labels:
    if expr.on is not None:
        return tuple((k, v) for k, v in labels if k in expr.on)
    if expr.ignoring is not None:
        return tuple((k, v) for k, v in labels if k not in expr.ignoring)
    return labels


def _labels_text(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def _result_labels(many: Labels, one: Labels, expr: s.Binary) -> Labels:
    """Prometheus' result labels: one-to-one keeps the matched labels (`on`) or drops the ignored ones;
    group_left/group_right keep the "many" side's labels and copy the listed ones from the "one" side."""
    if expr.group is None:
        return _signature(many, expr)
    if not expr.include:
        return many
    out = dict(many)
    other = dict(one)
    for name in expr.include:
        if other.get(name):
            out[name] = other[name]
        else:
            out.pop(name, None)
    return _key(out)


def _one_per_step(sig: Labels, candidates: list[Labels], one: SeriesSet, side: str) -> None:
    seen: dict[int, Labels] = {}
    for labels in sorted(candidates):
        for k in one.series[labels]:
            first = seen.setdefault(k, labels)
            if first != labels:
                raise LokiEvalError(
                    f"found duplicate series for the match group {_labels_text(sig)} on the {side} "
                    f"hand-side of the operation: [{_labels_text(first)}, {_labels_text(labels)}];"
                    "many-to-many matching not allowed: matching labels must be unique on one side"
                )


def _match_whole_series(
    expr: s.Binary, members: list[Labels], match: Labels, many: SeriesSet, one: SeriesSet, out: SeriesSet
) -> bool:
    """The common case, a whole series at a time: one series on the "one" side, and "many" side series
    whose results cannot collide. False when the step-by-step checks are needed."""
    if expr.group is None and len(members) > 1:
        return False
    results = [_result_labels(labels, match, expr) for labels in members]
    if len(set(results)) < len(results):
        return False
    other = one.series[match]
    swapped = expr.group == "right"
    compare = _COMPARE.get(expr.op)
    for labels, result in zip(members, results, strict=True):
        for k, value in many.series[labels].items():
            b = other.get(k)
            if b is None:
                continue
            x, y = (b, value) if swapped else (value, b)
            if compare is None:
                out.add(result, k, _apply(expr.op, x, y))
            elif expr.return_bool:
                out.add(result, k, float(compare(x, y)))
            elif compare(x, y):
                out.add(result, k, x)
    return True


def _vector_vector(expr: s.Binary, left: SeriesSet, right: SeriesSet) -> SeriesSet:
    """Vector matching as Prometheus does it, step by step: one-to-one by default, many-to-one with
    group_left, one-to-many with group_right; a match group with several series on the "one" side at a step
    is an error (many-to-many), and so is a "many" side without group_left/group_right. Series are grouped by
    their match signature first, so the work follows the points, not steps times series."""
    swapped = expr.group == "right"
    many, one = (right, left) if swapped else (left, right)
    one_side = "left" if swapped else "right"
    ones: dict[Labels, list[Labels]] = {}
    for labels in one.series:
        ones.setdefault(_signature(labels, expr), []).append(labels)
    manys: dict[Labels, list[Labels]] = {}
    for labels in many.series:
        manys.setdefault(_signature(labels, expr), []).append(labels)
    for sig, group in ones.items():
        if len(group) > 1:  # Prometheus refuses these even where the other side has no match
            _one_per_step(sig, group, one, one_side)
    out = SeriesSet()
    for sig, members in manys.items():
        candidates = ones.get(sig)
        if not candidates:
            continue
        if len(candidates) == 1 and _match_whole_series(expr, members, candidates[0], many, one, out):
            continue
        steps = sorted({k for m in members for k in many.series[m]})
        for k in steps:
            match = next((o for o in candidates if k in one.series[o]), None)
            if match is None:
                continue
            here = [m for m in members if k in many.series[m]]
            if expr.group is None and len(here) > 1:
                raise LokiEvalError(
                    "multiple matches for labels: many-to-one matching must be explicit (group_left/group_right)"
                )
            made: set[Labels] = set()
            for labels in here:
                result = _result_labels(labels, match, expr)
                if result in made:
                    raise LokiEvalError(
                        "multiple matches for labels: grouping labels must ensure unique matches"
                    )
                made.add(result)
                a, b = many.series[labels][k], one.series[match][k]
                if swapped:
                    a, b = b, a
                _add_binary(out, expr, result, k, a, b, kept=a)
    return out


def _set_operation(expr: s.Binary, left: SeriesSet, right: SeriesSet) -> SeriesSet:
    right_at: dict[int, set[Labels]] = {}
    for labels, points in right.series.items():
        for k in points:
            right_at.setdefault(k, set()).add(_signature(labels, expr))
    out = SeriesSet()
    for labels, points in left.series.items():
        sig = _signature(labels, expr)
        for k, v in points.items():
            present = sig in right_at.get(k, set())
            if (expr.op == "and" and present) or (expr.op == "unless" and not present) or expr.op == "or":
                out.add(labels, k, v)
    if expr.op == "or":
        left_at: dict[int, set[Labels]] = {}
        for labels, points in left.series.items():
            for k in points:
                left_at.setdefault(k, set()).add(_signature(labels, expr))
        for labels, points in right.series.items():
            sig = _signature(labels, expr)
            for k, v in points.items():
                if sig not in left_at.get(k, set()):
                    out.add(labels, k, v)
    return out


def _metadata(text: str | None) -> dict[str, str] | None:
    return json.loads(text) if text else None
