"""Tab in a `%%logfire` cell of a real ipykernel completes table and column names (the kernel's complete_request)."""

from __future__ import annotations

from typing import Any

from _backend import Backend
from jupyter_client.manager import start_new_kernel

from .conftest import kernel_env


def complete(client: Any, code: str) -> tuple[list[str], int]:
    client.complete(code, len(code))
    reply = client.get_shell_msg(timeout=30)["content"]
    return reply["matches"], reply["cursor_start"]


def test_tab_completes_columns_and_tables_in_a_logfire_cell(backend: Backend) -> None:
    manager, client = start_new_kernel(kernel_name="python3", env=kernel_env(backend))
    try:
        reply = client.execute_interactive("%load_ext logfire_notebook", timeout=30)
        assert reply["content"]["status"] == "ok"
        code = "%%logfire --since 1h\nSELECT service_n"
        assert complete(client, code) == (["service_name", "service_namespace"], len(code) - len("service_n"))
        code = "%%logfire\nSELECT metric_name FROM met"
        assert complete(client, code) == (["metrics"], len(code) - len("met"))
        # Python cells are left to IPython's own completion.
        assert "service_name" not in complete(client, "servi")[0]
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
