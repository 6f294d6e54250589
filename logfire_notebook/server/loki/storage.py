"""Loki's streams and entries in the backend's one DuckDB database (tables `store.loki_streams` and
`store.loki_entries`), per tenant.

A stream is a tenant's label set; its id is a hash of both. Entries keep their nanosecond timestamp as
BIGINT, the line, and structured metadata as a JSON object (NULL when there is none). Label sets are few
next to entries, so they are also kept in memory with each stream's first and last timestamp: selectors,
`labels`, `label/<name>/values` and `series` are answered from there, and queries read entries by stream id
and time. Nothing here sees user SQL; every value reaches DuckDB as a bound parameter or a literal made by
`sql_string`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from logfire_notebook.server.loki.jsonshape import COLUMN_DDL, insert_sql
from logfire_notebook.server.loki.syntax import Matcher

if TYPE_CHECKING:
    from logfire_notebook.server.store import Store

__all__ = ["LokiStore", "PushStream", "StreamInfo", "labels_key", "sql_string", "stream_id"]

_TABLES = (
    "CREATE TABLE IF NOT EXISTS store.loki_streams "
    "(tenant VARCHAR NOT NULL, stream_id BIGINT NOT NULL, labels VARCHAR NOT NULL)",
    "CREATE TABLE IF NOT EXISTS store.loki_entries "
    "(tenant VARCHAR NOT NULL, stream_id BIGINT NOT NULL, ts BIGINT NOT NULL, line VARCHAR NOT NULL, "
    "metadata VARCHAR)",
    COLUMN_DDL,
)


@dataclass
class PushStream:
    """One stream of a push request: its labels and its entries `(ns, line, structured metadata)`."""

    labels: dict[str, str]
    entries: list[tuple[int, str, dict[str, str] | None]] = field(default_factory=list)


@dataclass
class StreamInfo:
    labels: dict[str, str]
    first_ns: int
    last_ns: int
    has_metadata: bool = False


def labels_key(labels: dict[str, str]) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def stream_id(tenant: str, labels: dict[str, str]) -> int:
    digest = hashlib.blake2b(f"{tenant}\0{labels_key(labels)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


_SINGLE_METADATA: dict[tuple[str, str], str] = {}


def _metadata_text(metadata: dict[str, str]) -> str:
    """Metadata as stored (sorted JSON). Most entries carry one pair, often the same (`detected_level`):
    its text is made once."""
    if len(metadata) == 1:
        ((name, value),) = metadata.items()
        text = _SINGLE_METADATA.get((name, value))
        if text is None:
            text = json.dumps(metadata, separators=(",", ":"), ensure_ascii=False)
            if len(_SINGLE_METADATA) < 4096 and len(value) < 64:  # few distinct short pairs repeat
                _SINGLE_METADATA[(name, value)] = text
        return text
    return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sql_string(value: str) -> str:
    """A DuckDB string literal (standard SQL: only the quote needs doubling)."""
    return "'" + value.replace("'", "''") + "'"


_instances_lock = threading.Lock()


class LokiStore:
    """The Loki tables of one `Store`; use `LokiStore.of(store)` so a store has exactly one."""

    @staticmethod
    def of(store: Store) -> LokiStore:
        # Kept on the store itself, so it lives and dies with it (its stream cache must be the only one).
        with _instances_lock:
            loki: LokiStore | None = store.__dict__.get("_loki")
            if loki is None:
                loki = store.__dict__["_loki"] = LokiStore(store)
            return loki

    def __init__(self, store: Store) -> None:
        self.store = store
        cur = store.cursor()
        for ddl in _TABLES:
            cur.execute(ddl)
        self._lock = threading.Lock()
        self._streams: dict[str, dict[int, StreamInfo]] = {}
        self._listeners: list[Callable[[str], None]] = []
        self._load()

    def _load(self) -> None:
        rows = (
            self.store.cursor()
            .execute(
                "SELECT s.tenant, s.stream_id, s.labels, min(e.ts), max(e.ts), "
                "coalesce(bool_or(e.metadata IS NOT NULL), false) FROM store.loki_streams s "
                "LEFT JOIN store.loki_entries e USING (tenant, stream_id) GROUP BY ALL"
            )
            .fetchall()
        )
        for tenant, sid, labels, first, last, has_metadata in rows:
            # has_metadata too: metric queries read the metadata column only for streams that have some.
            self._streams.setdefault(tenant, {})[sid] = StreamInfo(
                json.loads(labels),
                first if first is not None else 2**62,
                last if last is not None else -(2**62),
                has_metadata=bool(has_metadata),
            )

    # ---- writing ----

    def append(self, tenant: str, streams: Sequence[PushStream]) -> int:
        """Store the entries of `streams` for `tenant` in one transaction; returns how many."""
        import pyarrow as pa

        ids: list[int] = []
        ts: list[int] = []
        lines: list[str] = []
        metadata: list[str | None] = []
        new_streams: dict[int, dict[str, str]] = {}
        ranges: dict[int, tuple[int, int]] = {}
        with_metadata: set[int] = set()
        for stream in streams:
            if not stream.entries:
                continue
            sid = stream_id(tenant, stream.labels)
            known = self._streams.get(tenant, {})
            if sid not in known:
                new_streams[sid] = stream.labels
            stamps = [e[0] for e in stream.entries]
            lo, hi = min(stamps), max(stamps)
            prev = ranges.get(sid)
            ranges[sid] = (lo, hi) if prev is None else (min(lo, prev[0]), max(hi, prev[1]))
            ids.extend([sid] * len(stamps))
            ts.extend(stamps)
            lines.extend(e[1] for e in stream.entries)
            texts = [_metadata_text(e[2]) if e[2] else None for e in stream.entries]
            if any(t is not None for t in texts):
                with_metadata.add(sid)
            metadata.extend(texts)
        if not ids:
            return 0
        table = pa.table(
            {
                "tenant": pa.array([tenant] * len(ids), pa.string()),
                "stream_id": pa.array(ids, pa.int64()),
                "ts": pa.array(ts, pa.int64()),
                "line": pa.array(lines, pa.string()),
                "metadata": pa.array(metadata, pa.string()),
            }
        )
        cur = self.store.cursor()
        with self._lock:
            cur.execute("BEGIN")
            try:
                if new_streams:
                    cur.executemany(
                        "INSERT INTO store.loki_streams VALUES (?, ?, ?)",
                        [(tenant, sid, labels_key(labels)) for sid, labels in new_streams.items()],
                    )
                cur.register("incoming_loki", table)
                cur.execute(insert_sql("incoming_loki"))
                cur.unregister("incoming_loki")
                cur.execute("COMMIT")
            except BaseException:
                # A failed COMMIT has ended the transaction already; ROLLBACK would then raise and hide why.
                with contextlib.suppress(Exception):
                    cur.execute("ROLLBACK")
                with contextlib.suppress(Exception):
                    cur.unregister("incoming_loki")
                raise
            known = self._streams.setdefault(tenant, {})
            for sid, (lo, hi) in ranges.items():
                info = known.get(sid)
                if info is None:
                    info = known[sid] = StreamInfo(new_streams[sid], lo, hi)
                else:
                    info.first_ns, info.last_ns = min(info.first_ns, lo), max(info.last_ns, hi)
                info.has_metadata = info.has_metadata or sid in with_metadata
            listeners = list(self._listeners)
        for listener in listeners:
            listener(tenant)
        return len(ids)

    def subscribe(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(tenant)` after each commit of new entries (tails wake on it instead of polling);
        returns the function that stops the calls. A listener must be quick and must not raise."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    # ---- reading ----

    def streams(
        self, tenant: str, matcher_sets: Iterable[Sequence[Matcher]] | None, start_ns: int, end_ns: int
    ) -> dict[int, dict[str, str]]:
        """The tenant's streams with entries that may fall in [start, end) and that match any of the matcher
        sets (every stream when `matcher_sets` is None)."""
        sets = list(matcher_sets) if matcher_sets is not None else None
        with self._lock:
            known = list(self._streams.get(tenant, {}).items())
        out: dict[int, dict[str, str]] = {}
        for sid, info in known:
            if info.last_ns < start_ns or info.first_ns >= end_ns:
                continue
            if sets is None or any(all(m.matches(info.labels.get(m.name, "")) for m in ms) for ms in sets):
                out[sid] = info.labels
        return out

    def any_metadata(self, tenant: str, stream_ids: Iterable[int]) -> bool:
        """Whether any entry of these streams has structured metadata (so queries must read the column)."""
        with self._lock:
            known = self._streams.get(tenant, {})
            return any(known[sid].has_metadata for sid in stream_ids if sid in known)
