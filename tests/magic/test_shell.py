"""The magic in IPython's InteractiveShell, without a backend: options, help, config, errors, completion."""

from __future__ import annotations

import pytest
from IPython.core.completer import provisionalcompleter
from IPython.core.interactiveshell import InteractiveShell

from .conftest import magic_of, run


def test_load_ext_registers_line_and_cell_magic(shell: InteractiveShell) -> None:
    magics = shell.magics_manager.magics
    assert "logfire" in magics["line"]
    assert "logfire" in magics["cell"]


def test_help_documents_every_option(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(shell, "%%logfire?", capsys)
    assert ok
    for option in (
        "VAR <<",
        "--since WHEN",
        "--until WHEN",
        "--limit N",
        "--env NAME",
        "--all",
        "--no-widget",
    ):
        assert option in out
    assert "--arrow" in out and "--pandas" in out
    assert "%logfire login" in out


def test_unknown_option_fails_the_cell_in_one_line(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%%logfire --bogus\nSELECT 1", capsys)
    assert not ok
    assert out.strip() == "UsageError: unrecognized arguments: --bogus"


def test_sql_on_the_cell_line_is_explained(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%%logfire SELECT 1\nFROM records", capsys)
    assert not ok
    assert "`SELECT` is not an option of %%logfire" in out
    assert "Traceback" not in out


def test_missing_sql_says_where_to_write_it(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%%logfire --since 1h\n\n", capsys)
    assert not ok
    assert "There is no SQL to run" in out


def test_parameter_errors_are_one_line_without_traceback(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    shell.user_ns["svc"] = "api"
    ok, out = run(shell, "%%logfire\nSELECT * FROM records WHERE service_name = '{svc}'", capsys)
    assert not ok
    lines = out.strip().splitlines()
    assert len(lines) == 1
    assert "ParameterError" in lines[0]
    assert "write {svc} without the quotes" in lines[0]

    ok, out = run(shell, "%logfire SELECT {not_defined_anywhere}", capsys)
    assert not ok
    assert "{not_defined_anywhere} in the SQL names no variable" in out
    assert "Traceback" not in out


def test_bad_time_range_names_what_is_accepted(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%logfire --since yesterdayish SELECT 1", capsys)
    assert not ok
    assert "TimeRangeError" in out
    assert "'yesterdayish'" in out and "'15m'" in out
    assert len(out.strip().splitlines()) == 1


def test_no_token_says_what_to_set(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(shell, "%logfire SELECT 1", capsys)
    assert not ok
    assert "ConfigError" in out
    assert "LOGFIRE_READ_TOKEN" in out
    assert "%logfire login" in out
    assert "Traceback" not in out


def test_limit_outside_the_api_range_is_refused(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%logfire --limit 20000 SELECT 1", capsys)
    assert not ok
    assert "--limit must be between 1 and 10,000; use --all for more rows." in out


def test_config_sets_defaults_and_lists_settings(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    ok, out = run(shell, "%config LogfireMagic", capsys)
    assert ok
    for setting in ("since", "until", "limit", "base_url", "show_widget", "short_errors"):
        assert f"LogfireMagic.{setting}" in out
    assert "Current: '1d'" in out

    run(shell, "%config LogfireMagic.limit = 250", capsys)
    run(shell, "%config LogfireMagic.since = '6h'", capsys)
    magic = magic_of(shell)
    assert (magic.limit, magic.since) == (250, "6h")

    run(shell, "%config LogfireMagic.limit = 0", capsys)
    ok, out = run(shell, "%logfire SELECT 1", capsys)
    assert not ok
    assert "LogfireMagic.limit must be between 1 and 10,000; use --all for more rows." in out


def test_login_keeps_token_out_of_config_and_history(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "pylf_v1_local_SECRETSECRETSECRET"
    monkeypatch.setattr("getpass.getpass", lambda prompt="": secret)
    # No server at this URL: login reports the failure and forgets the token.
    monkeypatch.setenv("LOGFIRE_BASE_URL", "http://127.0.0.1:9")
    ok, out = run(shell, "%logfire login", capsys)
    assert not ok
    assert "LoginError" in out and "not accepted" in out
    assert secret not in out
    assert magic_of(shell)._login_token is None

    # Traceback printers that show each frame's locals (IPython's verbose mode, rich) find no token either.
    with pytest.raises(Exception) as failed:
        magic_of(shell)._login()
    traceback = failed.value.__traceback__.tb_next  # past this test's own frame
    frames = 0
    while traceback is not None:
        assert secret not in repr(traceback.tb_frame.f_locals)
        traceback, frames = traceback.tb_next, frames + 1
    assert frames >= 1

    ok, out = run(shell, "%config LogfireMagic", capsys)
    assert secret not in out
    history = "\n".join(src for _, _, src in shell.history_manager.get_range(output=False))
    assert secret not in history


def test_completes_columns_and_tables_in_a_logfire_cell(shell: InteractiveShell) -> None:
    # Without a token the built-in Logfire schema is used.
    with provisionalcompleter():
        text = "%%logfire\nSELECT service_n"
        names = [c.text for c in shell.Completer.completions(text, len(text))]
        assert names == ["service_name", "service_namespace"]

        text = "%%logfire --since 1h\nSELECT * FROM rec"
        assert [c.text for c in shell.Completer.completions(text, len(text))] == ["records"]

        text = "%%logfire\nSELECT metric_n FROM metrics"
        cursor = len("%%logfire\nSELECT metric_n")
        assert [c.text for c in shell.Completer.completions(text, cursor)] == ["metric_name"]


def test_python_cells_do_not_get_sql_completions(shell: InteractiveShell) -> None:
    shell.user_ns["service_thing"] = 1
    with provisionalcompleter():
        text = "service_t"
        names = [c.text for c in shell.Completer.completions(text, len(text))]
    assert "service_thing" in names
    assert "service_name" not in names


def test_login_without_a_prompt_says_to_use_the_environment(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_stdin(prompt: str = "") -> str:
        raise EOFError

    monkeypatch.setattr("getpass.getpass", no_stdin)
    ok, out = run(shell, "%logfire login", capsys)
    assert not ok
    assert out.strip().endswith("set LOGFIRE_READ_TOKEN in the kernel's environment instead.")


def test_unload_and_load_again(shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    matchers = len(shell.Completer.custom_matchers)
    run(shell, "%unload_ext logfire_notebook", capsys)
    assert "logfire" not in shell.magics_manager.magics["cell"]
    assert "logql" not in shell.magics_manager.magics["cell"]
    assert len(shell.Completer.custom_matchers) == matchers - 2  # one per magic: %%logfire, %%logql
    assert shell.custom_exceptions == ()
    ok, out = run(shell, "%load_ext logfire_notebook", capsys)
    assert ok, out
    assert "logfire" in shell.magics_manager.magics["cell"]
    assert "logql" in shell.magics_manager.magics["cell"]
    assert len(shell.Completer.custom_matchers) == matchers
    ok, out = run(shell, "%logfire SELECT {undefined_name}", capsys)
    assert not ok
    assert out.strip().startswith("\x1b[0;31mParameterError")


@pytest.mark.parametrize(
    "cell", ["%logfire --since 2030-01-01 SELECT 1", "%logfire --since 1h --until 2h SELECT 1"]
)
def test_a_start_in_the_future_is_refused_like_a_start_after_the_end(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, cell: str
) -> None:
    # A token and an address that would answer: the range is refused before anything is sent.
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", "pylf_v1_local_notsentanywhere")
    monkeypatch.setenv("LOGFIRE_BASE_URL", "http://127.0.0.1:9")
    ok, out = run(shell, cell, capsys)
    assert not ok
    assert "TimeRangeError\x1b[0m: The range " in out or "TimeRangeError: The range " in out, out
    assert "start" in out and ("future" in out or "before the end" in out)
    assert len(out.strip().splitlines()) == 1


def test_a_base_url_without_scheme_says_it_needs_http(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGFIRE_READ_TOKEN", "pylf_v1_local_notsentanywhere")
    monkeypatch.setenv("LOGFIRE_BASE_URL", "127.0.0.1:8787")
    ok, out = run(shell, "%logfire SELECT 1", capsys)
    assert not ok
    assert "'127.0.0.1:8787' has no scheme: write it with http:// or https://" in out
    assert "LOGFIRE_BASE_URL=http://127.0.0.1:8787" in out
    assert "run the query again" not in out and "notsentanywhere" not in out
