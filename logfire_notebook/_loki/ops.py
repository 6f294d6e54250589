"""What each Loki call asks and how it reads the answers, written once for the sync and the async client.

Every operation is a generator: it yields the requests it needs (path, query parameters, headers) and is sent
the responses (or thrown the error a request raised), then returns its result. `LokiClient` drives it with
blocking requests, `AsyncLokiClient` with awaited ones, so the two cannot drift apart (the httpcore idea,
without generating code).

- Log queries ask with `X-Loki-Response-Encoding-Flags: categorize-labels`, so structured metadata and parsed
  labels come apart from the stream's labels; answers without the flag are read too.
- With `parquet=True`, a log query asks for Parquet instead (`Accept: application/vnd.apache.parquet`,
  Loki >= 3.4 with `-frontend.support-parquet-encoding`): quicker to read, but Loki's Parquet has only
  `timestamp`, `labels` and `line`, so metadata and parsed labels come folded into `labels`. A server that
  refuses it (406/415, or Loki's 400 saying Parquet is off) is asked in categorized JSON from then on.
- A server that answers 404 on `/loki/api/v1/...` is asked once on the older `/api/prom/...` API; if that
  works, the client stays on it.
- `query_all` pages the way logcli does: each batch continues from the last timestamp it saw, and the
  entries at that boundary that the previous batch already had are dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import httpx

from logfire_notebook._exceptions import HTTPStatusError, ResponseError
from logfire_notebook._loki import decode

if TYPE_CHECKING:
    import pyarrow as pa

    from logfire_notebook._paging import PageProgress
    from logfire_notebook._timerange import TimeRange

__all__ = ["ENCODING_FLAGS", "PARQUET", "Request", "State", "is_log_query"]

PARQUET = "application/vnd.apache.parquet"
ENCODING_FLAGS = "X-Loki-Response-Encoding-Flags"
DEFAULT_BATCH = 1000  # logcli's --batch default
_REFUSED = (406, 415)
_COMMENT = re.compile(r"#[^\n]*")


@dataclass(frozen=True)
class Request:
    path: str
    params: Mapping[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)


Op = Generator[Request, httpx.Response, Any]


@dataclass
class State:
    """What a client learns about its server: the older API only, Parquet refused."""

    legacy: bool | None = None  # None: not known yet
    parquet: bool = False


def ns(value: datetime) -> str:
    """A time as Loki's nanosecond integer text (exact: integer arithmetic on the datetime's parts)."""
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    delta = value - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return str((delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000)


def window(time_range: TimeRange) -> tuple[datetime, datetime]:
    start, end = time_range.resolve()
    return start, end or datetime.now(timezone.utc)


def is_log_query(logql: str) -> bool:
    """A log query starts with its stream selector; a metric query starts with a function or aggregation."""
    return _COMMENT.sub("", logql).lstrip().startswith("{")


def step_text(step: str | float | timedelta | None) -> str | None:
    if step is None:
        return None
    if isinstance(step, timedelta):
        return f"{step.total_seconds():g}s"
    return str(step)


def _check_direction(direction: str) -> str:
    if direction not in ("backward", "forward"):
        raise ValueError(f"direction must be 'backward' or 'forward', not {direction!r}.")
    return direction


def _json(response: httpx.Response) -> Any:
    import msgspec

    try:
        return msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        raise ResponseError(
            f"The Loki answer is not JSON ({exc}): check that the address is a Loki API."
        ) from None


# -- queries -----------------------------------------------------------------------------------------------


def query_range(
    state: State,
    logql: str,
    time_range: TimeRange,
    limit: int,
    direction: str,
    step: str | float | timedelta | None,
) -> Generator[Request, httpx.Response, decode.LokiAnswer]:
    """`GET /loki/api/v1/query_range` (or `/api/prom/query` on the older API)."""
    start, end = window(time_range)
    return (yield from range_ns(state, logql, int(ns(start)), int(ns(end)), limit, direction, step))


def range_ns(
    state: State,
    logql: str,
    start: int,
    end: int,
    limit: int,
    direction: str,
    step: str | float | timedelta | None,
) -> Generator[Request, httpx.Response, decode.LokiAnswer]:
    """`query_range` for [start, end) in nanoseconds (paging needs nanosecond boundaries)."""
    _check_direction(direction)
    params: dict[str, Any] = {
        "query": logql,
        "start": str(start),
        "end": str(end),
        "limit": limit,
        "direction": direction,
    }
    if step_text(step) is not None:
        params["step"] = step_text(step)
    if state.legacy:
        return (yield from _legacy_query(params, direction))
    offer_parquet = state.parquet and is_log_query(logql)
    # Loki answers Parquet only to this exact Accept, and its Parquet has no metadata columns: asked to
    # categorize too, it would drop the metadata, so a Parquet request leaves the labels folded.
    headers = {"accept": PARQUET} if offer_parquet else {ENCODING_FLAGS: "categorize-labels"}
    try:
        response = yield Request("/loki/api/v1/query_range", params, headers)
    except HTTPStatusError as exc:
        if offer_parquet and _refuses_parquet(exc):
            state.parquet = False
            return (yield from range_ns(state, logql, start, end, limit, direction, step))
        if exc.status_code == 404 and state.legacy is None and is_log_query(logql):
            return (yield from _try_legacy(state, params, direction, exc))
        raise
    if state.legacy is None:
        state.legacy = False
    if response.headers.get("content-type", "").startswith(PARQUET):
        return decode.LokiAnswer(decode.read_parquet(response.content, direction), "streams")
    return decode.decode_answer(response.content, direction)


def _refuses_parquet(exc: HTTPStatusError) -> bool:
    """406/415 from a proxy, or Loki's 400 when its Parquet support is off ("support for Parquet encoded
    responses is disabled...")."""
    return exc.status_code in _REFUSED or (exc.status_code == 400 and "parquet" in str(exc).lower())


def _try_legacy(
    state: State, params: dict[str, Any], direction: str, original: HTTPStatusError
) -> Generator[Request, httpx.Response, decode.LokiAnswer]:
    try:
        answer = yield from _legacy_query(params, direction)
    except HTTPStatusError:
        raise original from None
    state.legacy = True
    return answer


def _legacy_query(
    params: dict[str, Any], direction: str
) -> Generator[Request, httpx.Response, decode.LokiAnswer]:
    legacy = {k: v for k, v in params.items() if k != "step"}
    response = yield Request("/api/prom/query", legacy)
    return decode.decode_legacy(response.content, direction)


def instant_query(
    state: State, logql: str, at: datetime, limit: int, direction: str
) -> Generator[Request, httpx.Response, decode.LokiAnswer]:
    """`GET /loki/api/v1/query`: a vector or a scalar (Loki refuses log queries here)."""
    _check_direction(direction)
    params = {"query": logql, "time": ns(at), "limit": limit, "direction": direction}
    response = yield Request("/loki/api/v1/query", params, {ENCODING_FLAGS: "categorize-labels"})
    return decode.decode_answer(response.content, direction)


# -- paging --------------------------------------------------------------------------------------------------


def query_all(
    state: State,
    logql: str,
    time_range: TimeRange,
    direction: str,
    batch: int,
    limit: int | None,
    progress: Callable[[PageProgress], None] | None,
) -> Generator[Request, httpx.Response, pa.Table]:
    """Every entry of a log query in the window (at most `limit`), in batches (see the module docstring)."""
    import pyarrow as pa

    from logfire_notebook._paging import PageProgress

    start_dt, end_dt = window(time_range)
    start, end = int(ns(start_dt)), int(ns(end_dt))
    lo, hi = start, end  # what is left to read: [lo, hi)
    pages: list[pa.Table] = []
    rows = 0
    seen: set[tuple[Any, ...]] = set()  # the entries already read at the boundary timestamp
    previous_boundary: int | None = None
    size = batch
    while True:
        # The entries already read at the boundary come again and are dropped: ask for that many more.
        asked = size if limit is None else min(size, limit - rows + len(seen))
        answer = yield from range_ns(state, logql, lo, hi, asked, direction, None)
        if answer.result_type != "streams":
            raise ValueError("query_all reads log queries; run a metric query with query_range.")
        fetched = answer.table.num_rows
        page = _drop_seen(answer.table, seen) if seen else answer.table
        if page.num_rows:
            pages.append(page)
            rows += page.num_rows
        done = fetched < asked or (limit is not None and rows >= limit)
        if not done and page.num_rows == 0:
            # A whole batch at one nanosecond, all seen already: ask for more at once rather than skip any.
            size *= 2
        elif not done:
            size = batch
            boundary = _boundary(answer.table)
            # Everything read at the boundary so far: a run of equal timestamps may span several batches.
            keys = _keys_at(answer.table, boundary)
            seen = seen | keys if seen and boundary == previous_boundary else keys
            previous_boundary = boundary
            if direction == "backward":
                hi = boundary + 1  # the boundary's nanosecond again: its other entries may not all be here
            else:
                lo = boundary
        if progress is not None:
            left = (hi - lo) / ((end - start) or 1)
            last = _to_datetime(_boundary(page)) if page.num_rows else None
            progress(
                PageProgress(len(pages), rows, 1.0 if done else 1.0 - left, done, (start_dt, end_dt), last)
            )
        if done:
            break
    if not pages:
        return decode.empty_streams()
    table = decode.sort_entries(pa.concat_tables(pages), direction)
    return table if limit is None else table.slice(0, limit)


def _boundary(page: pa.Table) -> int:
    """The last timestamp of a page (its oldest going backward, its newest going forward), in ns."""
    import pyarrow as pa

    column = page.column("timestamp").cast(pa.int64())
    return int(column[page.num_rows - 1].as_py())


def _keys_at(page: pa.Table, stamp: int) -> set[tuple[Any, ...]]:
    """(timestamp, line, labels) of the page's entries at `stamp`: a handful, so a Python set is fine."""
    import pyarrow as pa
    import pyarrow.compute as pc

    at = page.filter(pc.equal(page.column("timestamp").cast(pa.int64()), stamp))
    return {_key(row) for row in at.select(["timestamp", "line", "labels"]).to_pylist()}


def _key(row: dict[str, Any]) -> tuple[Any, ...]:
    return (row["timestamp"], row["line"], tuple(sorted(row["labels"] or ())))


def _drop_seen(page: pa.Table, seen: set[tuple[Any, ...]]) -> pa.Table:
    import pyarrow as pa
    import pyarrow.compute as pc

    stamps = {key[0] for key in seen}
    column = page.column("timestamp")
    candidates = pc.is_in(column, value_set=pa.array(sorted(stamps), column.type))
    if not pc.any(candidates).as_py():
        return page
    indices = pc.indices_nonzero(candidates).to_pylist()
    rows = page.take(indices).select(["timestamp", "line", "labels"]).to_pylist()
    drop = {i for i, row in zip(indices, rows, strict=True) if _key(row) in seen}
    keep = pc.invert(pc.is_in(pa.array(range(page.num_rows)), value_set=pa.array(sorted(drop), pa.int64())))
    return page.filter(keep)


def _to_datetime(value: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=value // 1_000)


# -- labels, series, volume, stats ---------------------------------------------------------------------------


def labels(state: State, time_range: TimeRange) -> Generator[Request, httpx.Response, list[str]]:
    start, end = window(time_range)
    params = {"start": ns(start), "end": ns(end)}
    body = yield from _get_json(state, "/loki/api/v1/labels", "/api/prom/label", params)
    return _strings(body)


def label_values(
    state: State, name: str, time_range: TimeRange, query: str | None
) -> Generator[Request, httpx.Response, list[str]]:
    from urllib.parse import quote

    start, end = window(time_range)
    params: dict[str, Any] = {"start": ns(start), "end": ns(end)}
    if query:
        params["query"] = query
    path = quote(name, safe="")
    body = yield from _get_json(
        state, f"/loki/api/v1/label/{path}/values", f"/api/prom/label/{path}/values", params
    )
    return _strings(body)


def _get_json(
    state: State, path: str, legacy_path: str, params: Mapping[str, Any]
) -> Generator[Request, httpx.Response, Any]:
    if state.legacy:
        return _json((yield Request(legacy_path, params)))
    try:
        response = yield Request(path, params)
    except HTTPStatusError as exc:
        if exc.status_code != 404 or state.legacy is not None:
            raise
        try:
            response = yield Request(legacy_path, params)
        except HTTPStatusError:
            raise exc from None
        state.legacy = True
    return _json(response)


def _strings(body: Any) -> list[str]:
    """`{"status": "success", "data": [...]}`, `{"status": "success"}` (empty) or the older `{"values": [...]}`."""
    if not isinstance(body, dict):
        raise ResponseError("The Loki answer is not a JSON object: check that the address is a Loki API.")
    values = body.get("data", body.get("values")) or []
    return [str(v) for v in values]


def series(
    state: State, match: str | list[str], time_range: TimeRange
) -> Generator[Request, httpx.Response, list[dict[str, str]]]:
    start, end = window(time_range)
    params = {
        "match[]": [match] if isinstance(match, str) else list(match),
        "start": ns(start),
        "end": ns(end),
    }
    body = _json((yield Request("/loki/api/v1/series", params)))
    return [dict(item) for item in (body.get("data") or [])]


def volume(
    state: State,
    query: str,
    time_range: TimeRange,
    limit: int,
    target_labels: list[str] | None,
    aggregate_by: str,
    step: str | float | timedelta | None,
) -> Generator[Request, httpx.Response, pa.Table]:
    """`/loki/api/v1/index/volume` (one total per series) or, with a step, `volume_range` (per bucket)."""
    start, end = window(time_range)
    params: dict[str, Any] = {"query": query, "start": ns(start), "end": ns(end), "limit": limit}
    if target_labels:
        params["targetLabels"] = ",".join(target_labels)
    if aggregate_by:
        params["aggregateBy"] = aggregate_by
    path = "/loki/api/v1/index/volume"
    if step is not None:
        params["step"] = step_text(step)
        path = "/loki/api/v1/index/volume_range"
    response = yield Request(path, params)
    return decode.decode_answer(response.content).table


def stats(
    state: State, query: str, time_range: TimeRange
) -> Generator[Request, httpx.Response, dict[str, Any]]:
    start, end = window(time_range)
    body = _json(
        (yield Request("/loki/api/v1/index/stats", {"query": query, "start": ns(start), "end": ns(end)}))
    )
    return dict(body) if isinstance(body, dict) else {}
