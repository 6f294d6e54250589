"""The `value` column of `metrics` and the `metric_*` functions that read it.

Logfire's docs (docs/how-to-guides/write-dashboard-queries.md, "Working with metrics"; docs/guides/web-ui/
explore.md, "Metrics Schema") say that `value` is a struct unifying `scalar_value`, `histogram_*` and
`exp_histogram_*`, and list what each function computes. They give neither the struct's fields nor the
formulas, so both are ours:

- `value` is `{count, sum, min, max, kind, bounds, counts, scale, zero_count, pos_offset, pos_counts,
  neg_offset, neg_counts, increase, interval_start}`. A gauge or sum point is one observation (`count` 1,
  `sum`/`min`/`max` the reading, one bucket `[v, v]`); a histogram point has its count, sum, min and max,
  and its buckets (built by `_lf_buckets` where needed) as `{lo, hi, n}` with bounds from
  `histogram_explicit_bounds` or from the exponential scale and offsets (base 2^(2^-scale)), clamped to
  the point's min and max.
- Per row: `metric_count`, `metric_sum`, `metric_min`, `metric_max`, `metric_avg` (sum / count).
- `metric_quantile(p, value)`: the buckets of the group, sorted, walked to rank p * count, linear inside
  the bucket it falls in. For gauges and sums this is the nearest-rank quantile of the readings.
- `metric_increase(value, ts)`: delta points add their value (a histogram its count); cumulative points
  add the rise since the previous point of the same series (metric, service, instance, attributes, start
  time), a drop counts as a reset, and a series' first point counts in full only if its counter started
  inside the queried range. `metric_rate` divides that by the seconds from the earliest interval start to
  the latest `ts` of the group. Gauges have no increase.
- `metric_merge(value)`: one `value` for the group (counts and sums added, min of mins, max of maxes, all
  buckets), which the per-row functions read like any other.

The increase needs the previous point of each series, a window over the table; the view computes it only
for queries that call `metric_rate`, `metric_increase` or `metric_merge` (see `needs_increase`).
"""

from __future__ import annotations

__all__ = ["MACROS", "needs_increase", "view_select"]

_HISTOGRAMS = "metric_type IN ('histogram', 'exponential_histogram')"

# Explicit buckets: bucket i spans bounds[i-1]..bounds[i]; the first and last are open, so they take the
# point's min and max.
_EXPLICIT_BUCKETS = """list_transform(range(1, len(v['counts']) + 1), lambda i: {
    'lo': greatest(coalesce(v['bounds'][i - 1], v['min']), v['min']),
    'hi': least(coalesce(v['bounds'][i], v['max']), v['max']),
    'n': v['counts'][i]::DOUBLE})"""


def _exp_side(sign: str) -> str:
    counts, offset = f"v['{sign[:3]}_counts']", f"v['{sign[:3]}_offset']"
    low = f"power(2.0, ({offset} + i) * power(2.0, -v['scale']))"
    high = f"power(2.0, ({offset} + i + 1) * power(2.0, -v['scale']))"
    lo, hi = (low, high) if sign == "positive" else (f"-{high}", f"-{low}")
    return (
        f"list_transform(range(coalesce(len({counts}), 0)), lambda i: {{"
        f"'lo': greatest({lo}, v['min']), 'hi': least({hi}, v['max']), 'n': {counts}[i + 1]::DOUBLE}})"
    )


_EXP_BUCKETS = (
    f"list_concat({_exp_side('negative')}, "
    "[{'lo': 0.0, 'hi': 0.0, 'n': coalesce(v['zero_count'], 0)::DOUBLE}], "
    f"{_exp_side('positive')})"
)

# A point's buckets as {lo, hi, n}, from the raw fields of its `value` (built only where a quantile or a
# merge needs them, so per-row functions stay as cheap as reading a column).
_BUCKETS = f"""CASE v['kind']
    WHEN 'histogram' THEN {_EXPLICIT_BUCKETS}
    WHEN 'exponential_histogram' THEN {_EXP_BUCKETS}
    ELSE [{{'lo': v['sum'], 'hi': v['sum'], 'n': 1.0}}] END"""

# What a point adds to a counter: a reading for sums, the number of observations for histograms.
_AMOUNT = f"CASE WHEN {_HISTOGRAMS} THEN histogram_count::DOUBLE ELSE scalar_value END"
_SERIES = "metric_name, service_name, service_instance_id, attributes, start_timestamp"


def _value(increase: str, interval_start: str) -> str:
    return f"""struct_pack(
    count := CASE WHEN {_HISTOGRAMS} THEN histogram_count::DOUBLE
        WHEN scalar_value IS NULL THEN 0.0 ELSE 1.0 END,
    sum := CASE WHEN {_HISTOGRAMS} THEN histogram_sum ELSE scalar_value END,
    min := CASE WHEN {_HISTOGRAMS} THEN histogram_min ELSE scalar_value END,
    max := CASE WHEN {_HISTOGRAMS} THEN histogram_max ELSE scalar_value END,
    kind := metric_type,
    bounds := histogram_explicit_bounds,
    counts := histogram_bucket_counts,
    scale := exp_histogram_scale,
    zero_count := exp_histogram_zero_count,
    pos_offset := exp_histogram_positive_bucket_counts_offset,
    pos_counts := exp_histogram_positive_bucket_counts,
    neg_offset := exp_histogram_negative_bucket_counts_offset,
    neg_counts := exp_histogram_negative_bucket_counts,
    increase := {increase},
    interval_start := {interval_start})"""


def _increase(range_start: str) -> tuple[str, str]:
    started_inside = f"start_timestamp >= {range_start}"
    increase = f"""CASE WHEN metric_type = 'gauge' THEN NULL
        WHEN aggregation_temporality = 'delta' THEN {_AMOUNT}
        WHEN _lf_prev IS NULL THEN CASE WHEN {started_inside} THEN {_AMOUNT} ELSE 0.0 END
        WHEN {_AMOUNT} < _lf_prev THEN {_AMOUNT}
        ELSE {_AMOUNT} - _lf_prev END"""
    interval_start = f"""CASE WHEN metric_type = 'gauge' THEN NULL
        WHEN aggregation_temporality = 'delta' THEN coalesce(start_timestamp, recorded_timestamp)
        WHEN _lf_prev_at IS NOT NULL THEN _lf_prev_at
        WHEN {started_inside} THEN start_timestamp
        ELSE recorded_timestamp END"""
    return increase, interval_start


def view_select(source: str, where: str, *, range_start: str | None, increase: bool) -> str:
    """SELECT of every column of `source` (the metrics table) plus `value`, for the rows of `where`.

    `range_start` (a SQL timestamp, or None for no lower bound) is where the queried range starts, which
    decides whether a cumulative series' first point counts in full."""
    if not increase:
        plain = _value("NULL::DOUBLE", "NULL::TIMESTAMPTZ")
        return f"SELECT *, {plain} AS value FROM {source} WHERE {where}"
    inc, start = _increase(range_start or "'-infinity'::TIMESTAMPTZ")
    window = f"(PARTITION BY {_SERIES} ORDER BY recorded_timestamp)"
    return (
        f"SELECT * EXCLUDE (_lf_prev, _lf_prev_at), {_value(inc, start)} AS value FROM ("
        f"SELECT *, lag({_AMOUNT}) OVER {window} AS _lf_prev, "
        f"lag(recorded_timestamp) OVER {window} AS _lf_prev_at FROM {source} WHERE {where})"
    )


_NEEDS_INCREASE = ("metric_rate", "metric_increase", "metric_merge")


def needs_increase(sql: str) -> bool:
    """Whether a query may read `value.increase` (a cheap textual test; a false yes only costs time)."""
    lowered = sql.lower()
    return any(name in lowered for name in _NEEDS_INCREASE)


_QUANTILE_WALK = """list_reduce(
    list_sort(list_filter(flatten(list(_lf_buckets(v))), lambda b: b.n > 0 AND b.lo IS NOT NULL)),
    lambda acc, b: {
        'cum': acc.cum + b.n,
        'target': acc.target,
        'q': coalesce(acc.q, CASE WHEN acc.cum + b.n >= acc.target
            THEN b.lo + (b.hi - b.lo) * greatest(acc.target - acc.cum, 0.0) / b.n END)},
    {'cum': 0.0::DOUBLE, 'target': (p * sum(v['count']))::DOUBLE, 'q': NULL::DOUBLE}).q"""

_MERGE = """struct_pack(
    count := sum(v['count']),
    sum := sum(v['sum']),
    min := min(v['min']),
    max := max(v['max']),
    kind := CASE WHEN count(DISTINCT v['kind']) = 1 THEN min(v['kind']) ELSE 'merged' END,
    buckets := list_sort(flatten(list(_lf_buckets(v)))),
    increase := sum(v['increase']),
    interval_start := min(v['interval_start']))"""

MACROS: tuple[str, ...] = (
    f"CREATE OR REPLACE TEMP MACRO _lf_buckets(v) AS {_BUCKETS}",
    "CREATE OR REPLACE TEMP MACRO metric_count(v) AS v['count']",
    "CREATE OR REPLACE TEMP MACRO metric_sum(v) AS v['sum']",
    "CREATE OR REPLACE TEMP MACRO metric_min(v) AS v['min']",
    "CREATE OR REPLACE TEMP MACRO metric_max(v) AS v['max']",
    "CREATE OR REPLACE TEMP MACRO metric_avg(v) AS v['sum'] / nullif(v['count'], 0)",
    "CREATE OR REPLACE TEMP MACRO metric_quantile(p, v) AS CASE WHEN p BETWEEN 0 AND 1 "
    f"THEN {_QUANTILE_WALK} ELSE error('metric_quantile(p, value): p must be between 0 and 1, got ' || p) END",
    "CREATE OR REPLACE TEMP MACRO metric_increase(v, ts) AS sum(v['increase'])",
    "CREATE OR REPLACE TEMP MACRO metric_rate(v, ts) AS "
    "sum(v['increase']) / nullif(epoch(max(ts) - min(v['interval_start'])), 0)",
    f"CREATE OR REPLACE TEMP MACRO metric_merge(v) AS {_MERGE}",
)
