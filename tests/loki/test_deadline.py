"""Query time limits share one watchdog thread: a statement is still cut at its own limit when a query with
a later limit is already being watched, and statements within their limit run untouched."""

from __future__ import annotations

import time

import duckdb
import pytest

from logfire_notebook.server.loki.deadline import Deadline, LokiTimeout

# Minutes of work unless it is interrupted.
ENDLESS = "SELECT sum(i * i % 7) FROM range(10000000000) t(i)"


def test_a_sooner_limit_cuts_its_statement_while_a_later_one_is_watched() -> None:
    idle, busy = duckdb.connect(), duckdb.connect()
    started = time.monotonic()
    with Deadline(60).watching(idle), pytest.raises(LokiTimeout), Deadline(0.3).watching(busy):
        busy.execute(ENDLESS).fetchall()
    assert time.monotonic() - started < 30
    # Both connections still answer, and a query within its limit is not interrupted.
    with Deadline(60).watching(busy):
        assert busy.execute("SELECT 42").fetchall() == [(42,)]
    assert idle.execute("SELECT 1").fetchall() == [(1,)]


def test_statements_after_a_cut_one_run_to_their_own_limit() -> None:
    con = duckdb.connect()
    for _ in range(2):
        with pytest.raises(LokiTimeout), Deadline(0.2).watching(con):
            con.execute(ENDLESS).fetchall()
    with Deadline(60).watching(con):
        assert con.execute("SELECT count(*) FROM range(1000000)").fetchall() == [(1_000_000,)]
