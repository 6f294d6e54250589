"""The kernel's interrupt button during a slow `%%logfire` query: the query is cancelled, the kernel stays usable."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import nbformat
from _backend import Backend
from nbclient import NotebookClient

from .conftest import kernel_env

# Three copies of the standard dataset joined: minutes of work for the server, unless cancelled.
SLOW = (
    "%%logfire --since 8d\n"
    "SELECT count(*) AS n FROM records a, records b, records c WHERE a.level + b.level + c.level = 27"
)


class RecordingClient(NotebookClient):  # type: ignore[misc]
    """Keeps every output message and signals when the running-time display appears."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.messages: list[dict[str, Any]] = []
        self.timer_shown = threading.Event()

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        self.messages.append(msg)
        text = msg.get("content", {}).get("data", {}).get("text/plain", "")
        if text.startswith("Running… "):
            self.timer_shown.set()
        return super().process_message(msg, cell, cell_index)


def test_interrupt_cancels_running_query_and_next_cell_runs(backend: Backend) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("%load_ext logfire_notebook"),
        nbformat.v4.new_code_cell(SLOW),
        nbformat.v4.new_code_cell("%%logfire --since 8d\nSELECT count(*) AS n FROM records"),
        nbformat.v4.new_code_cell("int(_['n'][0])"),
    ]
    nb.cells[1].metadata["tags"] = ["raises-exception"]
    client = RecordingClient(nb, timeout=120, kernel_name="python3")

    def interrupt_when_the_timer_shows() -> None:
        if client.timer_shown.wait(60):
            asyncio.run(client.km.interrupt_kernel())

    with client.setup_kernel(env=kernel_env(backend)):
        client.execute_cell(nb.cells[0], 0)
        interrupter = threading.Thread(target=interrupt_when_the_timer_shows)
        interrupter.start()
        client.execute_cell(nb.cells[1], 1)
        interrupter.join()
        client.execute_cell(nb.cells[2], 2)
        client.execute_cell(nb.cells[3], 3)

    assert client.timer_shown.is_set(), "the slow query showed no running time"
    (error,) = nb.cells[1].outputs
    assert error["output_type"] == "error"
    assert (error["ename"], error["evalue"]) == ("KeyboardInterrupt", "Interrupted: the query was cancelled.")
    assert len(error["traceback"]) == 1
    # The running-time display is gone: the error is the cell's only output.
    assert all("Running…" not in str(o) for o in nb.cells[1].outputs)

    assert backend.dataset is not None
    expected = len(backend.dataset.visible_records)
    assert nb.cells[3].outputs[0]["data"]["text/plain"] == str(expected)
