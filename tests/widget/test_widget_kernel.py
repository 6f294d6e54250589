"""LogfireTable's kernel side against the local backend: what a notebook user sees from Python, and what the
browser is sent (the replies are captured where the widget hands them to its comm)."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa
import pytest
from _captured import Captured as _CapturedBase
from _loopback import LoopbackServer, read_request

from logfire_notebook import LogfireClient, LogfireTable
from logfire_notebook._exceptions import TimeRangeError
from logfire_notebook._sources.logfire import histogram_sql

SQL = "SELECT start_timestamp, level, span_name, duration, attributes FROM records ORDER BY start_timestamp DESC"


class Captured(_CapturedBase):
    def shown(self) -> tuple[dict[str, Any], list[bytes]]:
        """What the browser has with the result, without asking: its row count, timeline and first rows."""
        shown = {
            "rows": self.status.get("rows", 0),
            "timeline": self.timeline.get("histogram"),
            "timeline_note": self.timeline.get("note"),
        }
        return shown, [self.head] if self.head else []

    def request(self, request_id: int, **params: Any) -> tuple[dict[str, Any], list[bytes]]:
        """A window request as the browser sends it, and the kernel's reply."""
        self._on_message(self, {"type": "request", "id": request_id, "kind": "window", **params}, [])
        return self.sent[-1]


@pytest.fixture
def client(backend: Any) -> Any:
    with LogfireClient(backend.token, backend.base_url) as c:
        yield c


def count(client: LogfireClient, table: LogfireTable) -> int:
    start, end = (datetime.fromisoformat(t) for t in table.status["window"])
    result = client.query_arrow("SELECT count(*) AS n FROM records", min_timestamp=start, max_timestamp=end)
    return int(result.column("n")[0].as_py())


def test_rows_reach_the_browser_as_arrow_ipc_with_the_request_id(client: LogfireClient) -> None:
    table = Captured(SQL, since="7d", client=client, limit=500)
    shown, buffers = table.shown()  # a small result comes whole, with the result itself
    assert shown["rows"] == 500 == table.df.height
    rows = pa.ipc.open_stream(buffers[0]).read_all()
    assert rows.num_rows == 500
    assert rows.column("span_name").to_pylist() == table.df.get_column("span_name").to_list()
    reply, buffers = table.request(41, revision=table.revision, offset=100, count=50, sort=None)
    assert reply["type"] == "reply" and reply["id"] == 41 and reply["ok"] is True
    assert (reply["offset"], reply["count"], reply["rows"]) == (100, 50, 500)
    window = pa.ipc.open_stream(buffers[0]).read_all()
    assert window.column("span_name").to_pylist() == table.df.get_column("span_name").to_list()[100:150]
    assert "data" not in reply  # rows travel only in the buffer


def test_setting_the_range_from_python_reruns_the_query(client: LogfireClient) -> None:
    table = LogfireTable(SQL, since="7d", client=client, limit=10_000)
    week = table.df.height
    table.min_timestamp = "1h"
    assert table.min_timestamp == "now-1h"
    assert table.status["state"] == "ready"
    assert table.df.height == table.status["rows"] == count(client, table) < week
    table.min_timestamp, table.max_timestamp = "now-2d", "now-1d"
    assert table.df.height == count(client, table)
    assert table.time_range.label() == "now-2d → now-1d"


def test_the_status_marks_a_result_cut_by_the_limit(client: LogfireClient) -> None:
    table = LogfireTable(SQL, since="7d", client=client, limit=25)
    assert table.status["rows"] == 25 and table.status["limit_reached"] is True
    table.limit = 10_000
    assert table.status["limit_reached"] is False


def test_the_timeline_counts_the_whole_range_not_only_the_rows_returned(client: LogfireClient) -> None:
    table = Captured(SQL + " LIMIT 5", since="7d", client=client, limit=10)
    reply, _ = table.shown()
    timeline = reply["timeline"]
    assert sum(timeline["counts"]) == count(client, table) > 10
    assert timeline["from"] <= timeline["starts"][0] + timeline["interval"]
    assert len(timeline["starts"]) <= 81


def test_a_query_without_start_timestamp_has_no_timeline_and_says_why(client: LogfireClient) -> None:
    table = Captured(
        "SELECT span_name, count(*) AS n FROM records GROUP BY span_name", since="7d", client=client
    )
    reply, _ = table.shown()
    assert reply["timeline"] is None
    assert "no start_timestamp column" in reply["timeline_note"]


def test_a_failing_query_shows_one_sentence_and_no_rows(client: LogfireClient) -> None:
    table = Captured("SELECT no_such_column FROM records", since="1h", client=client)
    assert table.status["state"] == "error"
    assert "\n" not in table.status["error"] and "no_such_column" in table.status["error"]
    assert table.df.height == 0
    shown, buffers = table.shown()
    assert shown["rows"] == 0 and buffers == []


def test_an_unreadable_range_from_python_raises_one_sentence(client: LogfireClient) -> None:
    table = LogfireTable(SQL, since="1h", client=client)
    with pytest.raises(TimeRangeError, match="Could not read 'yesterday-ish'"):
        table.min_timestamp = "yesterday-ish"
    assert table.min_timestamp == "now-1h"


def test_the_read_token_is_in_no_state_repr_or_message(backend: Any) -> None:
    table = Captured(SQL, since="1h", read_token=backend.token, base_url=backend.base_url)
    assert table.df.height > 0
    state = json.dumps(table.get_state(), default=str)
    reply, _ = table.shown()
    for text in (state, repr(table), json.dumps(reply)):
        assert backend.token not in text
        # The secret after the fixed prefix; token_urlsafe may itself contain "_", so never split on it.
        assert backend.token.removeprefix("pylf_v1_local_") not in text


def test_a_dataframe_without_sql_is_filtered_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    # No token anywhere: filtering a DataFrame must not need a backend.
    monkeypatch.delenv("LOGFIRE_READ_TOKEN", raising=False)
    now = datetime.now(timezone.utc)
    frame = pl.DataFrame(
        {
            "start_timestamp": [now - timedelta(minutes=m) for m in (1, 10, 50, 90, 600)],
            "message": ["a", "b", "c", "d", "e"],
        }
    )
    table = Captured(data=frame)
    assert table.local and table.df.height == 5
    # The rows went first; the timeline followed (`.df` waits for it) and counts the result shown.
    assert table.timeline["revision"] == table.revision
    assert sum(table.timeline["histogram"]["counts"]) == 5
    table.min_timestamp = "now-1h"
    assert table.df.get_column("message").to_list() == ["a", "b", "c"]
    reply, buffers = table.shown()
    assert reply["rows"] == 3 and pa.ipc.open_stream(buffers[0]).read_all().num_rows == 3
    assert sum(reply["timeline"]["counts"]) == 3


def test_a_dataframe_in_its_own_range_is_shown_as_is_and_rows_without_a_time_stay_out() -> None:
    now = datetime.now(timezone.utc)
    frame = pl.DataFrame(
        {"start_timestamp": [now - timedelta(minutes=m) for m in (1, 5, 9)], "message": list("abc")}
    )
    # Its first range is its extent: the frame is shown as it is, not a filtered copy of every row.
    assert Captured(data=frame).df is frame
    undated = pl.concat(
        [frame, pl.DataFrame({"start_timestamp": [None], "message": ["d"]}, schema=frame.schema)]
    )
    table = Captured(data=undated)
    assert table.df.get_column("message").to_list() == ["a", "b", "c"] and table.status["rows"] == 3


def test_data_given_with_sql_is_shown_without_querying_again(client: LogfireClient) -> None:
    first = client.query_polars(SQL, since="1h", limit=1000)
    table = LogfireTable(SQL, since="1h", client=client, data=first)
    assert table.df is first
    assert table.status["rows"] == first.height


def test_histogram_sql_drops_only_a_trailing_limit() -> None:
    sql = histogram_sql(
        "SELECT * FROM records WHERE x = 'LIMIT 3' ORDER BY 1 LIMIT 10 OFFSET 5;", timedelta(hours=1)
    )
    assert "LIMIT 10" not in sql and "OFFSET" not in sql and "'LIMIT 3'" in sql
    assert sql.startswith("SELECT time_bucket('1 hours', start_timestamp) AS bucket, count(*) AS n FROM (")


class HoldingProxy(LoopbackServer):
    """A loopback HTTP proxy in front of the local backend that holds back the row query of a range reaching
    more than a day back: it never answers it and records when the client closes that connection. Every
    other request goes to the backend (one request per connection) and gets the backend's answer."""

    def __init__(self, backend_url: str, give_up_after: float = 60.0) -> None:
        self.give_up_after = give_up_after  # a bound so a client that never hangs up cannot hang the test
        parsed = urlsplit(backend_url)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.held = threading.Event()  # the slow request arrived and is being held
        self.hung_up = threading.Event()  # the client closed the held request's connection
        self.gave_up = threading.Event()  # the proxy closed it, the client never did
        super().__init__()

    def _holds(self, body: bytes) -> bool:
        if not body:
            return False
        query = json.loads(body)
        start = datetime.fromisoformat(query["min_timestamp"].replace("Z", "+00:00"))
        return "time_bucket" not in query["sql"] and start < datetime.now(timezone.utc) - timedelta(days=1)

    def serve(self, conn: socket.socket) -> None:
        with conn:
            request = read_request(conn)
            if request is None:
                return
            head, body, _ = request
            if self._holds(body):
                self.held.set()
                conn.settimeout(self.give_up_after)
                try:
                    while conn.recv(65536):  # never answer: wait until the client hangs up
                        pass
                except TimeoutError:
                    self.gave_up.set()
                    return
                self.hung_up.set()
                return
            self._forward(conn, head, body)

    def _forward(self, conn: socket.socket, head: bytes, body: bytes) -> None:
        lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
        with socket.create_connection(self.upstream) as upstream:
            upstream.sendall(b"\r\n".join([*lines, b"connection: close"]) + b"\r\n\r\n" + body)
            while chunk := upstream.recv(65536):  # the backend closes after its answer
                conn.sendall(chunk)


class SlowCountProxy(HoldingProxy):
    """A loopback proxy in front of the local backend that, once `armed`, holds the timeline's count query
    (and only it) until `release` is set, then answers it from the backend."""

    def __init__(self, backend_url: str) -> None:
        self.armed = threading.Event()
        self.release = threading.Event()
        super().__init__(backend_url)

    def serve(self, conn: socket.socket) -> None:
        with conn:
            request = read_request(conn)
            if request is None:
                return
            head, body, _ = request
            if self.armed.is_set() and body and "time_bucket" in json.loads(body)["sql"]:
                self.held.set()
                self.release.wait(30)
            self._forward(conn, head, body)


def test_a_newer_range_from_the_browser_cancels_the_superseded_request_on_the_wire(backend: Any) -> None:
    proxy = HoldingProxy(backend.base_url)
    with (
        LogfireClient(backend.token, proxy.url) as through_proxy,
        LogfireClient(backend.token, backend.base_url) as c,
    ):
        table = Captured(SQL, since="1h", client=through_proxy, limit=10_000)
        shown: list[dict[str, Any]] = []
        table.observe(lambda change: shown.append(change["new"]), names="status")
        try:
            # What the comm does with a message from the browser: set_state.
            table.set_state({"min_timestamp": "now-2d"})
            assert proxy.held.wait(30), "the two-day query never reached the server"
            assert table.status["state"] == "loading"
            table.set_state({"min_timestamp": "now-3h"})  # the user picked again before the first answered
            # The older request's connection is closed, though the server never answered it.
            assert proxy.hung_up.wait(30), "the superseded request was left running on the wire"
            assert table.df.height == count(c, table)  # `.df` waits for the newest query
            assert table.status["min_timestamp"] == "now-3h"
            assert [s.get("min_timestamp") for s in shown if s.get("state") == "ready"] == ["now-3h"]
            reply, buffers = table.shown()
            assert pa.ipc.open_stream(buffers[0]).read_all().num_rows == table.df.height == reply["rows"]
        finally:
            table.close()
            proxy.close()


def test_a_picked_range_shows_its_rows_before_the_timeline_is_counted(backend: Any) -> None:
    proxy = SlowCountProxy(backend.base_url)
    with (
        LogfireClient(backend.token, proxy.url) as through_proxy,
        LogfireClient(backend.token, backend.base_url) as c,
    ):
        table = Captured(SQL, since="1h", client=through_proxy, limit=10_000)
        try:
            before = table.revision
            proxy.armed.set()
            table.set_state({"min_timestamp": "now-3h"})  # picked in the browser
            assert proxy.held.wait(30), "the timeline's count never reached the server"
            # The count is held at the server, yet the rows are already with the browser, marked as a
            # result whose timeline is still to come (the timeline's revision is the old result's).
            assert wait_for(lambda: table.revision == before + 1)
            assert table.status["state"] == "ready" and table.status["min_timestamp"] == "now-3h"
            rows = count(c, table)
            assert table.status["rows"] == rows == pa.ipc.open_stream(table.head).read_all().num_rows
            assert table.timeline["revision"] == before
            proxy.release.set()
            assert table.df.height == rows  # `.df` waits for the whole run, the timeline too
            assert table.timeline["revision"] == table.revision == before + 1
            assert sum(table.timeline["histogram"]["counts"]) == rows
        finally:
            proxy.release.set()
            table.close()
            proxy.close()


def test_a_table_given_its_rows_opens_with_them_before_the_timeline_is_counted(backend: Any) -> None:
    # The magic's path: the cell ran the query, the widget shows its rows; the count is a second query.
    proxy = SlowCountProxy(backend.base_url)
    with (
        LogfireClient(backend.token, proxy.url) as through_proxy,
        LogfireClient(backend.token, backend.base_url) as c,
    ):
        data = c.query_polars(SQL, since="3h", limit=10_000)
        proxy.armed.set()
        table = Captured(SQL, since="3h", client=through_proxy, limit=10_000, data=data)
        try:
            # Constructed (and opened, rows and all) while the count is still held at the server.
            assert proxy.held.wait(30), "the timeline's count never reached the server"
            assert table.comm is not None and table.status["state"] == "ready"
            assert table.status["rows"] == data.height == pa.ipc.open_stream(table.head).read_all().num_rows
            assert table.timeline["revision"] != table.revision  # the browser shows it as pending
            proxy.release.set()
            assert table.df.height == data.height
            assert wait_for(lambda: table.timeline["revision"] == table.revision)
            assert sum(table.timeline["histogram"]["counts"]) >= data.height
        finally:
            proxy.release.set()
            table.close()
            proxy.close()


def wait_for(condition: Any, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_a_range_set_from_python_cancels_a_browser_query_and_is_current_on_return(backend: Any) -> None:
    proxy = HoldingProxy(backend.base_url)
    with (
        LogfireClient(backend.token, proxy.url) as through_proxy,
        LogfireClient(backend.token, backend.base_url) as c,
    ):
        table = Captured(SQL, since="1h", client=through_proxy, limit=10_000)
        try:
            table.set_state({"min_timestamp": "now-2d"})  # picked in the browser, held by the server
            assert proxy.held.wait(30), "the two-day query never reached the server"
            table.min_timestamp = "now-3h"  # then set from Python
            # The assignment returned with the new result in place, and the browser's query was hung up on.
            assert table.status["state"] == "ready" and table.status["min_timestamp"] == "now-3h"
            assert table._frame is not None and table._frame.height == count(c, table)
            assert proxy.hung_up.wait(30), "the superseded request was left running on the wire"
        finally:
            table.close()
            proxy.close()


def test_ctrl_c_while_a_range_from_python_runs_hangs_up_and_says_so(backend: Any) -> None:
    proxy = HoldingProxy(backend.base_url)
    main = threading.main_thread().ident
    assert main is not None

    def interrupt_once_held() -> None:
        if proxy.held.wait(30):
            signal.pthread_kill(main, signal.SIGINT)  # what the kernel's interrupt button sends

    # No client timeout and no retries: only Ctrl-C can end the held request before the proxy gives up.
    # A shell that starts pytest in the background leaves SIGINT ignored: put Python's handler in place then.
    # Otherwise leave the process's handler alone (once polars has run, it is not Python's own at OS level,
    # and that is the case a kernel is in).
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    with LogfireClient(backend.token, proxy.url, timeout=None, max_retries=0) as through_proxy:
        table = Captured(SQL, since="1h", client=through_proxy, limit=10_000)
        try:
            threading.Thread(target=interrupt_once_held, daemon=True).start()
            with pytest.raises(KeyboardInterrupt):
                table.min_timestamp = "now-2d"
            assert proxy.hung_up.wait(30), "the interrupted request was left running on the wire"
            assert not proxy.gave_up.is_set()
            assert table.status["state"] == "error" and "interrupted" in table.status["error"]
            assert table.df.height == 0
        finally:
            table.close()
            proxy.close()
            if previous is not signal.default_int_handler:
                signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)


class GatedClient(LogfireClient):
    """The real client, except that row queries reaching back more than a day wait for `release`: a client
    the widget cannot copy into an async one (it overrides query_arrow), so it calls it on a thread."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.release = threading.Event()
        self.waiting = threading.Event()
        self.finished = threading.Event()

    def query_arrow(self, sql: str, *args: Any, **kwargs: Any) -> pa.Table:
        start = kwargs.get("min_timestamp")
        if (
            "time_bucket" not in sql
            and start is not None
            and start < datetime.now(timezone.utc) - timedelta(days=1)
        ):
            self.waiting.set()
            assert self.release.wait(60), "the test never released the slow query"
            try:
                return super().query_arrow(sql, *args, **kwargs)
            finally:
                self.finished.set()
        return super().query_arrow(sql, *args, **kwargs)


def test_with_a_client_it_cannot_copy_a_newer_range_still_supersedes(backend: Any) -> None:
    gated = GatedClient(backend.token, backend.base_url)
    with gated, LogfireClient(backend.token, backend.base_url) as c:
        table = Captured(SQL, since="1h", client=gated, limit=10_000)
        shown: list[dict[str, Any]] = []
        table.observe(lambda change: shown.append(change["new"]), names="status")

        table.set_state({"min_timestamp": "now-2d"})
        assert gated.waiting.wait(30)
        assert table.status["state"] == "loading"
        table.set_state({"min_timestamp": "now-3h"})
        assert table.df.height == count(c, table)
        assert table.status["min_timestamp"] == "now-3h"

        gated.release.set()
        assert gated.finished.wait(30)
        # The older query's answer was dropped: never shown, and the newer rows stay.
        assert table.status["min_timestamp"] == "now-3h"
        assert [s.get("min_timestamp") for s in shown if s.get("state") == "ready"] == ["now-3h"]
        reply, buffers = table.shown()
        assert pa.ipc.open_stream(buffers[0]).read_all().num_rows == table.df.height == reply["rows"]


def test_showing_a_table_runs_its_query_once(client: LogfireClient) -> None:
    table = LogfireTable(SQL, since="6h", until="now-1h", client=client)
    assert table.revision == 1
    assert (table.min_timestamp, table.max_timestamp) == ("now-6h", "now-1h")
