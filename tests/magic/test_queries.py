"""`%%logfire` against the real local backend (the `backend` fixture), in IPython's InteractiveShell."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell

from logfire_notebook._timerange import TimeRange

from .conftest import magic_of, run


@pytest.fixture
def live(shell: InteractiveShell, backend: Any, monkeypatch: pytest.MonkeyPatch) -> InteractiveShell:
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", backend.token)
    monkeypatch.setenv("LOGFIRE_BASE_URL", backend.base_url)
    return shell


def service_counts(backend: Any) -> dict[str, int]:
    return dict(Counter(r["service_name"] for r in backend.dataset.visible_records))


def test_cell_result_is_assigned_kept_in_underscore_and_footed(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(
        live,
        "%%logfire counts << --since 8d\nSELECT service_name, count(*) AS n FROM records GROUP BY 1 ORDER BY 1",
        capsys,
    )
    assert ok, out
    counts = live.user_ns["counts"]
    assert isinstance(counts, pl.DataFrame)
    assert dict(zip(counts["service_name"], counts["n"], strict=True)) == service_counts(backend)
    assert live.user_ns["_"] is counts
    footer = out.strip().splitlines()[-1]
    assert footer.startswith(f"{len(service_counts(backend))} rows · ")
    assert footer.endswith(f" s · {TimeRange.parse('8d').label()}")
    assert "more rows may exist" not in footer


def test_footer_says_more_rows_may_exist_at_the_limit(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(live, "%logfire --since 8d --limit 7 SELECT span_name FROM records", capsys)
    assert ok, out
    assert live.user_ns["_"].height == 7
    assert out.strip().endswith(
        "the limit of 7 rows was reached, more rows may exist (raise --limit or use --all)"
    )


def test_default_limit_comes_from_config(live: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    run(live, "%config LogfireMagic.limit = 12", capsys)
    ok, out = run(live, "%logfire --since 8d SELECT span_name FROM records", capsys)
    assert ok, out
    assert live.user_ns["_"].height == 12
    assert "the limit of 12 rows was reached" in out


def test_quote_inside_a_parameter_value_cannot_change_the_query(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = "%%logfire --since 8d\nSELECT count(*) AS n FROM records WHERE service_name = {svc}"
    live.user_ns["svc"] = "checkout' OR '1'='1"
    ok, out = run(live, cell, capsys)
    assert ok, out
    assert live.user_ns["_"]["n"].to_list() == [0]

    live.user_ns["svc"] = "checkout"
    ok, out = run(live, cell, capsys)
    assert ok, out
    assert live.user_ns["_"]["n"].to_list() == [service_counts(backend)["checkout"]]


def test_tuple_parameter_fills_an_in_list(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    live.user_ns["services"] = ("worker", "cron")
    ok, out = run(
        live, "%logfire --since 8d SELECT count(*) AS n FROM records WHERE service_name IN {services}", capsys
    )
    assert ok, out
    counts = service_counts(backend)
    assert live.user_ns["_"]["n"].to_list() == [counts["worker"] + counts["cron"]]


def test_env_option_keeps_one_deployment_environment(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(
        live,
        "%logfire --since 8d --env production SELECT DISTINCT service_name FROM records ORDER BY 1",
        capsys,
    )
    assert ok, out
    assert live.user_ns["_"]["service_name"].to_list() == ["api-gateway", "checkout"]


def test_arrow_and_pandas_results(live: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(live, "%logfire t << --arrow --since 8d SELECT 1 AS one", capsys)
    assert ok, out
    assert isinstance(live.user_ns["t"], pa.Table)
    assert live.user_ns["t"].column("one").to_pylist() == [1]
    ok, out = run(live, "%logfire --pandas --since 8d SELECT 2 AS two", capsys)
    assert ok, out
    assert isinstance(live.user_ns["_"], pd.DataFrame)
    assert live.user_ns["_"]["two"].tolist() == [2]


def test_all_fetches_every_row_without_a_limit_note(
    live: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(live, "%%logfire everything << --all --since 8d --limit 5\nSELECT * FROM records", capsys)
    assert ok, out
    assert live.user_ns["everything"].height == len(backend.dataset.visible_records)
    assert "more rows may exist" not in out


def test_all_without_the_key_columns_says_which_columns_to_select(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(live, "%%logfire --all --since 8d\nSELECT message FROM records", capsys)
    assert not ok
    assert (
        "--all (query_all) pages by (start_timestamp, trace_id, span_id), which the query does not return"
        in out
    )
    assert "SELECT * FROM records WHERE" in out
    assert len(out.strip().splitlines()) == 1


def test_failing_query_shows_the_server_message_in_one_line(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(live, "%%logfire\nSELECT no_such_column FROM records", capsys)
    assert not ok
    lines = out.strip().splitlines()
    assert len(lines) <= 2
    assert lines[0].startswith("\x1b[0;31mQueryError\x1b[0m: ")
    assert "no_such_column" in lines[0]
    assert "Traceback" not in out


def test_short_errors_off_shows_the_traceback(
    live: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    run(live, "%config LogfireMagic.short_errors = False", capsys)
    ok, out = run(live, "%%logfire\nSELECT no_such_column FROM records", capsys)
    assert not ok
    assert "Traceback" in out and "QueryError" in out


def test_login_keeps_the_token_for_the_kernel(
    shell: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGFIRE_BASE_URL", backend.base_url)
    prompts: list[str] = []

    def getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return backend.token

    monkeypatch.setattr("getpass.getpass", getpass)
    ok, out = run(shell, "%logfire login", capsys)
    assert ok, out
    assert prompts == ["Logfire read token: "]
    assert (
        f"Token accepted: %%logfire cells in this kernel now query the project 'local' at {backend.base_url}."
        in out
    )
    assert "kept in this kernel's memory only (not in the notebook, not on disk)" in out
    ok, out = run(shell, "%logfire --since 8d SELECT count(*) AS n FROM records", capsys)
    assert ok, out
    assert shell.user_ns["_"]["n"].to_list() == [len(backend.dataset.visible_records)]
    assert backend.token not in out
    assert backend.token not in repr(magic_of(shell))


def test_completion_uses_the_backend_schemas(live: InteractiveShell) -> None:
    magic = magic_of(live)
    text = "%%logfire\nSELECT http_r"
    with provisionalcompleter():
        first = [c.text for c in live.Completer.completions(text, len(text))]
        # The first Tab starts the /v1/schemas fetch in the background; it is cached for the kernel.
        assert magic._schemas_fetch is not None
        magic._schemas_fetch.join()
        assert magic._schemas is not None
        assert set(magic._schemas) == {"records", "metrics"}
        names = [c.text for c in live.Completer.completions(text, len(text))]
    assert first == names == ["http_response_status_code", "http_route"]


def test_base_url_from_config(
    shell: InteractiveShell, backend: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", backend.token)
    ok, out = run(shell, "%logfire SELECT 1 AS one", capsys)
    assert not ok
    assert "ConfigError" in out  # a local token has no public host
    run(shell, f"%config LogfireMagic.base_url = {backend.base_url!r}", capsys)
    ok, out = run(shell, "%logfire SELECT 1 AS one", capsys)
    assert ok, out
    assert shell.user_ns["_"]["one"].to_list() == [1]
