"""Opening a trace, kernel side, against the local backend: the table names the column holding trace ids, the
browser's "trace" request gets every span and log of that trace (one query, a window around the row), and
`LogfireTrace` shows one trace from Python with its spans on `.df`."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import polars as pl
import pyarrow as pa
import pytest
from _captured import Captured as _CapturedBase
from _otlp_spans import send_trace_with_logs

from logfire_notebook import LogfireClient, LogfireTrace, LokiTable, TraceIdError
from logfire_notebook._trace import TRACE_WINDOW, normalize_trace_id, trace_column

SQL = (
    "SELECT start_timestamp, span_name, trace_id FROM records WHERE parent_span_id IS NULL AND kind = 'span'"
)


class Captured(_CapturedBase):
    def open_trace(self, request_id: int, trace_id: Any, at_ms: Any) -> tuple[dict[str, Any], list[bytes]]:
        message = {"type": "request", "id": request_id, "kind": "trace", "trace_id": trace_id, "at_ms": at_ms}
        self._on_message(self, message, [])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            for content, buffers in self.sent:
                if content.get("id") == request_id:
                    return content, buffers
            time.sleep(0.01)
        raise AssertionError("no reply to the trace request")


@pytest.fixture
def client(backend: Any) -> Any:
    with LogfireClient(backend.token, backend.base_url) as c:
        yield c


def deepest_trace(backend: Any) -> tuple[str, list[dict[str, Any]]]:
    """The dataset's trace with the most rows, and its rows as `records` shows them."""
    by_trace: dict[str, list[dict[str, Any]]] = {}
    for row in backend.dataset.visible_records:
        by_trace.setdefault(row["trace_id"], []).append(row)
    trace_id = max(by_trace, key=lambda t: len(by_trace[t]))
    return trace_id, by_trace[trace_id]


def ms(value: datetime) -> float:
    return value.timestamp() * 1000


def test_a_result_with_trace_ids_names_the_column_that_opens_a_trace(client: LogfireClient) -> None:
    assert Captured(SQL, since="7d", client=client).trace_column == "trace_id"
    assert Captured("SELECT span_name FROM records", since="7d", client=client).trace_column == ""
    assert trace_column(["line", "traceID"]) == "traceID"  # a Loki line's parsed field


def test_opening_a_trace_from_a_row_sends_every_span_and_log_of_it_as_arrow(
    client: LogfireClient, backend: Any
) -> None:
    trace_id, rows = deepest_trace(backend)
    root = min(rows, key=lambda r: r["start_timestamp"])
    table = Captured(SQL, since="7d", client=client)
    reply, buffers = table.open_trace(7, trace_id, ms(root["start_timestamp"]))
    assert reply["ok"] is True and reply["trace_id"] == trace_id
    spans = pa.ipc.open_stream(buffers[0]).read_all()
    assert spans.num_rows == reply["rows"] == len(rows)
    assert sorted(spans.column("span_id").to_pylist()) == sorted(r["span_id"] for r in rows)
    assert set(spans.column("trace_id").to_pylist()) == {trace_id}
    assert "pending_span" not in spans.column("kind").to_pylist()
    # The query read only the hours around the row, not the table's whole range.
    start, end = (datetime.fromisoformat(t) for t in reply["window"])
    assert end - start == 2 * TRACE_WINDOW
    assert start < root["start_timestamp"] < end


def test_a_bad_trace_id_from_the_browser_gets_one_sentence_with_the_request_id(client: LogfireClient) -> None:
    table = Captured(SQL, since="7d", client=client)
    reply, buffers = table.open_trace(8, "x' OR 1=1 --", None)
    assert reply["ok"] is False and buffers == []
    assert reply["error"].startswith('"x\' OR 1=1 --" is not a trace id')
    assert "\n" not in reply["error"]


def test_a_trace_missing_from_the_window_answers_with_no_rows(client: LogfireClient) -> None:
    table = Captured(SQL, since="7d", client=client)
    reply, buffers = table.open_trace(9, "0" * 31 + "1", ms(datetime.now(timezone.utc)))
    assert reply["ok"] is True and reply["rows"] == 0
    assert pa.ipc.open_stream(buffers[0]).read_all().num_rows == 0


def test_a_dataframe_shown_without_a_query_opens_its_own_traces(backend: Any) -> None:
    trace_id, rows = deepest_trace(backend)
    frame = pl.DataFrame(backend.dataset.visible_records).select(
        "start_timestamp", "end_timestamp", "trace_id", "span_id", "parent_span_id", "span_name", "kind"
    )
    table = Captured(data=frame)
    assert table.trace_column == "trace_id"
    reply, buffers = table.open_trace(3, trace_id.upper(), None)
    assert reply["rows"] == len(rows)
    assert pa.ipc.open_stream(buffers[0]).read_all().column("span_id").to_pylist() == [
        r["span_id"] for r in sorted(rows, key=lambda r: r["start_timestamp"])
    ]


def test_logfire_trace_shows_one_trace_with_its_spans_on_df(client: LogfireClient, backend: Any) -> None:
    trace_id, rows = deepest_trace(backend)
    at = min(r["start_timestamp"] for r in rows)
    trace = LogfireTrace(trace_id, at=at, client=client)
    assert trace.status["state"] == "ready" and trace.status["rows"] == len(rows)
    df = trace.df
    assert isinstance(df, pl.DataFrame) and df.height == len(rows)
    assert df.get_column("start_timestamp").is_sorted()
    assert {"span_id", "parent_span_id", "duration", "attributes", "exception_type"} <= set(df.columns)
    assert repr(trace) == f"LogfireTrace({trace_id!r}, rows={len(rows)})"
    # Without `at`, it searches the last 7 days; the token is in no trait.
    wide = LogfireTrace(trace_id, read_token=backend.token, base_url=backend.base_url)
    assert wide.df.height == len(rows)
    assert backend.token not in str(wide.get_state())


def test_logfire_trace_answers_the_browser_with_the_spans(client: LogfireClient, backend: Any) -> None:
    trace_id, rows = deepest_trace(backend)
    trace = LogfireTrace(trace_id, client=client)
    sent: list[tuple[dict[str, Any], list[bytes]]] = []
    trace.send = lambda content, buffers=None: sent.append((content, list(buffers or [])))  # type: ignore[method-assign]
    trace._on_message(trace, {"type": "request", "id": 1, "kind": "trace"}, [])
    reply, buffers = sent[-1]
    assert reply["ok"] is True and reply["rows"] == len(rows)
    assert pa.ipc.open_stream(buffers[0]).read_all().num_rows == len(rows)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("4BF92F3577B34DA6A3CE929D0E0E4736", "4bf92f3577b34da6a3ce929d0e0e4736"),
        ("0x00f067aa0ba902b7", "000000000000000000f067aa0ba902b7"),
        (" 4bf92f35-77b3-4da6-a3ce-929d0e0e4736 ", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ],
)
def test_trace_ids_are_read_as_logfire_writes_them(given: str, expected: str) -> None:
    assert normalize_trace_id(given) == expected


@pytest.mark.parametrize("bad", ["", "0" * 32, "g" * 32, "1" * 33, None, "'; DROP TABLE records; --"])
def test_text_that_is_no_trace_id_is_refused_in_one_sentence(bad: Any) -> None:
    with pytest.raises(TraceIdError, match="is not a trace id: give the 32 hex digits"):
        normalize_trace_id(bad)
    with pytest.raises(ValueError):
        LogfireTrace(bad, data=pl.DataFrame())


def test_the_window_is_centred_on_the_row() -> None:
    from logfire_notebook._trace import trace_window

    at = datetime(2026, 1, 1, 12, tzinfo=timezone.utc)
    assert trace_window(at) == (at - TRACE_WINDOW, at + TRACE_WINDOW)
    assert trace_window(at.replace(tzinfo=None), timedelta(minutes=5))[0] == at - timedelta(minutes=5)


class _SourceWithoutTraces:
    """A source that offers only the `Source` protocol (as a store without traces would): no TraceSource."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.language, self.time_column, self.max_limit = inner.language, inner.time_column, inner.max_limit

    async def query_arrow(self, query: str, start: datetime, end: datetime, limit: int) -> pa.Table:
        return await self._inner.query_arrow(query, start, end, limit)

    async def count(self, query: str, start: datetime, end: datetime, interval: timedelta) -> Any:
        return await self._inner.count(query, start, end, interval)

    def completion_names(self) -> Any:
        return {}

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_a_source_that_cannot_open_traces_offers_no_trace_column_and_says_so(client: LogfireClient) -> None:
    from logfire_notebook._sources.logfire import LogfireSource
    from logfire_notebook.widget import QueryTable

    class CapturedQuery(QueryTable):
        sent: list[tuple[dict[str, Any], list[bytes]]]
        open_trace = Captured.open_trace

        def send(self, content: Any, buffers: Any = None) -> None:
            self.sent.append((content, list(buffers or [])))

    CapturedQuery.sent = []
    table = CapturedQuery(SQL, source=_SourceWithoutTraces(LogfireSource(client)), since="7d")
    assert table.df.height > 0 and table.trace_column == ""
    reply, _ = table.open_trace(5, "4bf92f3577b34da6a3ce929d0e0e4736", None)
    assert reply["ok"] is False and reply["error"] == "This SQL source cannot open traces."


class CapturedLoki(LokiTable):
    """A LokiTable that keeps what it sends to the browser, as `Captured` does."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        super().__init__(*args, **kwargs)

    send = Captured.send
    open_trace = Captured.open_trace


@pytest.fixture(scope="module")
def own(make_backend: Any) -> Any:
    """A backend of these tests' own: the spans they send must not change the shared dataset."""
    return make_backend()


def test_a_loki_line_with_a_trace_id_opens_the_traces_spans_from_logfires_query_api(own: Any) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    trace_id, spans = send_trace_with_logs(own.base_url, "loki-trace-svc", tenant)
    traces = LogfireClient(own.token, own.base_url)
    table = CapturedLoki(
        '{service_name="loki-trace-svc"}', since="1h", addr=own.base_url, org_id=tenant, traces=traces
    )
    assert table.df.height == 1 and table.trace_column == "structured_metadata"
    line = table.df.row(0, named=True)
    assert dict(line["structured_metadata"])["trace_id"] == trace_id  # type: ignore[arg-type]
    reply, buffers = table.open_trace(4, trace_id, line["timestamp"].timestamp() * 1000)
    assert reply["ok"] is True and reply["trace_id"] == trace_id
    rows = pa.ipc.open_stream(buffers[0]).read_all().to_pylist()
    assert sum(r["kind"] == "span" for r in rows) == spans
    assert [r["message"] for r in rows if r["kind"] == "log"] == ["step 2 failed"]
    traces.close()


def test_a_loki_line_without_logfire_configured_says_what_opens_its_trace(
    own: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("LOGFIRE_READ_TOKEN", raising=False)
    monkeypatch.delenv("LOGFIRE_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)  # no .logfire/read_token.json above it
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    trace_id, _ = send_trace_with_logs(own.base_url, "loki-trace-svc", tenant)
    table = CapturedLoki('{service_name="loki-trace-svc"}', since="1h", addr=own.base_url, org_id=tenant)
    assert table.trace_column == "structured_metadata"
    reply, _ = table.open_trace(5, trace_id, None)
    assert reply["ok"] is False and "\n" not in reply["error"]
    assert reply["error"].startswith("No Logfire read token found: set LOGFIRE_READ_TOKEN"), reply["error"]


def test_loki_lines_without_trace_ids_offer_no_trace(backend: Any) -> None:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    pushed = httpx.post(
        f"{backend.base_url}/loki/api/v1/push",
        json={"streams": [{"stream": {"app": "plain"}, "values": [[str(time.time_ns()), "no trace here"]]}]},
        headers={"X-Scope-OrgID": tenant},
        timeout=30,
    )
    assert pushed.status_code == 204
    table = CapturedLoki('{app="plain"}', since="1h", addr=backend.base_url, org_id=tenant)
    assert table.df.height == 1 and table.trace_column == ""
