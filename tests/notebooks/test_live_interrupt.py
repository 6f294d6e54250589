"""Live mode and the kernel's interrupt button: pressed while Live runs (the kernel idle), it stops Live."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import nbformat
from _backend import Backend
from nbclient import NotebookClient

from .conftest import kernel_env

SETUP = """
import asyncio
from logfire_notebook import LogfireTable
from logfire_notebook._live import live_poll
from logfire_notebook.widget import _loop

table = LogfireTable("SELECT start_timestamp, message FROM records ORDER BY start_timestamp DESC", since="1h")
table.live = True

def poll():
    # What the browser's Live loop asks, answered as the widget answers it.
    return asyncio.run_coroutine_threadsafe(live_poll(table), _loop()).result(60)

print(poll())
"""


def test_the_interrupt_button_stops_live_and_the_kernel_stays_usable(backend: Backend) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell("print(poll())")]
    client = NotebookClient(nb, timeout=120, kernel_name="python3")
    with client.setup_kernel(env=kernel_env(backend)):
        client.execute_cell(nb.cells[0], 0)
        asyncio.run(client.km.interrupt_kernel())
        time.sleep(0.5)  # the signal is asynchronous: give it a moment to land before the next request
        client.execute_cell(nb.cells[1], 1)
    assert nb.cells[0].outputs[0]["text"] == "{'ok': True, 'new': 0}\n"
    assert nb.cells[1].outputs[0]["text"] == "{'ok': False, 'error': 'the kernel was interrupted.'}\n"


BUSY = """
import time
try:
    print("busy", flush=True)  # inside: the interrupt may land while the print still flushes
    time.sleep(60)
except KeyboardInterrupt:
    print("caught")  # a cell that swallows the interrupt: Live must stop all the same
"""


class _BusyClient(NotebookClient):  # type: ignore[misc]
    """Signals when the busy cell has started (its first output)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.busy = threading.Event()

    def process_message(self, msg: dict[str, Any], cell: Any, cell_index: int) -> Any:
        if "busy" in msg.get("content", {}).get("text", ""):
            self.busy.set()
        return super().process_message(msg, cell, cell_index)


def test_an_interrupt_while_a_cell_runs_stops_live_too(backend: Backend) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(BUSY),
        nbformat.v4.new_code_cell("print(poll())"),
    ]
    client = _BusyClient(nb, timeout=120, kernel_name="python3")

    def interrupt_when_busy() -> None:
        if client.busy.wait(60):
            asyncio.run(client.km.interrupt_kernel())

    with client.setup_kernel(env=kernel_env(backend)):
        client.execute_cell(nb.cells[0], 0)
        interrupter = threading.Thread(target=interrupt_when_busy)
        interrupter.start()
        client.execute_cell(nb.cells[1], 1)
        interrupter.join()
        client.execute_cell(nb.cells[2], 2)
    assert "".join(o.get("text", "") for o in nb.cells[1].outputs) == "busy\ncaught\n"
    assert nb.cells[2].outputs[0]["text"] == "{'ok': False, 'error': 'the kernel was interrupted.'}\n"
