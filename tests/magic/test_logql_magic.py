"""`%%logql` against the local backend's Loki API, in IPython's InteractiveShell: the same cell machinery as
`%%logfire` (VAR <<, `_`, footer, parameters, one-line errors), LogQL underneath."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import polars as pl
import pytest
from IPython.core.interactiveshell import InteractiveShell

from logfire_notebook.logql_magic import LokiMagic

from .conftest import run


def loki_magic(shell: InteractiveShell) -> LokiMagic:
    found: Any = next(c for c in shell.configurables if isinstance(c, LokiMagic))
    return found  # type: ignore[no-any-return]


@pytest.fixture
def loki_shell(shell: InteractiveShell, backend: Any) -> Iterator[InteractiveShell]:
    tenant = f"t-{uuid.uuid4().hex[:12]}"
    now = time.time_ns()
    values = [
        [str(now - i * 1_000_000_000), f"GET /item/{i} status={500 if i % 4 == 0 else 200}"]
        for i in range(1, 41)
    ]
    pushed = httpx.post(
        f"{backend.base_url}/loki/api/v1/push",
        json={"streams": [{"stream": {"service_name": 'we"b', "level": "info"}, "values": values}]},
        headers={"X-Scope-OrgID": tenant},
    )
    assert pushed.status_code == 204, pushed.text
    magic = loki_magic(shell)
    magic.addr, magic.org_id = backend.base_url, tenant
    yield shell
    shell.config.pop("LokiMagic", None)
    for name in ("since", "until", "limit", "addr", "org_id", "direction", "show_widget", "short_errors"):
        setattr(magic, name, LokiMagic.class_traits()[name].default())
    magic.close()
    magic._client_key = None


def test_cell_result_is_assigned_with_a_safe_parameter_and_a_footer(
    loki_shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    loki_shell.user_ns["svc"] = 'we"b'  # a quote in the value stays inside the string literal
    ok, out = run(
        loki_shell, '%%logql errors << --since 10m --limit 100\n{service_name={svc}} |= "status=500"', capsys
    )
    assert ok, out
    errors = loki_shell.user_ns["errors"]
    assert isinstance(errors, pl.DataFrame) and errors.height == 10
    assert loki_shell.user_ns["_"] is errors
    assert "10 rows · " in out


def test_limit_direction_and_arrow(loki_shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(
        loki_shell,
        '%%logql first << --since 10m --limit 5 --direction forward --arrow\n{level="info"}',
        capsys,
    )
    assert ok, out
    table = loki_shell.user_ns["first"]
    lines = table.column("line").to_pylist()
    assert lines == [f"GET /item/{i} status={500 if i % 4 == 0 else 200}" for i in (40, 39, 38, 37, 36)]
    assert "the limit of 5 rows was reached" in out


def test_all_fetches_past_the_limit(loki_shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(loki_shell, "%config LokiMagic.limit = 7", capsys)
    ok, out = run(loki_shell, '%%logql every << --since 10m --all\n{level="info"}', capsys)
    assert ok, out
    assert loki_shell.user_ns["every"].height == 40


def test_errors_are_one_line(loki_shell: InteractiveShell, capsys: pytest.CaptureFixture[str]) -> None:
    ok, out = run(loki_shell, "%%logql --since 10m\n{level=info}", capsys)
    assert not ok and "QueryError" in out and "parse error" in out and "Traceback" not in out
    ok, out = run(loki_shell, '%%logql --limit 6000\n{level="info"}', capsys)
    assert not ok and "--limit must be between 1 and 5,000" in out
    ok, out = run(loki_shell, '%%logql\n{level="{x}"}', capsys)
    assert not ok and "ParameterError" in out and "inside a quoted string" in out
    magic = loki_magic(loki_shell)
    magic.addr = "http://127.0.0.1:9"
    ok, out = run(loki_shell, '%%logql\n{level="info"}', capsys)
    assert not ok and "ConnectError" in out and len([line for line in out.splitlines() if line.strip()]) <= 3


def test_a_logql_widget_opens_a_lines_trace_with_the_logfire_login_of_the_kernel(
    loki_shell: InteractiveShell,
    make_backend: Any,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from _otlp_spans import send_trace_with_logs

    own = make_backend()  # the spans sent here must not change the shared dataset
    magic = loki_magic(loki_shell)
    magic.addr = own.base_url
    trace_id, spans = send_trace_with_logs(own.base_url, "logql-login-svc", magic.org_id)
    # The read token only from `%logfire login` (not in the environment), as a user of a shared kernel has it.
    monkeypatch.setenv("LOGFIRE_BASE_URL", own.base_url)
    monkeypatch.setattr("getpass.getpass", lambda prompt="": own.token)
    ok, out = run(loki_shell, "%logfire login", capsys)
    assert ok, out
    shown: list[Any] = []
    monkeypatch.setattr("logfire_notebook._magic.base.is_kernel", lambda shell: True)
    monkeypatch.setattr("IPython.display.display", lambda value, **kwargs: shown.append(value))
    ok, out = run(loki_shell, '%%logql --since 1h\n{service_name="logql-login-svc"}', capsys)
    assert ok, out
    (table,) = shown
    assert table.trace_column == "structured_metadata"
    replies: list[dict[str, Any]] = []
    table.send = lambda content, buffers=None: replies.append(content)
    table._on_message(table, {"type": "request", "id": 1, "kind": "trace", "trace_id": trace_id}, [])
    deadline = time.monotonic() + 30
    while not replies and time.monotonic() < deadline:
        time.sleep(0.01)
    assert replies and replies[0]["ok"] is True, replies
    assert replies[0]["rows"] == spans + 1  # its spans and the log line
    assert own.token not in str(table.get_state())
