"""An IPython InteractiveShell with the extension loaded, and no read token found unless a test gives one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell

from logfire_notebook.magic import LogfireMagic


@pytest.fixture(scope="session")
def _shell() -> InteractiveShell:
    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "logfire_notebook")
    return shell


@pytest.fixture
def shell(
    _shell: InteractiveShell, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[InteractiveShell]:
    # No token from the developer's environment or a .logfire folder above the checkout.
    monkeypatch.delenv("LOGFIRE_READ_TOKEN", raising=False)
    monkeypatch.delenv("LOGFIRE_BASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    yield _shell
    # %config writes into the shell's config too, where a later %load_ext would pick it up.
    _shell.config.pop("LogfireMagic", None)
    magic = magic_of(_shell)
    for name in ("since", "until", "limit", "base_url", "show_widget", "short_errors", "follow_widget"):
        setattr(magic, name, LogfireMagic.class_traits()[name].default())
    magic._login_token = None
    magic.close()
    magic._client_key = None
    if magic._schemas_fetch is not None:
        magic._schemas_fetch.join()
    magic._schemas = None
    magic._schemas_fetch = None


def magic_of(shell: InteractiveShell) -> LogfireMagic:
    found: Any = next(c for c in shell.configurables if isinstance(c, LogfireMagic))
    return found  # type: ignore[no-any-return]


def run(shell: InteractiveShell, cell: str, capsys: pytest.CaptureFixture[str]) -> tuple[bool, str]:
    """Runs a cell as a user would; whether it succeeded, and what it printed (stdout and stderr)."""
    result = shell.run_cell(cell)
    captured = capsys.readouterr()
    return result.success, captured.out + captured.err
